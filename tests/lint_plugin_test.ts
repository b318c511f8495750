/// <reference lib="deno.unstable" />
/**
 * The project's lint rules (tools/lint_plugin.ts), run on planted sources: a function in src/ or web/ one
 * line over the limit is reported, whatever its form (declared, method, arrow, expression), one at the
 * limit is not, and files outside src/ and web/ are not checked. `deno lint` (in CI) runs the rule on the tree.
 */
import { assertEquals } from "./assert.ts";
import plugin, { MAX_FUNCTION_LINES } from "../tools/lint_plugin.ts";

/** A body that makes a function span `lines` lines, its first and last included. */
const body = (lines: number) => "  x++;\n".repeat(lines - 2);

function reports(file: string, source: string): string[] {
  return Deno.lint.runPlugin(plugin, file, source).map((d) => d.message);
}

Deno.test("long-function: each form one line over the limit is reported, at the limit it is not", () => {
  const over = MAX_FUNCTION_LINES + 1;
  const cases: Array<[string, (lines: number) => string, string]> = [
    ["declared", (n) => `function f() {\n${body(n)}}\n`, "function f"],
    ["arrow", (n) => `const g = () => {\n${body(n)}};\n`, "function g"],
    ["expression", (n) => `const h = function () {\n${body(n)}};\n`, "function h"],
    ["method", (n) => `class C {\n  m() {\n${body(n)}  }\n}\n`, "method m"],
    ["property", (n) => `const o = {\n  p: () => {\n${body(n)}  },\n};\n`, "function p"],
    ["callback", (n) => `run(() => {\n${body(n)}});\n`, "a function expression"],
  ];
  for (const [form, source, name] of cases) {
    assertEquals(
      reports("src/a.ts", source(over)),
      [`${name} spans ${over} lines, more than ${MAX_FUNCTION_LINES}`],
      form,
    );
    assertEquals(reports("src/a.ts", source(MAX_FUNCTION_LINES)), [], `${form} at the limit`);
  }
  assertEquals(reports("web/page.ts", `function f() {\n${body(over)}}\n`).length, 1);
  assertEquals(reports("tests/a_test.ts", `function f() {\n${body(over)}}\n`), []);
  assertEquals(reports("tools/mutations.ts", `function f() {\n${body(over)}}\n`), []);
});
