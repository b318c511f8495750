/**
 * Scripts run as a user runs them: `deno ARGS` as a subprocess (Deno.execPath()), its exit code and output
 * collected; and the check every CLI test makes of a failed run: one stderr line, no stack trace.
 */
import { assert, assertEquals } from "./assert.ts";

/** What a finished subprocess left. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DenoOptions {
  /** The child's working directory (default: this process's). */
  cwd?: string;
  /** Variables added to the inherited environment. */
  env?: Record<string, string>;
  /** Written to the child's stdin, which is then closed; without it the child's stdin is /dev/null. */
  stdin?: string;
}

/** Starts `deno ...args`; `output` settles once it has exited. */
export function startDeno(
  args: string[],
  { cwd, env, stdin }: DenoOptions = {},
): { child: Deno.ChildProcess; output: Promise<Run> } {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = (async () => {
    if (stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(stdin));
      await writer.close();
    }
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  })();
  return { child, output };
}

/** Runs `deno ...args` to the end. */
export function runDeno(args: string[], options?: DenoOptions): Promise<Run> {
  return startDeno(args, options).output;
}

/**
 * The one line a failed run printed on stderr, after checking that it is the only one, that it starts with
 * `prefix`, and that no stack trace was printed. `what` names the run in failure messages.
 */
export function errorLine(r: Run, what: string, prefix = ""): string {
  const lines = r.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, `${what}: stderr has ${lines.length} lines:\n${r.stderr}`);
  assert(lines[0].startsWith(prefix), `${what}: ${lines[0]}`);
  assert(!/^\s+at /m.test(r.stderr), `${what}: stack trace`);
  return lines[0];
}

/**
 * A run that must have failed: non-zero exit, nothing on stdout, and one stderr line (see errorLine)
 * matching `pattern`. Returns the line.
 */
export function assertFailed(r: Run, what: string, pattern: RegExp, prefix = ""): string {
  assert(r.code !== 0, `${what}: exit code 0 (stdout: ${r.stdout})`);
  const line = errorLine(r, what, prefix);
  assert(pattern.test(line), `${what}: "${line}" does not match ${pattern}`);
  assertEquals(r.stdout, "", `${what}: stdout`);
  return line;
}

/**
 * The `deno run` arguments of a task in deno.json up to and including its script, absolutised (e.g.
 * ["run", "--allow-read", "--allow-write", "/abs/scripts/prepare.ts"]), so CLI tests run a script with
 * exactly the permissions its task grants.
 */
export function taskRun(task: string): string[] {
  const root = new URL("../", import.meta.url);
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root)));
  const words = String(config.tasks[task]).split(/\s+/).slice(1); // drop node_modules/.bin/deno
  return words.map((w) => w.endsWith(".ts") ? new URL(w, root).pathname : w);
}
