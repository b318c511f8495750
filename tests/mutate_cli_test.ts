/**
 * `deno task mutate` without running it (a run takes minutes; CI runs --quick after the suite): every
 * listed mutation applies to the current sources (each pattern exactly once, its test files there), so an
 * edit that moves a pattern fails here rather than in the next mutation run; edits apply in order and
 * refuse a pattern that is missing or repeated; the quick subset and --only select; the table; the CLI's
 * help, list and one-line errors.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { assertFailed, runDeno, taskRun } from "./cli_harness.ts";
import { applyEdits, formatTable, mutationProblems, selectMutations } from "../tools/mutate.ts";
import { type Mutation, MUTATIONS } from "../tools/mutations.ts";
import { UserError } from "../src/errors.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

function read(path: string): string | null {
  try {
    return Deno.readTextFileSync(join(ROOT, path));
  } catch {
    return null;
  }
}

Deno.test("every listed mutation applies to the sources as they are", () => {
  assertEquals(mutationProblems(MUTATIONS, read), []);
  for (const m of MUTATIONS) {
    for (const file of new Set(m.edits.map((e) => e.file))) {
      assert(applyEdits(read(file)!, file, m) !== read(file), `${m.name}: ${file} unchanged`);
    }
  }
  // The kinds of bug the issue asks for are all there.
  const names = MUTATIONS.map((m) => m.name).join("\n");
  for (
    const kind of [
      /^adam wgsl: eps/m,
      /^adam cpu: eps/m,
      /^softmax wgsl: no max subtraction/m,
      /^softmax .*1\/[BN]/m,
      /^gemm regblock: whole-block column bound N \+ 8/m,
      /^gemm staged/m,
      /^gemm tiled/m,
      /^embedding backward wgsl: a repeated id/m,
      /^colsum/m,
      /^lstm wgsl \+ cpu alike/m,
    ]
  ) assert(kind.test(names), `no mutation matches ${kind}`);
});

const SAMPLE: Mutation = {
  name: "sample",
  edits: [
    { file: "a.ts", find: "x + 1", replace: "x + 2" },
    { file: "a.ts", find: "x + 2;", replace: "x - 2;" },
    { file: "b.ts", find: "y", replace: "z" },
  ],
  tests: ["tests/a_test.ts"],
};

Deno.test("edits apply in order to their own file, and a pattern not there exactly once is refused", () => {
  assertEquals(applyEdits("const a = x + 1;\n", "a.ts", SAMPLE), "const a = x - 2;\n");
  assertEquals(applyEdits("y\n", "b.ts", SAMPLE), "z\n");
  assertThrows(
    () => applyEdits("const a = x;\n", "a.ts", SAMPLE),
    /sample: "x \+ 1" is not in a\.ts exactly once/,
  );
  assertThrows(() => applyEdits("x + 1; x + 1;", "a.ts", SAMPLE), /exactly once/);
  const files: Record<string, string> = { "a.ts": "x + 1; x + 1;", "tests/a_test.ts": "" };
  assertEquals(mutationProblems([SAMPLE, SAMPLE], (f) => files[f] ?? null), [
    'sample: "x + 1" occurs 2 times in a.ts',
    'sample: "x + 2;" occurs 0 times in a.ts',
    "sample: no file b.ts",
    "sample: the name is used twice",
    'sample: "x + 1" occurs 2 times in a.ts',
    'sample: "x + 2;" occurs 0 times in a.ts',
    "sample: no file b.ts",
  ]);
});

Deno.test("--quick and --only select mutations; an --only naming none is a usage error", () => {
  const quick = selectMutations(MUTATIONS, true, []);
  assert(quick.length >= 5 && quick.length < MUTATIONS.length, `${quick.length} quick mutations`);
  assertEquals(selectMutations(MUTATIONS, false, ["adam"]).every((m) => m.name.includes("adam")), true);
  assertThrows(() => selectMutations(MUTATIONS, false, ["no such bug"]), UserError);
});

Deno.test("the table names each mutation, its tests, the verdict and the catching test; totals last", () => {
  const table = formatTable([
    {
      mutation: { ...SAMPLE, filter: "edges" },
      caught: true,
      by: "test one",
      failing: ["test one"],
      seconds: 12,
    },
    { mutation: { ...SAMPLE, name: "other" }, caught: false, by: "", failing: [], seconds: 48 },
  ]).split("\n");
  assert(/^mutation\s+tests run\s+result\s+caught by\s+time$/.test(table[0]), table[0]);
  assert(/^sample\s+a_test\.ts \(--filter edges\)\s+caught\s+test one\s+12 s$/.test(table[2]), table[2]);
  assert(/^other\s+a_test\.ts\s+SURVIVED\s+48 s$/.test(table[3]), table[3]);
  assertEquals(table.at(-1), "2 mutations: 1 caught, 1 survived (other); 1.0 min of test runs");
});

Deno.test("deno task mutate: --help, --list, and bad flags in one line", async () => {
  // In the system's temp folder: nothing here writes, and nothing may land in the checkout.
  const mutate = (args: string[]) => runDeno([...taskRun("mutate"), ...args], { cwd: tmpdir() });
  const help = await mutate(["--help"]);
  assertEquals([help.code, help.stderr], [0, ""]);
  for (
    const flag of ["--quick", "--only TEXT", "--list", "--no-baseline", "--timeout S", "--keep", "--verbose"]
  ) {
    assert(help.stdout.includes(flag), `help lacks ${flag}`);
  }
  const list = await mutate(["--list", "--quick"]);
  assertEquals(list.code, 0, list.stderr);
  assertEquals(
    list.stdout.split("\n").filter((l) => l && !l.startsWith(" ")),
    selectMutations(MUTATIONS, true, []).map((m) => m.name),
  );
  assertFailed(await mutate(["--bogus"]), "--bogus", /^mutate: error: .*bogus/);
  assertFailed(await mutate(["--only", "no such bug", "--list"]), "--only", /no mutation's name has it$/);
  assertFailed(
    await mutate(["--timeout", "0"]),
    "--timeout",
    /--timeout must be a positive number, got "0"$/,
  );
});
