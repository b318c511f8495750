/**
 * Crash safety of a real training run (scripts/train.ts as a subprocess, tiny model, built-in corpus,
 * --save-every 1): SIGKILL at seeded moments (a seeded point in training progress, and moments caught
 * inside checkpoint writes: the process is frozen with SIGSTOP while `.checkpoint.new` or the loss.svg temp
 * file is on disk, the file's presence is confirmed, then it is killed). After each kill the newest
 * checkpoint loads, and `--resume DIR` (past the stale lock the killed run left) finishes the run: exit 0,
 * final epoch reached, metrics.jsonl step numbers 1, 2, ... with no gap or duplicate, one record per epoch,
 * no temp files left, and every step's loss and every epoch's mean equal to those of an uninterrupted run
 * of the same flags: bit for bit, on both backends (no atomics, a fixed reduction order: runs repeat
 * exactly). Also: Ctrl-C (SIGINT) saves where it stopped and exits 130 (train_resume_test.ts checks the
 * exactness of such resumes).
 *
 * The kills at seeded moments run on each backend (WebGPU through tests/gpu_harness.ts: ignored without an
 * adapter, failed with REQUIRE_GPU=1). The kills inside file writes, before the first checkpoint and Ctrl-C
 * test what the platform does with files, the same for every backend: they run on --backend cpu, so they
 * run with or without an adapter.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { Rng } from "../src/model/rng.ts";
import { buildDataset } from "../src/data/dataset.ts";
import { BUILTIN_SOURCE, builtinHeadlines } from "../src/data/builtin.ts";
import { loadCheckpoint } from "../src/deno/checkpoint_files.ts";
import { swapPaths } from "../src/deno/atomic.ts";
import { isStepRecord, type MetricRecord } from "../src/io/metrics.ts";
import { readMetrics } from "../src/deno/metrics_file.ts";
import { UserError } from "../src/errors.ts";
import { exists } from "../src/deno/fs.ts";
import { type Run, startDeno } from "./cli_harness.ts";
import { makeWithTempDir } from "./fs_harness.ts";
import { type BackendName, backendTests } from "./gpu_harness.ts";

const TRAIN = fileURLToPath(new URL("../scripts/train.ts", import.meta.url));
/** About 3 s of training on the software adapter: long enough to kill at many different points. */
const EPOCHS = 16;
const BATCH = 64;
const flagsFor = (backend: BackendName) => [
  ...["--embed", "4", "--hidden", "8", "--layers", "2", "--batch", String(BATCH), "--seed", "3"],
  ...["--epochs", String(EPOCHS), "--save-every", "1", "--log-every", "10", "--backend", backend, "--json"],
];
/** The file-safety tests' flags (see the top comment). */
const FLAGS = flagsFor("cpu");
/** Nothing here takes a tenth of this: reaching it means a hang. */
const DEADLINE_MS = 60_000;

// The child runs in a fresh directory, so "no --data" is the built-in corpus whatever ./data holds here.
const data = buildDataset(
  { source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() },
  { window: 2, minCount: 1, valFraction: 0, seed: 0 },
);
const STEPS_PER_EPOCH = Math.ceil(data.train.count / BATCH);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const withTempDir = makeWithTempDir("robust_crash_");

interface Trainer {
  child: Deno.ChildProcess;
  exited: boolean;
  output: Promise<Run>;
}

function startTrain(cwd: string, args: string[]): Trainer {
  const { child, output } = startDeno(["run", "-A", TRAIN, ...args], { cwd, env: { NO_COLOR: "1" } });
  const t: Trainer = {
    child,
    exited: false,
    output: output.then((r) => {
      t.exited = true;
      return r;
    }),
  };
  return t;
}

/** Polls `cond` until true; fails if the trainer exits first or the deadline passes. */
async function waitFor(t: Trainer, what: string, cond: () => Promise<boolean>, pollMs = 0): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!(await cond())) {
    if (t.exited) throw new Error(`the trainer exited before ${what}: ${(await t.output).stderr}`);
    assert(Date.now() < deadline, `no ${what} within ${DEADLINE_MS} ms`);
    await sleep(pollMs);
  }
}

const stepLines = async (out: string) => (await readMetrics(join(out, "metrics.jsonl"))).filter(isStepRecord);

/** The run ended before freezeDuring caught what it waited for. */
class TrainerFinished extends Error {}

/**
 * Freezes the trainer (SIGSTOP) the `skip`+1-th time `present()` finds a temp file on disk, and returns
 * once the file is confirmed there with the process stopped (a file gone by the time the signal landed is
 * not counted: the process is resumed and polling goes on).
 */
async function freezeDuring(t: Trainer, what: string, present: () => Promise<boolean>, skip: number) {
  let seen = 0;
  let wasThere = false;
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    if (t.exited) {
      throw new TrainerFinished(`the trainer finished before ${what} was caught ${skip + 1} times`);
    }
    assert(Date.now() < deadline, `${what} not caught within ${DEADLINE_MS} ms`);
    const there = await present();
    if (there && !wasThere) {
      t.child.kill("SIGSTOP");
      if (await present()) {
        if (seen++ === skip) return;
      }
      t.child.kill("SIGCONT");
    }
    wasThere = there;
  }
}

/** What an uninterrupted run records: every step's loss and every epoch's mean loss, in order. */
interface Losses {
  steps: number[];
  epochs: number[];
}

async function lossesOf(out: string): Promise<Losses> {
  const records = await readMetrics(join(out, "metrics.jsonl"));
  return {
    steps: records.filter(isStepRecord).map((r) => r.loss!),
    epochs: records.filter((r) => !isStepRecord(r)).map((r) => r.train_loss!),
  };
}

/** One uninterrupted run per backend, made on first use: what every killed and resumed run must equal. */
const straightRuns = new Map<BackendName, Promise<Losses>>();
function straightRun(backend: BackendName): Promise<Losses> {
  if (!straightRuns.has(backend)) {
    straightRuns.set(
      backend,
      withTempDir(async (cwd) => {
        const out = join(cwd, "run");
        const r = await startTrain(cwd, [...flagsFor(backend), "--out", out]).output;
        assertEquals(r.code, 0, `the uninterrupted ${backend} run failed: ${r.stderr}`);
        return await lossesOf(out);
      }),
    );
  }
  return straightRuns.get(backend)!;
}

/** Every step's loss and epoch mean of a killed and resumed run equal the uninterrupted run's, exactly. */
async function assertSameLosses(out: string, backend: BackendName, label: string): Promise<void> {
  const got = await lossesOf(out);
  const want = await straightRun(backend);
  assertEquals(got.steps.length, want.steps.length, `${label}: steps`);
  const step = got.steps.findIndex((l, i) => !Object.is(l, want.steps[i]));
  assertEquals(
    step,
    -1,
    `${label}: step ${step + 1} loss ${got.steps[step]}, uninterrupted ${want.steps[step]}`,
  );
  assertEquals(got.epochs, want.epochs, `${label}: epoch mean losses`);
}

/**
 * The checks after a SIGKILL: the newest checkpoint loads, the stale lock is there, resume finishes, and
 * its losses are the uninterrupted run's.
 */
async function afterKill(
  out: string,
  cwd: string,
  label: string,
  backend: BackendName = "cpu",
): Promise<void> {
  assert(await exists(join(out, ".lock")), `${label}: the killed run left no lock file to be stale`);
  const ck = await loadCheckpoint(join(out, "checkpoint"));
  const at = ck.progress!;
  // --save-every 1: every checkpoint of an uninterrupted epoch loop ends an epoch.
  assertEquals([at.batchInEpoch, at.step], [0, at.epoch * STEPS_PER_EPOCH], `${label}: checkpoint position`);
  assert(at.epoch >= 1 && at.epoch <= EPOCHS, `${label}: checkpoint epoch ${at.epoch}`);

  const resumed = await startTrain(cwd, ["--resume", out, "--json"]).output;
  assertEquals(resumed.code, 0, `${label}: resume failed: ${resumed.stderr}`);
  assert(
    /warning: cleared a stale lock .* that process is gone/.test(resumed.stderr),
    `${label}: no stale-lock warning: ${resumed.stderr}`,
  );
  const summary = JSON.parse(resumed.stdout.trim().split("\n").at(-1)!);
  assertEquals([summary.stopped, summary.epochs, summary.steps], ["done", EPOCHS, EPOCHS * STEPS_PER_EPOCH]);
  await checkFinished(out, label);
  await assertSameLosses(out, backend, label);
}

/** A finished run directory: final checkpoint, consistent metrics, no temp files, no lock. */
async function checkFinished(out: string, label: string): Promise<void> {
  const final = await loadCheckpoint(join(out, "checkpoint"));
  assertEquals(final.progress!.step, EPOCHS * STEPS_PER_EPOCH, `${label}: final checkpoint step`);
  assertEquals(final.progress!.epoch, EPOCHS, `${label}: final checkpoint epoch`);
  const records: MetricRecord[] = await readMetrics(join(out, "metrics.jsonl"));
  const steps = records.filter(isStepRecord);
  assertEquals(steps.length, EPOCHS * STEPS_PER_EPOCH, `${label}: step records`);
  steps.forEach((r, i) => {
    if (r.step !== i + 1) throw new Error(`${label}: metrics step record ${i + 1} has step ${r.step}`);
    if (r.epoch !== Math.ceil(r.step / STEPS_PER_EPOCH)) {
      throw new Error(`${label}: step ${r.step} in epoch ${r.epoch}`);
    }
  });
  const epochs = records.filter((r) => !isStepRecord(r)).map((r) => r.epoch);
  assertEquals(epochs, Array.from({ length: EPOCHS }, (_, i) => i + 1), `${label}: epoch records`);
  const { fresh, previous } = swapPaths(join(out, "checkpoint"));
  const names = (await Array.fromAsync(Deno.readDir(out))).map((e) => e.name).sort();
  assertEquals(
    names,
    ["checkpoint", "loss.svg", "metrics.jsonl"],
    `${label}: leftovers (${fresh}, ${previous}?)`,
  );
}

/** Runs `fn` in a fresh working directory, the run directory `out` inside it. */
function withRunDir(fn: (cwd: string, out: string) => Promise<void>): Promise<void> {
  return withTempDir((cwd) => fn(cwd, join(cwd, "run")));
}

const SEED = 7;

backendTests(
  (backend) => `SIGKILL at seeded moments (${backend}): --resume finishes the run loss for loss`,
  async (backend) => {
    const rng = new Rng(SEED);
    const total = EPOCHS * STEPS_PER_EPOCH;
    for (let trial = 0; trial < 2; trial++) {
      // A seeded point in training progress (after epoch 1's checkpoint, before the last epoch), and a
      // seeded delay of up to one logging interval past it.
      const target = STEPS_PER_EPOCH + 1 + rng.int(total - 2 * STEPS_PER_EPOCH);
      const jitter = rng.int(50);
      await withRunDir(async (cwd, out) => {
        const t = startTrain(cwd, [...flagsFor(backend), "--out", out]);
        await waitFor(t, `step ${target}`, async () => (await stepLines(out)).at(-1)?.step! >= target, 5);
        await sleep(jitter);
        t.child.kill("SIGKILL");
        assertEquals((await t.output).code, 137, "killed by SIGKILL");
        await afterKill(out, cwd, `kill near step ${target} (+${jitter} ms)`, backend);
      });
    }
  },
  { sanitizeResources: false },
);

Deno.test({
  name: "SIGKILL during checkpoint writes (cpu): the previous checkpoint loads and --resume finishes",
  sanitizeResources: false,
  async fn() {
    const rng = new Rng(SEED + 1);
    for (let trial = 0; trial < 2; trial++) {
      // Which save to catch: the 2nd to the (EPOCHS-1)-th, so that a complete checkpoint exists before it.
      const skip = 1 + rng.int(EPOCHS - 2);
      await withRunDir(async (cwd, out) => {
        const ck = join(out, "checkpoint");
        const { fresh } = swapPaths(ck);
        const t = startTrain(cwd, [...FLAGS, "--out", out]);
        await freezeDuring(t, `${fresh}`, () => exists(fresh), skip);
        t.child.kill("SIGKILL");
        assertEquals((await t.output).code, 137);
        assert(await exists(fresh), "the half-written checkpoint is on disk");
        // The committed checkpoint is the one before the killed save: an epoch's record is written just
        // before its checkpoint, so the killed save is the last epoch recorded.
        const recorded = (await readMetrics(join(out, "metrics.jsonl"))).filter((r) =>
          !isStepRecord(r)
        ).length;
        const before = await loadCheckpoint(ck);
        assertEquals(before.progress!.epoch, recorded - 1, "the checkpoint before the killed save");
        await afterKill(out, cwd, `kill in save ${skip + 1}`);
      });
    }
  },
});

Deno.test({
  name: "SIGKILL while loss.svg is written at the very end (cpu): --resume of a finished run exits 0",
  sanitizeResources: false,
  async fn() {
    // The temp file lives for about a millisecond, and polling can miss it on a busy machine: a run that
    // finishes before it is caught is repeated (at most 5 runs), never counted as a pass.
    let caught = false;
    for (let run = 1; !caught; run++) {
      await withRunDir(async (cwd, out) => {
        const t = startTrain(cwd, [...FLAGS, "--out", out]);
        const isTemp = async () => {
          const names = await Array.fromAsync(Deno.readDir(out)).catch(() => [] as Deno.DirEntry[]);
          return names.some((e) => e.name.startsWith(".loss.svg.tmp-"));
        };
        try {
          await freezeDuring(t, "the loss.svg temp file", isTemp, 0);
        } catch (e) {
          if (run < 5 && e instanceof TrainerFinished) return;
          throw e;
        }
        caught = true;
        t.child.kill("SIGKILL");
        assertEquals((await t.output).code, 137);
        await afterKill(out, cwd, "kill while writing loss.svg");
      });
    }
  },
});

Deno.test({
  name: "SIGKILL before the first checkpoint (cpu): nothing to resume, said in one line",
  sanitizeResources: false,
  async fn() {
    await withRunDir(async (cwd, out) => {
      const t = startTrain(cwd, [...FLAGS, "--out", out]);
      await waitFor(t, "a step record", async () => (await stepLines(out)).length > 0, 5);
      t.child.kill("SIGKILL");
      assertEquals((await t.output).code, 137);
      // The first record comes --log-every steps in, the first checkpoint a whole epoch in.
      assert(!(await exists(join(out, "checkpoint"))), "epoch 1 ended before the kill");
      await loadCheckpoint(join(out, "checkpoint")).then(
        () => assert(false, "a checkpoint loaded from nowhere"),
        (e) => assert(e instanceof UserError, String(e)),
      );
      const resumed = await startTrain(cwd, ["--resume", out]).output;
      assertEquals(resumed.code, 1, resumed.stderr);
      const lines = resumed.stderr.trimEnd().split("\n");
      assertEquals(lines.length, 1, resumed.stderr);
      assert(lines[0].startsWith(`train: error: checkpoint ${join(out, "checkpoint")}`), lines[0]);
      assert(lines[0].endsWith(`start it again with --out ${out} --force`), lines[0]);
      // What it says works: the run starts over in the same directory (taking over the stale lock).
      const again = await startTrain(cwd, [...FLAGS, "--out", out, "--force"]).output;
      assertEquals(again.code, 0, again.stderr);
      await checkFinished(out, "started again with --force");
    });
  },
});

Deno.test({
  name: "Ctrl-C (cpu): saves where it stopped, exits 130, releases the lock",
  sanitizeResources: false,
  async fn() {
    await withRunDir(async (cwd, out) => {
      const t = startTrain(cwd, [...FLAGS, "--out", out]);
      const target = STEPS_PER_EPOCH + new Rng(SEED + 2).int(STEPS_PER_EPOCH);
      await waitFor(t, `step ${target}`, async () => (await stepLines(out)).at(-1)?.step! >= target, 5);
      t.child.kill("SIGINT");
      const r = await t.output;
      assertEquals(r.code, 130, r.stderr);
      const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
      assertEquals(summary.stopped, "interrupted");
      const ck = await loadCheckpoint(join(out, "checkpoint"));
      const steps = await stepLines(out);
      assertEquals(ck.progress!.step, summary.steps);
      assertEquals(steps.at(-1)!.step, summary.steps, "metrics.jsonl ends at the saved step");
      assert(
        summary.steps >= target && summary.steps < EPOCHS * STEPS_PER_EPOCH,
        `stopped at ${summary.steps}`,
      );
      assert(!(await exists(join(out, ".lock"))), "the lock was not released");
    });
  },
});
