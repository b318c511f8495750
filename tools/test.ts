/**
 * `deno task test`: runs `deno test --allow-all ARGS` and passes its output and exit code through, with one
 * exception, stated loudly when it applies: a test process that Deno's runner has just reported as
 * "ok | N passed | 0 failed" and that then aborts in glibc's heap checks while it exits. That abort is a
 * teardown race outside this project (a `deno test` process that has only opened a WebGPU device on Mesa's
 * lavapipe aborts so in about 1 run in 10; `deno run` never does; docs/known-issues.md has the reproduction),
 * and it happens after every test has passed, so it is reported and counted as a pass. Anything else (a
 * failed test, any other crash, an abort before the summary) keeps its failing exit code.
 */
import { runMain } from "../src/cli/args.ts";

export const TEST_HELP =
  `Run the test suite (deno test --allow-all), passing its output and exit code through.

usage: deno task test [FILES or deno test's flags...]   (tests/ by default: the whole suite)

A run whose summary says "0 failed" and whose process then aborts in glibc's heap checks at exit (a known
teardown crash of Deno's WebGPU on Mesa lavapipe, docs/known-issues.md) is counted as passed, with a note.`;

/** glibc's messages when its heap checks abort a process. */
const GLIBC_ABORT =
  /corrupted size vs\. prev_size|double free or corruption|malloc_consolidate\(\): invalid chunk size|free\(\): invalid|malloc\(\): (?:unsorted|smallbin|largebin)|corrupted double-linked list/;
/** deno test's final summary line of a run with no failure. */
const ALL_PASSED = /^ok \| (\d+) passed(?: \([^)]*\))? \| 0 failed/m;
/** Keep this much of the end of the output to look at. */
const TAIL_CHARS = 64 * 1024;

// deno-lint-ignore no-control-regex -- the escape sequences of deno test's colours
const ANSI = /\x1b\[[0-9;]*m/g;

/** What runs the tests: `deno test --allow-all` (tests/test_runner_test.ts puts a stand-in there). */
export interface TestCommand {
  program: string;
  args: string[];
}

export async function testMain(
  args: string[],
  command: TestCommand = { program: Deno.execPath(), args: ["test", "--allow-all"] },
): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(TEST_HELP);
    return 0;
  }
  const child = new Deno.Command(command.program, {
    args: [...command.args, ...args],
    stdin: "inherit",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const tails = { stdout: "", stderr: "" };
  const pass = async (
    name: "stdout" | "stderr",
    from: ReadableStream<Uint8Array>,
    to: typeof Deno.stdout,
  ) => {
    const decoder = new TextDecoder();
    for await (const chunk of from) {
      await to.write(chunk);
      tails[name] = (tails[name] + decoder.decode(chunk, { stream: true })).slice(-TAIL_CHARS);
    }
  };
  const [status] = await Promise.all([
    child.status,
    pass("stdout", child.stdout, Deno.stdout),
    pass("stderr", child.stderr, Deno.stderr),
  ]);
  if (status.success) return 0;
  const out = tails.stdout.replace(ANSI, "");
  const summary = ALL_PASSED.exec(out);
  const abort = GLIBC_ABORT.exec(tails.stderr.replace(ANSI, ""));
  if (status.signal === "SIGABRT" && summary && abort) {
    console.error(
      `test: note: deno test reported ${summary[1]} passed, 0 failed, then aborted at exit ("${
        abort[0]
      }"): ` +
        "the known teardown crash of Deno's WebGPU on Mesa lavapipe (docs/known-issues.md); counted as passed",
    );
    return 0;
  }
  return status.signal ? 128 + signalNumber(status.signal) : status.code;
}

/** The number behind the shell's 128 + N exit status of a process killed by a signal. */
function signalNumber(signal: Deno.Signal): number {
  return { SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15, SIGINT: 2 }[signal as string] ?? 1;
}

if (import.meta.main) await runMain("test", () => testMain(Deno.args.length ? Deno.args : ["tests/"]));
