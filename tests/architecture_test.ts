/**
 * The layering of docs/architecture.md, checked on every file: the platform-neutral core (core.ts and
 * src/ outside src/deno/ and src/cli/) imports no Deno, Node or platform module and touches no `Deno.*`;
 * the platform (src/deno/) never imports a CLI; scripts/ only call into src/cli/; nothing but tests imports
 * the development tools (tools/) or the examples; the examples (examples/) import the package only by its
 * entry points' names, as its users do; the web page (web/) and the browser example import only the core
 * (and themselves), and touch no Deno or Node global either. A core file that reaches for a platform API
 * fails here, in CI, before it breaks the web page.
 */
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";
import { assert, assertEquals } from "./assert.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** npm packages the core may use: plain JavaScript that runs in a browser too. */
const CORE_PACKAGES = ["csv-parse/sync"];

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const path = join(dir, e.name);
    if (e.isDirectory) out.push(...walk(path));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

type Layer = "core" | "deno" | "cli" | "scripts" | "tools" | "web" | "examples" | "other";

function layerOf(path: string): Layer {
  // The WGSL sources are data the core carries (src/gpu/shaders.ts imports them as text).
  if (path === "core.ts" || path.startsWith("shaders/")) return "core";
  if (path.startsWith("src/deno/")) return "deno";
  if (path.startsWith("src/cli/")) return "cli";
  if (path.startsWith("src/")) return "core";
  if (path.startsWith("scripts/")) return "scripts";
  if (path.startsWith("tools/")) return "tools";
  if (path.startsWith("examples/")) return "examples";
  if (path.startsWith("web/")) return "web";
  return "other";
}

/** Every module specifier a file imports or re-exports (static, dynamic and type-only). */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const statement = /^\s*(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm;
  const dynamic = /\bimport\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of text.matchAll(statement)) found.push(m[1] ?? m[2]);
  for (const m of text.matchAll(dynamic)) found.push(m[1]);
  return found;
}

/** The text without comments, so that a comment naming `Deno.` is not a use of it. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

const files = [
  "core.ts",
  "mod.ts",
  ...walk("src"),
  ...walk("scripts"),
  ...walk("tools"),
  ...walk("web"),
  ...walk("examples"),
];
/** The package's entry points, as its users import them (deno.json's name and exports). */
const PACKAGE = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))).name as string;
const ENTRIES = [PACKAGE, `${PACKAGE}/core`];

/** What `from` may import, as a reason it may not (or null when it may). */
function refusal(from: string, spec: string): string | null {
  const layer = layerOf(from);
  if (layer === "examples") {
    // The examples show the package as its users have it: its entry points by name, nothing inside it.
    if (spec.startsWith(".")) {
      const target = relative(ROOT, join(ROOT, from, "..", spec));
      return layerOf(target) === "examples" ? null : `an example imports ${target}, not the package's entry`;
    }
    if (from.startsWith("examples/browser/") && spec === PACKAGE) {
      return "the browser example imports the Deno entry (the page has only the core)";
    }
    return ENTRIES.includes(spec) || spec.startsWith("node:") ? null : `an example imports ${spec}`;
  }
  if (!spec.startsWith(".")) {
    if (layer === "web") return `the web page imports ${spec} (web/ reaches packages only through the core)`;
    if (layer !== "core") return null;
    return CORE_PACKAGES.includes(spec) ? null : `the core imports ${spec}`;
  }
  const target = relative(ROOT, join(ROOT, from, "..", spec));
  const to = layerOf(target);
  if (layer === "core" && to !== "core") return `the core imports ${target} (${to})`;
  if (layer === "deno" && to === "cli") return `the Deno platform imports the CLI ${target}`;
  if (layer === "scripts" && to !== "cli") return `a script imports ${target}; scripts only call src/cli/`;
  if (layer === "web" && to !== "core" && to !== "web") return `the web page imports ${target} (${to})`;
  if (to === "tools" && layer !== "tools") return `${from} imports the development tool ${target}`;
  if (to === "examples") return `${from} imports the example ${target}`;
  return null;
}

Deno.test("the layers import only what docs/architecture.md allows", () => {
  const problems: string[] = [];
  for (const file of files) {
    for (const spec of specifiers(Deno.readTextFileSync(join(ROOT, file)))) {
      const why = refusal(file, spec);
      if (why) problems.push(`${file}: ${why}`);
    }
  }
  assertEquals(problems, []);
});

Deno.test("core and web files use no Deno, Node or process globals", () => {
  const problems: string[] = [];
  const inBrowser = (f: string) => ["core", "web"].includes(layerOf(f)) || f === "examples/browser/main.ts";
  for (const file of files.filter(inBrowser)) {
    const text = code(Deno.readTextFileSync(join(ROOT, file)));
    for (const global of ["Deno", "process", "require", "Buffer", "__dirname"]) {
      if (new RegExp(`\\b${global}\\b(?!")`).test(text)) problems.push(`${file} uses ${global}`);
    }
  }
  assertEquals(problems, []);
});

Deno.test("the import check itself catches a core file importing the platform", () => {
  assert(refusal("src/gpu/device.ts", "node:fs") !== null, "node: refused");
  assert(refusal("src/train/loop.ts", "../deno/fs.ts") !== null, "src/deno refused");
  assert(refusal("src/sample/generate.ts", "../cli/args.ts") !== null, "src/cli refused");
  assert(refusal("core.ts", "./src/deno/backends.ts") !== null, "core.ts refused");
  assert(refusal("src/deno/fs.ts", "../cli/args.ts") !== null, "platform -> cli refused");
  assertEquals(refusal("src/data/csv.ts", "csv-parse/sync"), null);
  assertEquals(refusal("src/gpu/shaders.ts", "../../shaders/adam.wgsl"), null);
  assertEquals(refusal("src/deno/fs.ts", "node:path"), null);
  assertEquals(refusal("src/cli/train.ts", "../deno/train_run.ts"), null);
  assert(refusal("src/cli/train.ts", "../../tools/mutate.ts") !== null, "cli -> tools refused");
  assertEquals(refusal("tools/mutate.ts", "../src/cli/args.ts"), null);
  assertEquals(refusal("examples/train_and_predict.ts", PACKAGE), null);
  assertEquals(refusal("examples/browser/main.ts", `${PACKAGE}/core`), null);
  assert(
    refusal("examples/browser/main.ts", PACKAGE) !== null,
    "the page's example -> the Deno entry refused",
  );
  assert(refusal("examples/train_and_predict.ts", "../mod.ts") !== null, "example -> a file refused");
  assert(refusal("examples/train_and_predict.ts", "../src/train/loop.ts") !== null, "example -> src refused");
  assert(refusal("src/cli/serve.ts", "../../examples/browser/serve.ts") !== null, "cli -> examples refused");
  assertEquals(refusal("web/main.ts", "../core.ts"), null);
  assertEquals(refusal("web/check_gpu.ts", "../src/gpu/matmul.ts"), null);
  assertEquals(refusal("web/main.ts", "./dom.ts"), null);
  assert(refusal("web/main.ts", "../src/deno/fs.ts") !== null, "web -> platform refused");
  assert(refusal("web/main.ts", "../src/cli/args.ts") !== null, "web -> cli refused");
  assert(refusal("web/main.ts", "../tests/assert.ts") !== null, "web -> tests refused");
  assert(refusal("web/main.ts", "node:path") !== null, "web -> node: refused");
  assertEquals(
    specifiers(
      'import a from "./a.ts";\nexport { b } from "../b.ts";\nimport type {\n  C,\n} from "c";\nimport "./e.ts";\n' +
        'export const f = "g";\nawait import("./d.ts");',
    ),
    ["./a.ts", "../b.ts", "c", "./e.ts", "./d.ts"],
  );
  assert(/\bDeno\b/.test(code("const x = Deno.env;")) && !/\bDeno\b/.test(code("// Deno.env\n/* Deno */")));
});
