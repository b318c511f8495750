/**
 * Exact resume of `scripts/train.ts` (run as a subprocess, shuffling on): a run stopped at an epoch end, by
 * --max-steps mid-epoch, or by Ctrl-C, then continued with --resume, takes bit for bit the steps an
 * uninterrupted run takes: the same per-step losses in metrics.jsonl, the same final weights and Adam
 * moments. Both backends are deterministic (no atomics, a fixed reduction order), so equality is exact,
 * not within a tolerance. Also: a second trainer on the same --out is refused while the first runs. WebGPU
 * runs go through tests/gpu_harness.ts (ignored without an adapter, failed with REQUIRE_GPU=1).
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import type { Checkpoint } from "../src/io/checkpoint.ts";
import { loadCheckpoint } from "../src/deno/checkpoint_files.ts";
import { isStepRecord } from "../src/io/metrics.ts";
import { readMetrics } from "../src/deno/metrics_file.ts";
import { backendTests, webgpuTest } from "./gpu_harness.ts";

const SCRIPT = fileURLToPath(new URL("../scripts/train.ts", import.meta.url));
const TRAIN_PERMISSIONS = ["--allow-read", "--allow-write", "--allow-env"]; // deno.json's train task
// The built-in corpus at window 2: 2120 pairs, so batch 100 makes 22 steps an epoch (the last one of 20).
const TINY = ["--embed", "4", "--hidden", "8", "--layers", "2", "--batch", "100", "--quiet"];
const STEPS_PER_EPOCH = 22;

const tmp = await Deno.makeTempDir({ prefix: "train_resume_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
// Runs start in an empty directory: no ./data there, so the corpus is the built-in one.
const CWD = join(tmp, "cwd");
await Deno.mkdir(CWD);

function command(args: string[], stdout: "piped" | "null" = "piped") {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...TRAIN_PERMISSIONS, SCRIPT, ...args],
    cwd: CWD,
    stdout,
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

async function ok(args: string[]): Promise<void> {
  const out = await command(args).output();
  assertEquals(out.code, 0, `train ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
}

/** What a run directory ends with: its per-step losses (in order), epoch means, and final checkpoint. */
async function result(dir: string) {
  const records = await readMetrics(join(dir, "metrics.jsonl"));
  const steps = records.filter(isStepRecord);
  assertEquals(steps.map((r) => r.step), steps.map((_, i) => i + 1), `${dir}: steps 1, 2, ... once each`);
  const ck = await loadCheckpoint(join(dir, "checkpoint"));
  return {
    losses: steps.map((r) => r.loss),
    epochLosses: records.filter((r) => !isStepRecord(r)).map((r) => [r.epoch, r.train_loss]),
    ck,
  };
}

/** Bitwise equality of two runs' losses, epoch means, weights, Adam state and position. */
function assertSameRun(
  got: Awaited<ReturnType<typeof result>>,
  want: Awaited<ReturnType<typeof result>>,
  what: string,
): void {
  assertEquals(got.losses.length, want.losses.length, `${what}: number of steps`);
  const diff = got.losses.findIndex((l, i) => !Object.is(l, want.losses[i]));
  assertEquals(diff, -1, `${what}: step ${diff + 1} loss ${got.losses[diff]} != ${want.losses[diff]}`);
  assertEquals(got.epochLosses, want.epochLosses, `${what}: epoch train_loss`);
  assertSameCheckpoint(got.ck, want.ck, what);
}

function assertSameCheckpoint(got: Checkpoint, want: Checkpoint, what: string): void {
  for (
    const [name, a, b] of [
      ["params", got.params, want.params],
      ["adam m", got.optimizer!.m, want.optimizer!.m],
      ["adam v", got.optimizer!.v, want.optimizer!.v],
    ] as const
  ) {
    const i = a.findIndex((x, j) => !Object.is(x, b[j]));
    assertEquals(i, -1, `${what}: ${name}[${i}] ${a[i]} != ${b[i]}`);
  }
  assertEquals(got.optimizer!.adamStep, want.optimizer!.adamStep, `${what}: adam step`);
  assertEquals(got.progress, want.progress, `${what}: position and rng`);
}

backendTests(
  (backend) =>
    `${backend}: 1 epoch + --resume --epochs 2, and --max-steps 7 / 30 + --resume, equal 2 epochs straight`,
  async (backend) => {
    const dir = (name: string) => join(tmp, `${backend}_${name}`);
    const flags = [...TINY, "--backend", backend];
    await Promise.all([
      ok([...flags, "--epochs", "2", "--out", dir("straight")]),
      ok([...flags, "--epochs", "1", "--out", dir("epoch")]),
      ok([...flags, "--epochs", "2", "--max-steps", "7", "--out", dir("steps")]),
    ]);
    const straight = await result(dir("straight"));
    assertEquals(straight.losses.length, 2 * STEPS_PER_EPOCH);
    assertEquals(straight.ck.train!.shuffle, true, "shuffling is on");
    // A resumed run takes its recorded flags (batch, lr, shuffle, data, backend): only --epochs is new.
    await ok(["--resume", dir("epoch"), "--epochs", "2", "--quiet"]);
    assertSameRun(await result(dir("epoch")), straight, "epoch-end resume");
    // Stopped mid-epoch 1 (step 7), then mid-epoch 2 (step 30), then to the end.
    assertEquals((await result(dir("steps"))).ck.progress!.batchInEpoch, 7);
    await ok(["--resume", dir("steps"), "--max-steps", "30", "--quiet"]);
    const mid = await result(dir("steps"));
    assertEquals([mid.ck.progress!.epoch, mid.ck.progress!.batchInEpoch], [1, 30 - STEPS_PER_EPOCH]);
    await ok(["--resume", dir("steps"), "--quiet"]);
    assertSameRun(await result(dir("steps")), straight, "mid-epoch resumes");
  },
);

webgpuTest(
  "webgpu: Ctrl-C exits 130 with a checkpoint; --resume finishes it as if uninterrupted; the lock holds",
  async () => {
    // 4 epochs of batch 8: 1060 steps, several seconds on a software adapter.
    const flags = [...TINY, "--batch", "8", "--epochs", "4"];
    const straightDir = join(tmp, "sigint_straight");
    const dir = join(tmp, "sigint");
    const straightRun = ok([...flags, "--out", straightDir]);

    const child = command([...flags, "--out", dir], "null").spawn();
    const stderr = new Response(child.stderr).text();
    // Wait until the first metrics line is written: the trainer is past setup and in its loop.
    const metrics = join(dir, "metrics.jsonl");
    const deadline = Date.now() + 60_000;
    while (!(await Deno.readTextFile(metrics).catch(() => "")).includes("\n")) {
      assert(Date.now() < deadline, "no metrics line within 60 s");
      await new Promise((r) => setTimeout(r, 20));
    }
    // A second trainer on the same --out is refused, naming the first one's pid; even --force does not pass.
    const second = await command([...flags, "--out", dir, "--force"]).output();
    const line = new TextDecoder().decode(second.stderr).trimEnd();
    assertEquals(second.code, 1, line);
    assertEquals(line.split("\n").length, 1, line);
    assert(line.startsWith(`train: error: ${dir} is in use by another trainer: pid ${child.pid} on `), line);

    // Interrupt within epoch 2: the resume must then redraw a later epoch's shuffle, mid-epoch.
    while (!(await Deno.readTextFile(metrics)).includes('{"epoch":2,"step"')) {
      assert(Date.now() < deadline, "no epoch 2 step within 60 s");
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGINT");
    const status = await child.status;
    assertEquals(status.code, 130, await stderr);
    const interrupted = await result(dir);
    const at = interrupted.ck.progress!;
    assertEquals(at.step, interrupted.losses.length, "the checkpoint is where metrics.jsonl stops");
    console.log(`Ctrl-C: stopped at step ${at.step} (epoch ${at.epoch + 1}, batch ${at.batchInEpoch})`);
    assert(at.epoch >= 1 && at.step < 4 * 265, `interrupted after epoch 1, before the end: step ${at.step}`);
    assert(at.batchInEpoch > 0, "interrupted mid-epoch");
    assertEquals(at.step, 265 * at.epoch + at.batchInEpoch);

    await ok(["--resume", dir, "--quiet"]);
    await straightRun;
    const straight = await result(straightDir);
    assertEquals(straight.losses.length, 4 * 265);
    assertSameRun(await result(dir), straight, "Ctrl-C and resume");
  },
);

Deno.test("--sample-every: a run stopped and resumed writes the samples.jsonl an uninterrupted run writes", async () => {
  const dir = (name: string) => join(tmp, `samples_${name}`);
  const flags = [...TINY, "--backend", "cpu", "--epochs", "3", "--save-every", "2"];
  const sampling = ["--sample-every", "1", "--sample-prompts", "knicks quietly|one new"];
  await Promise.all([
    ok([...flags, ...sampling, "--out", dir("straight")]),
    // Stopped 3 steps into epoch 3: epochs 1 and 2 sampled, the checkpoint saved at the stop.
    ok([...flags, ...sampling, "--max-steps", String(2 * STEPS_PER_EPOCH + 3), "--out", dir("stopped")]),
    // Stopped in epoch 3 too, but as a kill after epoch 3's samples and before a checkpoint leaves it: the
    // last checkpoint is epoch 2's (--save-every 2), samples.jsonl runs on past it and ends in a torn line.
    ok([...flags, ...sampling, "--epochs", "2", "--out", dir("killed")]),
  ]);
  const samples = (name: string) => Deno.readTextFile(join(dir(name), "samples.jsonl"));
  const want = await samples("straight");
  assertEquals(want.trimEnd().split("\n").map((l) => JSON.parse(l).epoch), [
    1,
    1,
    1,
    1,
    1,
    1,
    2,
    2,
    2,
    2,
    2,
    2,
    3,
    3,
    3,
    3,
    3,
    3,
  ]);
  await Deno.writeTextFile(
    join(dir("killed"), "samples.jsonl"),
    `${
      JSON.stringify({ epoch: 3, prompt: "one new", text: "one new left by a killed run" })
    }\n{"epoch":3,"pro`,
    { append: true },
  );
  // The resumed runs take their recorded sampling flags.
  await ok(["--resume", dir("stopped"), "--quiet"]);
  await ok(["--resume", dir("killed"), "--epochs", "3", "--quiet"]);
  assertEquals(await samples("stopped"), want);
  assertEquals(await samples("killed"), want);
});

/** The epoch records' learning rates and validation losses, and best/'s weights, beside result(dir)'s. */
async function scheduled(dir: string) {
  const epochs = (await readMetrics(join(dir, "metrics.jsonl"))).filter((r) => !isStepRecord(r));
  return {
    run: await result(dir),
    epochs: epochs.map((r) => [r.epoch, r.lr, r.val_loss]),
    best: await loadCheckpoint(join(dir, "best")).then((ck) => ck.params, () => null), // none without validation
  };
}

backendTests(
  (backend) =>
    `${backend}: reduce-on-plateau, early stopping and clipping resume exactly (epoch end, mid-epoch), ` +
    "as does step decay",
  async (backend) => {
    const dir = (name: string) => join(tmp, `${backend}_sched_${name}`);
    // The parity corpus with 30% held out overfits within a few epochs: the lr halves after epochs 5 and 7,
    // and early stopping ends the run after epoch 7 (on the CPU reference; WebGPU rounds alike). 11 steps
    // an epoch.
    const corpus = fileURLToPath(new URL("./fixtures/parity/tiny/corpus.csv", import.meta.url));
    const plateau = [
      ...["--data", corpus, "--embed", "4", "--hidden", "8", "--layers", "2", "--batch", "16", "--quiet"],
      ...["--val-fraction", "0.3", "--lr", "0.02", "--lr-plateau", "1", "--lr-plateau-factor", "0.5"],
      ...["--early-stop", "4", "--clip", "1", "--backend", backend],
    ];
    const step = [
      ...TINY,
      "--backend",
      backend,
      "--lr",
      "0.01",
      "--lr-step-every",
      "1",
      "--lr-step-factor",
      "0.5",
    ];
    await Promise.all([
      ok([...plateau, "--epochs", "30", "--out", dir("straight")]),
      ok([...plateau, "--epochs", "5", "--out", dir("epoch")]), // stops after the first halving
      ok([...plateau, "--epochs", "30", "--max-steps", "60", "--out", dir("steps")]), // in epoch 6
      ok([...step, "--epochs", "3", "--out", dir("step_straight")]),
      ok([
        ...step,
        "--epochs",
        "3",
        "--max-steps",
        String(STEPS_PER_EPOCH + 5),
        "--out",
        dir("step_stopped"),
      ]),
    ]);
    const straight = await scheduled(dir("straight"));
    const lrs = straight.epochs.map(([, lr]) => lr);
    assert(straight.epochs.length < 30, `early stopping ended the run (${straight.epochs.length} epochs)`);
    assert(new Set(lrs).size > 1, `the plateau moved the lr: ${lrs}`);
    await ok(["--resume", dir("epoch"), "--epochs", "30", "--quiet"]);
    await ok(["--resume", dir("steps"), "--quiet"]);
    for (const name of ["epoch", "steps"]) {
      const resumed = await scheduled(dir(name));
      assertSameRun(resumed.run, straight.run, `${name} resume`);
      assertEquals(resumed.epochs, straight.epochs, `${name} resume: each epoch's lr and validation loss`);
      assertEquals(resumed.best, straight.best, `${name} resume: best/`);
    }
    await ok(["--resume", dir("step_stopped"), "--quiet"]);
    const [stepStraight, stepResumed] = [
      await scheduled(dir("step_straight")),
      await scheduled(dir("step_stopped")),
    ];
    assertEquals(stepStraight.epochs.map(([, lr]) => lr), [0.01, 0.005, 0.0025]);
    assertSameRun(stepResumed.run, stepStraight.run, "step decay, mid-epoch resume");
    assertEquals(stepResumed.epochs, stepStraight.epochs, "step decay: each epoch's lr");
  },
);

backendTests(
  (backend) =>
    `${backend}: a headline model (tied direct head, dropout, length buckets, clipping, plateau 0) resumes ` +
    "exactly mid-epoch and at an epoch end",
  async (backend) => {
    const dir = (name: string) => join(tmp, `${backend}_headline_${name}`);
    const flags = [
      ...[
        "--model-kind",
        "headline",
        "--embed",
        "8",
        "--hidden",
        "8",
        "--layers",
        "1",
        "--head",
        "0",
        "--tie",
      ],
      ...["--dropout", "0.3", "--bucket", "4", "--clip", "1", "--batch", "16", "--lr", "0.01", "--quiet"],
      ...["--val-fraction", "0.2", "--lr-plateau", "0", "--backend", backend],
    ];
    await Promise.all([
      ok([...flags, "--epochs", "3", "--out", dir("straight")]),
      ok([...flags, "--epochs", "1", "--out", dir("epoch")]),
      ok([...flags, "--epochs", "3", "--max-steps", "9", "--out", dir("steps")]),
    ]);
    const straight = await scheduled(dir("straight"));
    assertEquals(straight.run.ck.train!.bucket, 4, "the buckets are recorded");
    await ok(["--resume", dir("epoch"), "--epochs", "3", "--quiet"]);
    await ok(["--resume", dir("steps"), "--quiet"]);
    for (const name of ["epoch", "steps"]) {
      const resumed = await scheduled(dir(name));
      assertSameRun(resumed.run, straight.run, `${name} resume`);
      assertEquals(resumed.epochs, straight.epochs, `${name} resume: each epoch's lr and validation loss`);
      assertEquals(resumed.best, straight.best, `${name} resume: best/`);
    }
  },
);
