/**
 * Learning-rate schedules, early stopping and their flags (src/train/schedule.ts, src/train/optim_flags.ts)
 * and how the training loop uses them (src/train/loop.ts):
 *
 * 1. Every learning rate of StepLR and ReduceLROnPlateau equals torch's own schedulers' (to the bit) on the
 *    sequences of validation losses in tests/fixtures/schedule/lrs.json (made by make_schedule_fixture.py
 *    beside it): threshold edges, equal losses, many reductions, and reductions stopped by torch's eps.
 * 2. Early stopping counted by hand.
 * 3. Every bad flag value or combination is one usage line; plateau and early stopping refuse data without a
 *    validation split, and a resumed run with a schedule refuses another --lr.
 * 4. The loop on the CPU reference with scripted validation losses: each step's AdamHyper carries the
 *    epoch's learning rate and the clip, the epoch records and lines the learning rate, early stopping ends
 *    the run as done with best/ at the best epoch, and a resume of that run trains nothing.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import {
  earlyStopDue,
  initialSchedule,
  type LrSchedule,
  PLATEAU_EPS,
  scheduleEpochEnd,
} from "../src/train/schedule.ts";
import {
  checkResumedLr,
  DEFAULT_LR_FACTOR,
  type OptimFlag,
  optimOptions,
  requireValidation,
} from "../src/train/optim_flags.ts";
import { planTraining } from "../src/plan/train_plan.ts";
import { USAGE_EXIT, UserError } from "../src/errors.ts";
import { buildDataset } from "../src/data/dataset.ts";
import { BUILTIN_SOURCE, builtinHeadlines } from "../src/data/builtin.ts";
import type { Dataset } from "../src/data/types.ts";
import type { Checkpoint } from "../src/io/checkpoint.ts";
import type { MetricRecord } from "../src/io/metrics.ts";
import { createCpuBackend } from "../src/cpu/backend.ts";
import type { AdamHyper } from "../src/model/optimizer.ts";
import { initParams } from "../src/model/init.ts";
import { type CheckpointKind, train, type TrainOptions } from "../src/train/loop.ts";
import { ForwardingBackend } from "./forwarding_backend.ts";

interface FixtureCase {
  kind: "step" | "plateau";
  name?: string;
  lr: number;
  factor: number;
  every?: number;
  epochs?: number;
  patience?: number;
  val_losses?: number[];
  lrs: number[];
}
const FIXTURE: { torch: string; cases: FixtureCase[] } = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/schedule/lrs.json", import.meta.url)),
);

/** The learning rates after each epoch end of `schedule` from `lr` over these validation losses. */
function lrsOver(schedule: LrSchedule, lr: number, valLosses: Array<number | undefined>): number[] {
  let state = initialSchedule(lr);
  let best = Infinity;
  return valLosses.map((val, i) => {
    const improved = val !== undefined && val < best;
    if (improved) best = val!;
    state = scheduleEpochEnd(schedule, state, i + 1, val, improved);
    return state.lr;
  });
}

Deno.test("schedules: every learning rate equals torch's StepLR and ReduceLROnPlateau (fixture)", () => {
  let reductions = 0;
  for (const c of FIXTURE.cases) {
    const schedule: LrSchedule = c.kind === "step"
      ? { kind: "step", every: c.every!, factor: c.factor }
      : { kind: "plateau", patience: c.patience!, factor: c.factor };
    const losses = c.kind === "step" ? new Array(c.epochs).fill(undefined) : c.val_losses!;
    const what = `${c.kind} ${c.name ?? ""} ${JSON.stringify(schedule)} from ${c.lr}`;
    assertEquals(lrsOver(schedule, c.lr, losses), c.lrs, `${what} (torch ${FIXTURE.torch})`);
    reductions += c.lrs.filter((lr, i) => lr !== (i ? c.lrs[i - 1] : c.lr)).length;
  }
  assertEquals(FIXTURE.cases.length, 27); // patience 0 (reduce after the first epoch without improvement) among them
  assert(reductions > 100, `the fixture reduces the learning rate ${reductions} times`);
});

Deno.test("reduce-on-plateau: what each rule does, worked by hand", () => {
  const plateau = (patience: number): LrSchedule => ({ kind: "plateau", patience, factor: 0.5 });
  // A loss that improves by less than 1e-4 relative is no improvement: patience 1 reduces after 2 such.
  assertEquals(lrsOver(plateau(1), 1, [2, 1.99995, 1.99992]), [1, 1, 0.5]);
  // Improving by more resets the count.
  assertEquals(lrsOver(plateau(1), 1, [2, 2, 1.9, 1.9, 1.9]), [1, 1, 1, 1, 0.5]);
  // After a reduction the count starts again (cooldown 0).
  assertEquals(lrsOver(plateau(2), 1, [2, 2, 2, 2, 2, 2, 2]), [1, 1, 1, 0.5, 0.5, 0.5, 0.25]);
  // A reduction smaller than torch's eps is skipped.
  assertEquals(PLATEAU_EPS, 1e-8);
  assertEquals(lrsOver(plateau(1), 3e-8, [1, 1, 1, 1, 1]), [3e-8, 3e-8, 1.5e-8, 1.5e-8, 1.5e-8]);
});

Deno.test("step decay: the lr of epoch e + 1 is lr0 · factor^floor(e / every)", () => {
  const lrs = lrsOver({ kind: "step", every: 3, factor: 0.5 }, 8, new Array(9).fill(undefined));
  assertEquals(lrs, [8, 8, 4, 4, 4, 2, 2, 2, 1]);
});

Deno.test("early stopping: N epochs in a row without a validation loss below the best so far", () => {
  let state = initialSchedule(1);
  let best = Infinity;
  const due: boolean[] = [];
  const since: number[] = [];
  for (const [i, val] of [3, 2, 2.5, 2, 1.9, 2, 2, 2].entries()) {
    const improved = val < best; // equal is not better: the rule that picks best/
    if (improved) best = val;
    state = scheduleEpochEnd(undefined, state, i + 1, val, improved);
    since.push(state.sinceBest);
    due.push(earlyStopDue(3, state));
  }
  assertEquals(since, [0, 0, 1, 2, 0, 1, 2, 3]);
  assertEquals(due, [false, false, false, false, false, false, false, true]);
  assertEquals(earlyStopDue(undefined, state), false, "off without --early-stop");
  assertEquals(scheduleEpochEnd(undefined, state, 9, undefined, false).sinceBest, 0, "no validation");
});

/** optimOptions over a flag object, as the CLI gives flags. */
const options = (flags: Partial<Record<OptimFlag, string>>) => optimOptions((name) => flags[name]);

Deno.test("optimisation flags: values to options", () => {
  assertEquals(options({}), {});
  const step = options({ clip: "5", "lr-step-every": "3", "early-stop": "4" });
  assertEquals(step, {
    clip: 5,
    schedule: { kind: "step", every: 3, factor: DEFAULT_LR_FACTOR },
    earlyStop: 4,
  });
  const plateau = options({ "lr-plateau": "2", "lr-plateau-factor": "0.5" });
  assertEquals(plateau, { schedule: { kind: "plateau", patience: 2, factor: 0.5 } });
  // Recorded and resumed like every training flag: tests/train_plan_test.ts (EVERY_RECORDED).
});

Deno.test("optimisation flags: every bad value or combination is one usage line", () => {
  const table: Array<[Partial<Record<OptimFlag, string>>, RegExp]> = [
    [{ clip: "0" }, /^--clip must be a positive number, got "0"$/],
    [{ clip: "-1" }, /^--clip must be a positive number, got "-1"$/],
    [{ clip: "Infinity" }, /^--clip must be a positive number/],
    [{ "lr-step-every": "0" }, /^--lr-step-every must be a positive integer, got "0"$/],
    [{ "lr-step-every": "1.5" }, /^--lr-step-every must be a positive integer, got "1.5"$/],
    [
      { "lr-step-every": "2", "lr-step-factor": "1" },
      /^--lr-step-factor must be a number in \(0, 1\), got "1"$/,
    ],
    [{ "lr-step-every": "2", "lr-step-factor": "0" }, /^--lr-step-factor must be a number in \(0, 1\)/],
    [{ "lr-plateau": "-1" }, /^--lr-plateau must be a non-negative integer, got "-1"$/],
    [{ "lr-plateau": "x" }, /^--lr-plateau must be a non-negative integer, got "x"$/],
    [{ "lr-plateau": "2", "lr-plateau-factor": "1.5" }, /^--lr-plateau-factor must be a number in \(0, 1\)/],
    [{ "lr-step-factor": "0.5" }, /^--lr-step-factor only applies with --lr-step-every N$/],
    [{ "lr-plateau-factor": "0.5" }, /^--lr-plateau-factor only applies with --lr-plateau N$/],
    [{ "lr-step-every": "2", "lr-plateau": "2" }, /^--lr-step-every and --lr-plateau are two schedules/],
    [{ "early-stop": "0" }, /^--early-stop must be a positive integer, got "0"$/],
  ];
  for (const [flags, message] of table) {
    assertThrows(() => options(flags), (e: unknown) => {
      assert(e instanceof UserError && e.exitCode === USAGE_EXIT, `${JSON.stringify(flags)}: a usage error`);
      assert(message.test(e.message) && !e.message.includes("\n"), `${JSON.stringify(flags)}: ${e.message}`);
      return true;
    });
  }
  for (
    const [flags, flag] of [[{ "lr-plateau": "2" }, "--lr-plateau"], [{ "early-stop": "3" }, "--early-stop"]]
  ) {
    const opts = options(flags as Partial<Record<OptimFlag, string>>);
    requireValidation(opts, true);
    assertThrows(() => requireValidation(opts, false), {
      message: `${flag} needs validation data, and this data has no validation split: give --val-fraction F`,
    });
  }
  requireValidation(options({ "lr-step-every": "2", clip: "1" }), false); // step decay needs none
  const plateau = options({ "lr-plateau": "2" });
  checkResumedLr(plateau, undefined, 0.01);
  checkResumedLr(plateau, "0.01", 0.01);
  checkResumedLr(options({}), "0.1", 0.01); // no schedule: a new --lr applies from here on
  assertThrows(
    () => checkResumedLr(plateau, "0.1", 0.01),
    /--lr 0\.1 differs from the run's 0\.01: a resumed/,
  );
});

const SETTINGS = { window: 2, minCount: 1, valFraction: 0.2, seed: 0 };
const corpus = { source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() };
const withVal: Dataset = buildDataset(corpus, SETTINGS);
const noVal: Dataset = buildDataset(corpus, { ...SETTINGS, valFraction: 0 });

Deno.test("train plan: the flags reach the options and config.json's record; validation is required", () => {
  const plan = planTraining({ clip: "2", "lr-plateau": "3", "early-stop": "5" }, undefined, withVal);
  const o = plan.options;
  assertEquals([o.clip, o.schedule, o.earlyStop], [2, { kind: "plateau", patience: 3, factor: 0.1 }, 5]);
  // Recorded as given (the factor's default applies again on resume).
  assertEquals(
    [o.flags.clip, o.flags["lr-plateau"], o.flags["lr-plateau-factor"], o.flags["early-stop"]],
    [2, 3, undefined, 5],
  );
  assertThrows(() => planTraining({ "early-stop": "5" }, undefined, noVal), /--early-stop needs validation/);
  const resume: Checkpoint = {
    config: plan.config,
    vocab: withVal.vocab,
    params: initParams(plan.config, 0),
    progress: { step: 5, epoch: 1, batchInEpoch: 0, rng: new Uint32Array(4) },
    train: { ...o.flags, source: BUILTIN_SOURCE },
  };
  const resumed = planTraining({ resume: "r" }, resume, withVal).options;
  assertEquals([resumed.clip, resumed.schedule, resumed.earlyStop], [2, o.schedule, 5], "recorded flags");
  assertThrows(() => planTraining({ resume: "r", lr: "0.5" }, resume, withVal), /--lr 0\.5 differs/);
});

/** Records every step's AdamHyper and answers evalLoss from a script (one validation loss per epoch). */
class ScriptedBackend extends ForwardingBackend {
  hypers: AdamHyper[] = [];
  #val: number[];
  constructor(inner: ForwardingBackend["inner"], val: number[]) {
    super(inner);
    this.#val = [...val];
  }
  override trainStep(start: number, size: number, hyper: AdamHyper) {
    this.hypers.push(hyper);
    super.trainStep(start, size, hyper);
  }
  override evalLoss() {
    return Promise.resolve(this.#val.shift()!);
  }
}

const CONFIG = { vocab: withVal.vocab.length, embed: 4, hidden: 6, layers: 1, window: 2 };
const BATCH = 200;
const STEPS = Math.ceil(withVal.train.count / BATCH);

async function scriptedRun(val: number[], opts: Partial<TrainOptions>, resume?: Checkpoint) {
  const backend = new ScriptedBackend(await createCpuBackend(CONFIG), val);
  const records: MetricRecord[] = [];
  const saved: Array<[CheckpointKind, Checkpoint]> = [];
  const lines: string[] = [];
  try {
    const result = await train(
      backend,
      withVal,
      {
        params: resume?.params ?? initParams(CONFIG, 0),
        ...(resume ? { resume: { checkpoint: resume, from: "ck", history: [] } } : {}),
      },
      {
        epochs: 10,
        batch: BATCH,
        lr: 0.01,
        seed: 0,
        shuffle: true,
        saveEvery: 1,
        logEvery: 5,
        flags: {},
        ...opts,
      },
      {
        save: (ck, kind) => (saved.push([kind, ck]), Promise.resolve(kind)),
        record: (r) => (records.push(r), Promise.resolve()),
        stopRequested: () => false,
        progress: { update() {}, status() {}, line: (t) => lines.push(t), done() {} },
      },
    );
    return { result, records, saved, lines, hypers: backend.hypers };
  } finally {
    backend.destroy();
  }
}

Deno.test("train loop: plateau and early stopping on scripted validation losses; each step's lr and clip", async () => {
  // Best at epoch 2; epochs 3 and 4 are worse, so patience 1 halves the lr after epoch 4; epoch 5 is the third
  // epoch without a new best: early stopping ends the run there.
  // Checkpoints every 2 epochs: the early stop at epoch 5 saves one of its own.
  const run = await scriptedRun([5, 4, 4.5, 4.6, 4.7, 1, 1], {
    clip: 0.7,
    schedule: { kind: "plateau", patience: 1, factor: 0.5 },
    earlyStop: 3,
    saveEvery: 2,
  });
  const epochLrs = [0.01, 0.01, 0.01, 0.01, 0.005];
  assertEquals(run.hypers.map((h) => h.lr), epochLrs.flatMap((lr) => new Array(STEPS).fill(lr)));
  assert(run.hypers.every((h) => h.clip === 0.7), "every step clips");
  const epochs = run.records.filter((r) => r.step === undefined);
  assertEquals(
    epochs.map((r) => [r.epoch, r.lr, r.val_loss]),
    epochLrs.map((lr, i) => [i + 1, lr, [5, 4, 4.5, 4.6, 4.7][i]]),
  );
  assertEquals([run.result.stopped, run.result.epochs, run.result.earlyStop], ["done", 5, {
    bestEpoch: 2,
    bestVal: 4,
  }]);
  assertEquals(run.saved.filter(([k]) => k === "best").map(([, ck]) => ck.progress!.epoch), [1, 2]);
  const last = run.saved.at(-1)!;
  assertEquals([last[0], last[1].progress!.epoch], ["checkpoint", 5]);
  assertEquals(last[1].progress!.schedule, { lr: 0.005, plateauBest: 4, badEpochs: 1, sinceBest: 3 });
  assert(run.lines.some((l) => /^epoch 4\/10: .*, lr 0\.01 -> 0\.005, /.test(l)), run.lines.join("\n"));
  assert(run.lines.some((l) => /^epoch 5\/10: .*, lr 0\.005, /.test(l)), run.lines.join("\n"));
  assert(
    run.lines.includes(
      "early stop: no validation loss below 4.0000 (epoch 2) for 3 epochs; best/ holds that epoch's model",
    ),
    run.lines.join("\n"),
  );
  // Resumed, the run stays stopped: no step, no save.
  const again = await scriptedRun([], {
    schedule: { kind: "plateau", patience: 1, factor: 0.5 },
    earlyStop: 3,
  }, last[1]);
  assertEquals([again.hypers.length, again.saved.length, again.result.earlyStop], [0, 0, {
    bestEpoch: 2,
    bestVal: 4,
  }]);
});

Deno.test("train loop: early stopping alone (no schedule) resumes its count of epochs since the best", async () => {
  // Stopped after epoch 4, two epochs past the best; resumed, epoch 5 is the third: it ends there.
  const first = await scriptedRun([5, 4, 4.5, 4.6], { epochs: 4, earlyStop: 3 });
  const at = first.saved.at(-1)![1];
  assertEquals([at.progress!.epoch, at.progress!.schedule!.sinceBest], [4, 2]);
  const resumed = await scriptedRun([4.7, 1, 1, 1, 1, 1], { earlyStop: 3 }, at);
  assertEquals(resumed.hypers.length, STEPS, "one epoch, then early stopping");
  assertEquals(resumed.result.earlyStop, { bestEpoch: 2, bestVal: 4 });
});

Deno.test("train loop: step decay moves the lr at the end of every N-th epoch", async () => {
  const run = await scriptedRun([5, 4, 3, 2, 1], {
    epochs: 5,
    schedule: { kind: "step", every: 2, factor: 0.1 },
  });
  const epochLrs = [0.01, 0.01, 0.01 * 0.1, 0.01 * 0.1, 0.01 * 0.1 * 0.1];
  assertEquals(run.hypers.map((h) => h.lr), epochLrs.flatMap((lr) => new Array(STEPS).fill(lr)));
  assertEquals(run.records.filter((r) => r.step === undefined).map((r) => r.lr), epochLrs);
  assert(run.lines.some((l) => /^epoch 2\/5: .*, lr 0\.01 -> 0\.001, /.test(l)), run.lines.join("\n"));
});

Deno.test("train loop: without a schedule the lr is constant and recorded, without a line; no clip unless asked", async () => {
  const run = await scriptedRun([5, 4], { epochs: 2 });
  assert(run.hypers.every((h) => h.lr === 0.01 && h.clip === undefined), "constant lr, no clip");
  assertEquals(run.records.filter((r) => r.step === undefined).map((r) => r.lr), [0.01, 0.01]);
  assert(run.lines.every((l) => !l.includes(" lr ")), run.lines.join("\n"));
});

Deno.test("train loop: plateau or early stopping without validation data is one line", async () => {
  const backend = await createCpuBackend(CONFIG);
  try {
    for (
      const [opts, what] of [[{ earlyStop: 2 }, "early stopping"], [{
        schedule: { kind: "plateau", patience: 1, factor: 0.1 },
      }, "reduce-on-plateau"]] as const
    ) {
      await assertRejects(
        () =>
          train(backend, { ...withVal, val: noVal.val }, { params: initParams(CONFIG, 0) }, {
            epochs: 1,
            batch: BATCH,
            lr: 0.01,
            seed: 0,
            shuffle: false,
            saveEvery: 1,
            logEvery: 1,
            flags: {},
            ...opts,
          }, {
            save: () => Promise.resolve(""),
            record: () => Promise.resolve(),
            stopRequested: () => false,
            progress: { update() {}, status() {}, line() {}, done() {} },
          }),
        { message: `${what} needs validation data, and this data has no validation split` },
      );
    }
  } finally {
    backend.destroy();
  }
});
