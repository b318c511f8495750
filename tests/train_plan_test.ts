/**
 * train's pure parts: the plan from flags, recorded flags and data (src/cli/train_plan.ts), and what the
 * loop reports as progress (src/train/loop.ts through a recording ProgressSink): figures only from steps
 * whose losses were read back, never NaN, and the clock started after the backend was ready.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { planData, planTraining, recordedFlags, type TrainFlags } from "../src/cli/train_plan.ts";
import { buildDataset } from "../src/data/dataset.ts";
import { BUILTIN_SOURCE, builtinHeadlines } from "../src/data/builtin.ts";
import type { Dataset } from "../src/data/types.ts";
import type { Checkpoint } from "../src/io/checkpoint.ts";
import { createCpuBackend } from "../src/cpu/backend.ts";
import type { Backend } from "../src/model/backend.ts";
import { initParams } from "../src/model/init.ts";
import { train } from "../src/train/loop.ts";
import type { ProgressState } from "../src/train/progress.ts";
import { ForwardingBackend } from "./forwarding_backend.ts";

const SETTINGS = { window: 2, minCount: 1, valFraction: 0, seed: 0 };
const builtin = buildDataset({ source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() }, SETTINGS);
const realData: Dataset = { ...builtin, source: "ArticlesApril2017.csv" };
const resolve = (p: string) => `/abs/${p}`;

Deno.test("train plan: defaults, the built-in corpus's 40 epochs, and what is recorded", () => {
  const plan = planTraining({}, undefined, builtin, resolve);
  assertEquals([plan.epochs, plan.batch, plan.lr, plan.seed, plan.shuffle], [40, 64, 1e-3, 0, true]);
  assertEquals(plan.config, { vocab: builtin.vocab.length, embed: 16, hidden: 64, layers: 5, window: 2 });
  assertEquals([plan.out, plan.backend, plan.init], ["runs/train", "webgpu", { kind: "seed" }]);
  assertEquals(planTraining({}, undefined, realData, resolve).epochs, 200);
  const given = planTraining(
    { data: "d.csv", epochs: "3", "no-shuffle": true, init: "w.safetensors", backend: "cpu" },
    undefined,
    realData,
    resolve,
  );
  assertEquals([given.epochs, given.shuffle, given.init, given.backend], [
    3,
    false,
    { kind: "file", path: "w.safetensors" },
    "cpu",
  ]);
  assertEquals(given.flags.data, "/abs/d.csv", "the data path is recorded absolute");
});

Deno.test("train plan: --epochs 0 and bad values are usage errors", () => {
  assertThrows(() => planTraining({ epochs: "0" }, undefined, builtin, resolve), /--epochs 0 trains nothing/);
  assertThrows(() => planTraining({ epochs: "-1" }, undefined, builtin, resolve), /non-negative integer/);
  assertThrows(
    () => planTraining({ lr: "0" }, undefined, builtin, resolve),
    /--lr must be a positive number/,
  );
  assertThrows(
    () => planTraining({ seed: "4294967296" }, undefined, builtin, resolve),
    /--seed must be a 32-bit unsigned integer/,
  );
});

Deno.test("train plan: a resumed run keeps its recorded flags and model, and refuses what would change them", () => {
  const config = { vocab: builtin.vocab.length, embed: 4, hidden: 6, layers: 2, window: 2 };
  const resume: Checkpoint = {
    config,
    vocab: builtin.vocab,
    params: initParams(config, 0),
    progress: { step: 5, epoch: 0, batchInEpoch: 5, rng: new Uint32Array(4) },
    train: { source: BUILTIN_SOURCE, epochs: 3, batch: 16, lr: 0.01, shuffle: false, "min-count": 1 },
  };
  const flags: TrainFlags = { resume: "runs/x" };
  assertEquals(planData(flags, recordedFlags(resume)).minCount, 1);
  const plan = planTraining(flags, resume, builtin, resolve);
  assertEquals([plan.epochs, plan.batch, plan.lr, plan.shuffle, plan.out], [3, 16, 0.01, false, "runs/x"]);
  assertEquals([plan.config, plan.init], [config, { kind: "resume" }]);
  assertEquals(planTraining({ ...flags, epochs: "5" }, resume, builtin, resolve).epochs, 5);
  assertThrows(() => planTraining({ ...flags, hidden: "7" }, resume, builtin, resolve), /--hidden 7 differs/);
  assertThrows(
    () => planTraining({ ...flags, batch: "8" }, resume, builtin, resolve),
    /interrupted epoch's 16/,
  );
  const other = { ...builtin, vocab: ["a", ...builtin.vocab.slice(1)] };
  assertThrows(() => planTraining(flags, resume, other, resolve), /trained on another corpus/);
  // Checkpoints from before train.source recorded the description as train.data: not a path.
  assertEquals(recordedFlags({ ...resume, train: { data: "built-in corpus" } }).data, undefined);
});

/** A backend whose setTrainData takes `prepareMs` (a compiling GPU) and whose steps are slow to read. */
class SlowBackend extends ForwardingBackend {
  constructor(inner: Backend, readonly prepareMs: number) {
    super(inner);
  }
  override async setTrainData(inputs: Int32Array, targets: Int32Array, count: number) {
    await new Promise((r) => setTimeout(r, this.prepareMs));
    return super.setTrainData(inputs, targets, count);
  }
}

Deno.test("train progress: only read-back figures, no NaN loss, ETA without the backend's preparation", async () => {
  const config = { vocab: builtin.vocab.length, embed: 4, hidden: 6, layers: 1, window: 2 };
  const backend = new SlowBackend(await createCpuBackend(config), 1200);
  const updates: ProgressState[] = [];
  const events: string[] = [];
  const result = await train(backend, builtin, { params: initParams(config, 0) }, {
    epochs: 1,
    batch: 64,
    lr: 1e-3,
    seed: 0,
    shuffle: false,
    maxSteps: 12,
    saveEvery: 1,
    logEvery: 5,
    flags: {},
  }, {
    save: () => Promise.resolve("memory"),
    record: () => Promise.resolve(),
    stopRequested: () => false,
    progress: {
      update: (s) => (updates.push(s), events.push("update")),
      status: (t) => events.push(`status ${t}`),
      line: (t) => events.push(`line ${t}`),
      done: () => events.push("done"),
    },
  });
  backend.destroy();
  assertEquals(events[0], "status preparing the backend (compiling shaders)");
  assert(/^line backend ready in 1\.\d s/.test(events[1]), events[1]);
  // Losses are read every 5 steps and at the end: 5, 10, 12.
  assertEquals(updates.map((u) => u.step), [5, 10, 12]);
  for (const u of updates) {
    assert(Number.isFinite(u.loss), `loss ${u.loss} at step ${u.step}`);
    assert(Number.isFinite(u.etaSeconds) && u.etaSeconds >= 0, `ETA ${u.etaSeconds}`);
    assertEquals(u.totalSteps, 12);
  }
  assertEquals(updates.at(-1)!.etaSeconds, 0);
  // The 1.2 s of preparation is not in the run's time, so not in its rate.
  assert(result.seconds < 1.2 + 10 && result.steps === 12, `${result.seconds} s`);
  const perStep = result.seconds / 12;
  assert(
    updates[0].etaSeconds < perStep * 7 + 0.5,
    `first ETA ${updates[0].etaSeconds} s counts preparation`,
  );
});
