/**
 * `deno task mutate`: the tests checked by planting bugs. Each mutation in tools/mutations.ts is a small
 * bug applied by exact text replacement to a scratch copy of the repository (never to the working tree),
 * the test files it names are run there (`deno test --no-check`, optionally one --filter), and the mutation
 * counts as caught when they fail. Prints a table (mutation, tests, caught or not and by which test, time)
 * and exits 1 when any listed mutation survives. A developer tool: it needs a WebGPU adapter (without one
 * the GPU tests would be ignored, and their mutations survive for no good reason) and minutes of time.
 */
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { numberFlag, parseFlags, runMain } from "../src/cli/args.ts";
import { UserError } from "../src/errors.ts";
import { type Mutation, MUTATIONS } from "./mutations.ts";
import { table } from "../src/cli/table.ts";

export const MUTATE_HELP = `Check that the tests catch planted bugs (mutations).

usage: deno task mutate [flags]

  --quick        only the quick subset (a few minutes): one mutation per kind of kernel and the CPU reference
  --only TEXT    only mutations whose name contains TEXT (repeatable)
  --list         print the mutations and their tests, run nothing
  --no-baseline  skip running each mutation's tests once unmutated first (they must pass for a catch to
                 mean anything; skip only right after the test suite passed)
  --timeout S    seconds one mutation's test run may take (default 600); a run past it counts as caught
  --keep         keep the scratch copy (its path is printed)
  --verbose      name every test that failed under each mutation
  -h, --help     this text

Each mutation is applied to a scratch copy of the repository (never to the working tree); a pattern that is
not found exactly once is an error. Exit 1 when any mutation survives.`;

const FLAGS = {
  quick: { type: "boolean" },
  only: { type: "string", multiple: true },
  list: { type: "boolean" },
  "no-baseline": { type: "boolean" },
  timeout: { type: "string" },
  keep: { type: "boolean" },
  verbose: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Top-level directories never copied into the scratch repository (node_modules is linked instead). */
const SKIP_DIRS = new Set(["node_modules", "runs", "data"]);

/** What one run of a mutation's tests gave. */
export interface Outcome {
  mutation: Mutation;
  caught: boolean;
  /** The first failing test (and how many more), a timeout, or why a survivor ran nothing. */
  by: string;
  /** Every failing test's name. */
  failing: string[];
  seconds: number;
}

export async function mutateMain(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS);
  if (values.help) {
    console.log(MUTATE_HELP);
    return 0;
  }
  const timeoutS = numberFlag("timeout", values.timeout, 600, "positive number");
  const selected = selectMutations(MUTATIONS, values.quick ?? false, values.only ?? []);
  if (values.list) {
    for (const m of selected) {
      console.log(`${m.name}\n    ${m.tests.join(" ")}${m.filter ? ` --filter "${m.filter}"` : ""}`);
    }
    return 0;
  }
  if (!(await navigator.gpu?.requestAdapter().catch(() => null))) {
    throw new UserError("no WebGPU adapter: the GPU tests would be ignored and their mutations survive");
  }

  const scratch = await Deno.makeTempDir({ prefix: "webgpu-lstm-mutate-" });
  const repo = join(scratch, "repo");
  console.error(`scratch copy: ${repo}`);
  try {
    await copyRepository(ROOT, repo, scratch);
    const pristine = checkPatterns(repo, selected);
    if (!values["no-baseline"]) await baseline(repo, selected, timeoutS);
    const outcomes: Outcome[] = [];
    for (const [i, m] of selected.entries()) {
      console.error(`[${i + 1}/${selected.length}] ${m.name}`);
      outcomes.push(await runMutation(repo, m, pristine, timeoutS));
      const o = outcomes.at(-1)!;
      const verdict = o.caught ? `caught by ${o.by}` : `SURVIVED${o.by ? `: ${o.by}` : ""}`;
      console.error(`    ${verdict} (${o.seconds.toFixed(0)} s)`);
      if (values.verbose) { for (const name of o.failing) console.error(`      failed: ${name}`); }
    }
    console.log(formatTable(outcomes));
    return outcomes.every((o) => o.caught) ? 0 : 1;
  } finally {
    if (values.keep) console.error(`kept ${scratch}`);
    else await Deno.remove(scratch, { recursive: true });
  }
}

/** The mutations asked for: the quick subset, narrowed by --only; an --only matching nothing is an error. */
export function selectMutations(all: Mutation[], quick: boolean, only: string[]): Mutation[] {
  let list = quick ? all.filter((m) => m.quick) : all;
  for (const text of only) {
    if (!all.some((m) => m.name.includes(text))) {
      throw new UserError(`--only ${text}: no mutation's name has it`);
    }
  }
  if (only.length) list = list.filter((m) => only.some((text) => m.name.includes(text)));
  if (!list.length) throw new UserError("no mutation selected");
  return list;
}

/**
 * Copies the repository's files (not .git, node_modules, runs/, data/) to `to`, links node_modules, and links
 * the shared data folder beside the repository (tests read ../shared/data when it is there) beside the copy.
 */
async function copyRepository(from: string, to: string, scratch: string): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    await Deno.mkdir(join(to, relative(from, dir)), { recursive: true });
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.name === ".git") continue; // a worktree's .git is a file pointing at the real repository
      if (e.isDirectory) {
        if (!SKIP_DIRS.has(e.name) || dir !== from) await walk(path);
      } else if (e.isFile) {
        await Deno.copyFile(path, join(to, relative(from, path)));
      } else if (e.isSymlink && e.name !== "node_modules") {
        await Deno.symlink(await Deno.realPath(path), join(to, relative(from, path)));
      }
    }
  };
  await walk(from);
  const link = async (target: string, path: string) => {
    const real = await Deno.realPath(target).catch(() => null);
    if (real) await Deno.symlink(real, path);
  };
  await link(join(from, "node_modules"), join(to, "node_modules"));
  await link(join(from, "..", "shared"), join(scratch, "shared"));
}

/**
 * Why the mutations cannot run as written, empty when they can: a name used twice, an edit's file missing,
 * a pattern not found exactly once, an edit that changes nothing, a test file missing (a --filter that
 * selects no test shows when the tests run). `read` gives a repository file's text, or null when none.
 */
export function mutationProblems(mutations: Mutation[], read: (path: string) => string | null): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const m of mutations) {
    if (names.has(m.name)) problems.push(`${m.name}: the name is used twice`);
    names.add(m.name);
    for (const e of m.edits) {
      const text = read(e.file);
      if (text === null) {
        problems.push(`${m.name}: no file ${e.file}`);
        continue;
      }
      const n = text.split(e.find).length - 1;
      if (n !== 1) problems.push(`${m.name}: ${JSON.stringify(e.find)} occurs ${n} times in ${e.file}`);
      if (e.find === e.replace) problems.push(`${m.name}: an edit of ${e.file} changes nothing`);
    }
    const tests = m.tests.map((t) => [t, read(t)] as const);
    for (const [t, text] of tests) if (text === null) problems.push(`${m.name}: no test file ${t}`);
  }
  return problems;
}

/** A repository file's text, or null. */
function reader(repo: string): (path: string) => string | null {
  return (path) => {
    try {
      return Deno.readTextFileSync(join(repo, path));
    } catch {
      return null;
    }
  };
}

/** Refuses mutations that cannot run as written; returns the pristine text of every file they edit. */
function checkPatterns(repo: string, mutations: Mutation[]): Map<string, string> {
  const problems = mutationProblems(mutations, reader(repo));
  if (problems.length) {
    throw new UserError(`bad mutations (fix tools/mutations.ts): ${problems.join("; ")}`);
  }
  const read = reader(repo);
  return new Map(mutations.flatMap((m) => m.edits.map((e) => [e.file, read(e.file)!] as const)));
}

/** The text of `file` with the mutation's edits to it applied in order. */
export function applyEdits(text: string, file: string, m: Mutation): string {
  for (const e of m.edits.filter((e) => e.file === file)) {
    const at = text.indexOf(e.find);
    if (at < 0 || text.indexOf(e.find, at + 1) >= 0) {
      throw new Error(`${m.name}: ${JSON.stringify(e.find)} is not in ${file} exactly once`);
    }
    text = text.slice(0, at) + e.replace + text.slice(at + e.find.length);
  }
  return text;
}

/** Every distinct (tests, filter) of the mutations runs once unmutated: it must pass. */
async function baseline(repo: string, mutations: Mutation[], timeoutS: number): Promise<void> {
  const groups = new Map<string, Mutation>();
  for (const m of mutations) groups.set(JSON.stringify([m.tests, m.filter ?? null]), m);
  for (const m of groups.values()) {
    const what = `${m.tests.join(" ")}${m.filter ? ` --filter "${m.filter}"` : ""}`;
    console.error(`baseline: ${what}`);
    const r = await runTests(repo, m, timeoutS);
    if (r.result === "failed") {
      throw new UserError(`baseline: ${what} fails with no mutation applied (${r.by}): fix the tests first`);
    }
    if (r.result === "none") console.error(`    ${r.by}: its mutations will survive`);
  }
}

async function runMutation(
  repo: string,
  m: Mutation,
  pristine: Map<string, string>,
  timeoutS: number,
): Promise<Outcome> {
  const files = [...new Set(m.edits.map((e) => e.file))];
  try {
    for (const f of files) await Deno.writeTextFile(join(repo, f), applyEdits(pristine.get(f)!, f, m));
    const r = await runTests(repo, m, timeoutS);
    return { mutation: m, caught: r.result === "failed", by: r.by, failing: r.failing, seconds: r.seconds };
  } finally {
    for (const f of files) await Deno.writeTextFile(join(repo, f), pristine.get(f)!);
  }
}

/** What one run of test files gave: failures, all passed, or nothing run (every test filtered or ignored). */
interface TestRun {
  result: "failed" | "passed" | "none";
  /** The first failing test (and how many more), a timeout, or why nothing counted. */
  by: string;
  /** Every failing test's name. */
  failing: string[];
  seconds: number;
}

/**
 * Runs a mutation's test files in the scratch repository. The verdict is the summary line deno test prints
 * (its exit code alone is not: a WebGPU process on lavapipe now and then aborts in teardown after all its
 * tests passed); no summary (a crash, a module that does not load) or a timeout is a failure.
 */
async function runTests(repo: string, m: Mutation, timeoutS: number): Promise<TestRun> {
  const args = ["test", "--allow-all", "--no-check", ...(m.filter ? ["--filter", m.filter] : []), ...m.tests];
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: repo,
    env: { REQUIRE_GPU: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutS * 1000);
  const out = await child.output();
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  if (timedOut) return { result: "failed", by: `timeout after ${timeoutS} s`, failing: [], seconds };
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const failing = [...text.matchAll(/^(.+?) \.\.\. FAILED/gm)].map((m) => m[1].trim());
  const summary = /\| (\d+) passed.*?\| (\d+) failed/.exec(text);
  if (summary && Number(summary[2]) === 0 && failing.length === 0) {
    if (Number(summary[1]) > 0) return { result: "passed", by: "", failing, seconds };
    return { result: "none", by: "no test ran (filtered out or ignored)", failing, seconds };
  }
  if (!failing.length) failing.push(/^error: (.*)$/m.exec(text)?.[1] ?? `exit ${out.code}, no summary`);
  const more = failing.length > 1 ? ` (+${failing.length - 1} more)` : "";
  return { result: "failed", by: failing[0] + more, failing, seconds };
}

/** The outcome table, columns padded, and a last line of totals. */
export function formatTable(outcomes: Outcome[]): string {
  const rows = outcomes.map((o) => [
    o.mutation.name,
    o.mutation.tests.map((t) => t.replace(/^tests\//, "")).join(" ") +
    (o.mutation.filter ? ` (--filter ${o.mutation.filter})` : ""),
    o.caught ? "caught" : "SURVIVED",
    o.by,
    `${o.seconds.toFixed(0)} s`,
  ]);
  const survived = outcomes.filter((o) => !o.caught);
  const total = outcomes.reduce((s, o) => s + o.seconds, 0);
  return [
    ...table(["mutation", "tests run", "result", "caught by", "time"], rows, "lllll", { rule: true }),
    "",
    `${outcomes.length} mutations: ${outcomes.length - survived.length} caught, ${survived.length} survived` +
    (survived.length ? ` (${survived.map((o) => o.mutation.name).join("; ")})` : "") +
    `; ${(total / 60).toFixed(1)} min of test runs`,
  ].join("\n");
}

if (import.meta.main) await runMain("mutate", () => mutateMain(Deno.args));
