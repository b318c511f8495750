/**
 * train's pure parts: the flag table and what comes from it (parseArgs options, --help, config files, the
 * page's fields), the plan from flag values, recorded flags and data (src/plan/train_plan.ts: the same for
 * the CLI and the web page), and what the loop reports as progress (src/train/loop.ts through a recording
 * ProgressSink): figures only from steps whose losses were read back, never NaN, the clock started after
 * the backend was ready, and an ETA from the pace of recent steps.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { parseFlags } from "../src/cli/args.ts";
import { TRAIN_HELP } from "../src/cli/train.ts";
import { commandLineValues, type FlagSpec, type FlagValues, parseArgsOptions } from "../src/plan/flags.ts";
import { configFileValues } from "../src/plan/config_file.ts";
import { formFields, formValues } from "../src/plan/form_fields.ts";
import { TRAIN_FLAGS } from "../src/plan/train_flags.ts";
import {
  checkTrainFlags,
  type DataNaming,
  planData,
  planTraining,
  recordedFlags,
  type TrainPlan,
} from "../src/plan/train_plan.ts";
import { buildDataset, completeSettings, matchPrepared, splitSettings } from "../src/data/dataset.ts";
import { BUILTIN_SOURCE, builtinHeadlines } from "../src/data/builtin.ts";
import type { Corpus, Dataset } from "../src/data/types.ts";
import type { Checkpoint } from "../src/io/checkpoint.ts";
import { createCpuBackend } from "../src/cpu/backend.ts";
import type { Backend } from "../src/model/backend.ts";
import { initParams } from "../src/model/init.ts";
import { train } from "../src/train/loop.ts";
import { formatProgress, type ProgressState } from "../src/train/progress.ts";
import { ForwardingBackend } from "./forwarding_backend.ts";

const SETTINGS = { window: 2, minCount: 1, valFraction: 0, seed: 0 };
const BUILTIN: Corpus = { source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() };
const builtin = buildDataset(BUILTIN, SETTINGS);
const realData: Dataset = { ...builtin, source: "ArticlesApril2017.csv" };
/** The CLI's path.resolve, for a test: relative paths under /abs. */
const resolve = (p: string) => p.startsWith("/") ? p : `/abs/${p}`;
const CLI: DataNaming = { resolve };
const TABLE = TRAIN_FLAGS as Record<string, FlagSpec>;

/** What `deno task train ARGS` plans from: parseArgs with the table's options, --no-NAME folded in. */
function commandLine(args: string[]): FlagValues {
  return commandLineValues(TRAIN_FLAGS, parseFlags(args, parseArgsOptions(TRAIN_FLAGS)).values);
}

Deno.test("train plan: defaults, the built-in corpus's 40 epochs, and what is recorded", () => {
  const plan = planTraining({}, undefined, builtin, CLI);
  const o = plan.options;
  assertEquals([o.epochs, o.batch, o.lr, o.seed, o.shuffle], [40, 64, 1e-3, 0, true]);
  assertEquals(plan.config, { vocab: builtin.vocab.length, embed: 16, hidden: 64, layers: 5, window: 2 });
  assertEquals([plan.out, plan.backend, plan.init], ["runs/train", "webgpu", { kind: "seed" }]);
  assertEquals(planTraining({}, undefined, realData, CLI).options.epochs, 200);
  const given = planTraining(
    commandLine([
      "--data",
      "d.csv",
      "--epochs",
      "3",
      "--no-shuffle",
      "--init",
      "w.safetensors",
      "--backend",
      "cpu",
    ]),
    undefined,
    realData,
    CLI,
  );
  assertEquals([given.options.epochs, given.options.shuffle, given.init, given.backend], [
    3,
    false,
    { kind: "file", path: "w.safetensors" },
    "cpu",
  ]);
  assertEquals(given.options.flags.data, "/abs/d.csv", "the data path is recorded absolute");
});

Deno.test("train plan: --epochs 0 and bad values are usage errors", () => {
  const plan = (values: FlagValues) => planTraining(values, undefined, builtin, CLI);
  assertThrows(() => plan({ epochs: "0" }), /--epochs 0 trains nothing/);
  assertThrows(() => plan({ epochs: "-1" }), /non-negative integer/);
  assertThrows(() => plan({ lr: "0" }), /--lr must be a positive number/);
  assertThrows(() => plan({ seed: "4294967296" }), /--seed must be a 32-bit unsigned integer/);
  // Checked before any data is read, with the rest of the flags.
  assertThrows(() => checkTrainFlags({ "log-every": "5000" }), /--log-every must be at most 1000, got 5000/);
  assertThrows(() => checkTrainFlags({ backend: "tpu" }), /--backend must be webgpu or cpu, got "tpu"/);
  assertThrows(() => checkTrainFlags({ resume: "r", init: "w" }), /--resume and --init contradict/);
  assertThrows(() => commandLine(["--shuffle", "--no-shuffle"]), /--shuffle and --no-shuffle contradict/);
  assertThrows(
    () => checkTrainFlags(commandLine(["--no-shuffle", "--bucket", "4"])),
    /contradicts --no-shuffle/,
  );
  assertThrows(
    () => checkTrainFlags({ init: "w", "init-range": "0.1" }),
    /--init-range .* contradicts --init/,
  );
  assertEquals(plan({ "init-range": "0.1" }).init, { kind: "seed", range: 0.1 });
  assertEquals(plan({}).init, { kind: "seed" });
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
  const flags: FlagValues = { resume: "runs/x" };
  assertEquals(planData(flags, recordedFlags(resume)).minCount, 1);
  const plan = planTraining(flags, resume, builtin, CLI);
  const o = plan.options;
  assertEquals([o.epochs, o.batch, o.lr, o.shuffle, plan.out], [3, 16, 0.01, false, "runs/x"]);
  assertEquals([plan.config, plan.init], [config, { kind: "resume" }]);
  assertEquals(planTraining({ ...flags, epochs: "5" }, resume, builtin, CLI).options.epochs, 5);
  assertThrows(() => planTraining({ ...flags, hidden: "7" }, resume, builtin, CLI), /--hidden 7 differs/);
  assertEquals(planTraining({ ...flags, hidden: "6" }, resume, builtin, CLI).config, config);
  assertThrows(() => planTraining({ ...flags, batch: "8" }, resume, builtin, CLI), /interrupted epoch's 16/);
  const other = { ...builtin, vocab: ["a", ...builtin.vocab.slice(1)] };
  assertThrows(() => planTraining(flags, resume, other, CLI), /trained on another corpus/);
  // Checkpoints from before train.source recorded the description as train.data: not a path.
  assertEquals(recordedFlags({ ...resume, train: { data: "built-in corpus" } }).data, undefined);
});

/** Flag values that set every recorded flag to something other than its default. */
const EVERY_RECORDED: FlagValues = {
  data: "/data/d.csv",
  files: "*2017*",
  column: "title",
  boundaries: true,
  "min-count": "2",
  "val-fraction": "0.25",
  window: "3",
  "model-kind": "headline",
  embed: "5",
  hidden: "7",
  layers: "3",
  head: "11",
  dropout: "0.25",
  clip: "5",
  "init-range": "0.05",
  "lr-plateau": "2",
  "lr-plateau-factor": "0.5",
  "early-stop": "3",
  epochs: "4",
  batch: "24",
  lr: "0.004",
  seed: "9",
  shuffle: false,
  backend: "cpu",
  "sample-every": "2",
  "sample-prompts": "|knicks quietly",
};

/** The other learning-rate schedule (one run takes one): step decay instead of reduce-on-plateau. */
const { "lr-plateau": _plateau, "lr-plateau-factor": _factor, ...WITHOUT_PLATEAU } = EVERY_RECORDED;
const STEP_DECAY: FlagValues = {
  ...WITHOUT_PLATEAU,
  "lr-step-every": "2",
  "lr-step-factor": "0.5",
  // A tied direct head: fc2 reads hidden 7 values (a headline model's window is 1), the embedding's width.
  tie: true,
  head: "0",
  embed: "7",
  // Buckets sort shuffled rows.
  shuffle: true,
  bucket: "4",
};

/** The checkpoint `plan`'s run would write after its first step on `data`, its flags recorded. */
function firstStepCheckpoint(plan: TrainPlan, data: Dataset): Checkpoint {
  return {
    config: plan.config,
    vocab: data.vocab,
    params: initParams(plan.config, 0),
    progress: { step: 1, epoch: 1, batchInEpoch: 0, rng: new Uint32Array(4) },
    train: { source: data.source, ...plan.options.flags },
  };
}

Deno.test("train plan: --resume with no flags plans what the recorded run planned, for every recorded flag", () => {
  const recorded = Object.keys(TABLE).filter((name) => TABLE[name].recorded);
  for (const name of recorded) {
    assert(
      EVERY_RECORDED[name] !== undefined || STEP_DECAY[name] !== undefined,
      `--${name} is recorded: give it a value in EVERY_RECORDED`,
    );
  }
  for (const values of [EVERY_RECORDED, STEP_DECAY]) {
    const data = buildDataset(BUILTIN, completeSettings(planData(values, {})));
    const first = planTraining(values, undefined, data, CLI);
    const checkpoint = firstStepCheckpoint(first, data);
    const again = planData({ resume: "runs/x" }, recordedFlags(checkpoint));
    assertEquals(splitSettings(again), splitSettings(planData(values, {})), "the data's settings");
    assertEquals(
      [again.data, again.files, again.column],
      [values.data, values.files, values.column],
      "the data",
    );
    const resumed = planTraining({ resume: "runs/x" }, checkpoint, data, CLI);
    const without = (p: TrainPlan) => ({ ...p, out: undefined, init: undefined });
    assertEquals(without(resumed), without(first));
    assertEquals(resumed.options.flags.data, "/data/d.csv");
  }
});

/**
 * What the page plans from: its fields (formFields: every labelled flag, starting at its default) with
 * `typed` entered, read as web/train_form.ts reads them, and the page's own backend select and pickers.
 */
function pageValues(typed: Record<string, string | boolean>, backend = "webgpu"): FlagValues {
  const fields = formFields(TRAIN_FLAGS);
  for (const name of Object.keys(typed)) {
    assert(fields.some((f) => f.name === name), `the page has no field for --${name}`);
  }
  return { ...formValues(fields, (f) => typed[f.name] ?? f.value), backend };
}

Deno.test("train plan: the page's fields give the command line's model, options and recorded flags", () => {
  const cases: Array<[string, string[], Record<string, string | boolean>]> = [
    ["defaults", [], {}],
    [
      "every field changed",
      [
        "--boundaries",
        "--min-count",
        "2",
        "--val-fraction",
        "0.2",
        "--embed",
        "8",
        "--hidden",
        "12",
        "--layers",
        "1",
        "--window",
        "3",
        "--model-kind",
        "headline",
        "--head",
        "9",
        "--dropout",
        "0.1",
        "--clip",
        "4",
        "--init-range",
        "0.2",
        "--lr-plateau",
        "1",
        "--lr-plateau-factor",
        "0.3",
        "--early-stop",
        "2",
        "--epochs",
        "3",
        "--batch",
        "32",
        "--lr",
        "0.01",
        "--seed",
        "7",
        "--no-shuffle",
        "--max-steps",
        "5",
        "--save-every",
        "2",
        "--log-every",
        "3",
        "--sample-every",
        "1",
        "--sample-prompts",
        "|the mayor",
        "--column",
        "title",
        "--backend",
        "cpu",
      ],
      {
        boundaries: true,
        "min-count": "2",
        "val-fraction": "0.2",
        embed: "8",
        hidden: "12",
        layers: "1",
        window: "3",
        "model-kind": "headline",
        head: "9",
        dropout: "0.1",
        clip: "4",
        "init-range": "0.2",
        "lr-plateau": "1",
        "lr-plateau-factor": "0.3",
        "early-stop": "2",
        epochs: "3",
        batch: "32",
        lr: "0.01",
        seed: "7",
        shuffle: false,
        "max-steps": "5",
        "save-every": "2",
        "log-every": "3",
        "sample-every": "1",
        "sample-prompts": "|the mayor",
        column: "title",
      },
    ],
  ];
  // The other schedule (a run takes one of the two).
  cases.push([
    "step decay, a tied direct head",
    [
      "--lr-step-every",
      "2",
      "--lr-step-factor",
      "0.5",
      "--tie",
      "--head",
      "0",
      "--embed",
      "128",
      "--bucket",
      "3",
    ],
    { "lr-step-every": "2", "lr-step-factor": "0.5", tie: true, head: "0", embed: "128", bucket: "3" },
  ]);
  for (const field of formFields(TRAIN_FLAGS)) {
    assert(
      cases.some(([, , typed]) => field.name in typed),
      `the page has a field for --${field.name}: change it in this test`,
    );
  }
  for (const [what, args, typed] of cases) {
    const cli = commandLine(args);
    const page = pageValues(typed, String(cli.backend ?? "webgpu"));
    const settings = completeSettings(planData(cli, {}));
    assertEquals(completeSettings(planData(page, {})), settings, `${what}: the data's settings`);
    const data = buildDataset(BUILTIN, settings);
    const fromCli = planTraining(cli, undefined, data, CLI);
    const fromPage = planTraining(page, undefined, data, {});
    assertEquals(fromPage, fromCli, what);
  }
  // A picked CSV: the page records its name as `picked` where the CLI records the absolute path.
  const csv: Corpus = { ...BUILTIN, source: "headlines.csv", files: ["headlines.csv"] };
  const data = buildDataset(csv, SETTINGS);
  const fromCli = planTraining(commandLine(["--data", "headlines.csv"]), undefined, data, CLI).options.flags;
  const fromPage = planTraining(pageValues({}), undefined, data, { picked: "headlines.csv" }).options.flags;
  assertEquals(fromCli.data, "/abs/headlines.csv");
  assertEquals(fromPage.picked, "headlines.csv");
  const { picked: _, ...pageRest } = fromPage;
  const { data: __, ...cliRest } = fromCli;
  // As config.json holds them (JSON: a flag not given is absent).
  assertEquals(JSON.parse(JSON.stringify(pageRest)), JSON.parse(JSON.stringify(cliRest)));
});

Deno.test("train plan: a run of a file picked in the page resumes with --data PATH, and only with it", () => {
  const config = { vocab: builtin.vocab.length, embed: 4, hidden: 6, layers: 2, window: 2 };
  const picked = planTraining(pageValues({ embed: "4", hidden: "6", layers: "2" }), undefined, builtin, {
    picked: "headlines.csv",
  });
  const resume: Checkpoint = {
    config,
    vocab: builtin.vocab,
    params: initParams(config, 0),
    progress: { step: 5, epoch: 0, batchInEpoch: 5, rng: new Uint32Array(4) },
    train: { source: "headlines.csv", ...picked.options.flags },
  };
  assertThrows(
    () => planData({ resume: "runs/p" }, recordedFlags(resume)),
    /runs\/p was trained on headlines\.csv, a file picked in the web page: give its path with --data PATH/,
  );
  const given = { resume: "runs/p", data: "../data/headlines.csv" };
  assertEquals(planData(given, recordedFlags(resume)).data, "../data/headlines.csv");
  const plan = planTraining(given, resume, builtin, CLI);
  assertEquals([plan.options.flags.data, plan.options.flags.picked], [
    "/abs/../data/headlines.csv",
    undefined,
  ]);
  // The page recorded a picked file's bare name as train.data before it recorded `picked`.
  const old = { ...resume, train: { ...resume.train, data: "headlines.csv", picked: undefined } };
  assertEquals(recordedFlags(old).picked, "headlines.csv");
  assertThrows(() => planData({ resume: "runs/p" }, recordedFlags(old)), /give its path with --data PATH/);
});

Deno.test("train plan: a run on a directory prepared with another seed than its own resumes; --seed given must match", () => {
  // Trained with no --seed on data prepared with --seed 1: the run's seed (weights, order) is 0, the split 1.
  const prepared = { ...buildDataset(BUILTIN, completeSettings({ valFraction: 0.2, seed: 1 })), source: "x" };
  const first = planTraining({ data: "runs/prepared" }, undefined, prepared, CLI);
  assertEquals([first.options.seed, first.options.flags.seed], [0, 0]);
  const checkpoint = firstStepCheckpoint(first, prepared);
  const resumed = planData({ resume: "runs/r" }, recordedFlags(checkpoint));
  assertEquals(matchPrepared(prepared, "runs/prepared", resumed), prepared);
  assertEquals(planTraining({ resume: "runs/r" }, checkpoint, prepared, CLI).options.seed, 0);
  // Raw headlines are split again with the run's seed; a seed given now is checked against the directory.
  assertEquals(splitSettings(resumed).seed, 0);
  assertThrows(
    () =>
      matchPrepared(
        prepared,
        "runs/prepared",
        planData({ resume: "runs/r", seed: "0" }, recordedFlags(checkpoint)),
      ),
    /runs\/prepared was prepared with seed 1, not 0/,
  );
});

Deno.test("train flags: --help and parseArgs come from the table, every flag in them", () => {
  const options = parseArgsOptions(TRAIN_FLAGS);
  for (const [name, spec] of Object.entries(TABLE)) {
    assert(TRAIN_HELP.includes(`--${name}${spec.arg ? ` ${spec.arg}` : ""}`), `--help lacks --${name}`);
    assertEquals(options[name].type, spec.kind === "boolean" ? "boolean" : "string", name);
  }
  assertEquals(options["no-shuffle"], { type: "boolean" });
  assert(TRAIN_HELP.includes("-h, --help"));
  for (const line of TRAIN_HELP.split("\n")) {
    assert(line.length <= 110, `a help line of ${line.length}: ${line}`);
  }
});

Deno.test("train --config: flag values from a JSON object, each checked; bad files are one line each", () => {
  const read = (text: string) => configFileValues(text, "run.json", TRAIN_FLAGS);
  assertEquals(
    read('{"epochs": 5, "lr": 0.004, "boundaries": true, "no-shuffle": true, "sample-prompts": "a b|c d"}'),
    { epochs: "5", lr: "0.004", boundaries: true, shuffle: false, "sample-prompts": "a b|c d" },
  );
  assertEquals(read('{"batch": "32", "shuffle": false}'), { batch: "32", shuffle: false });
  const bad: Array<[string, RegExp]> = [
    ["epochs: 5", /^run\.json: not JSON: /],
    ["[1, 2]", /^run\.json: not a JSON object/],
    ["5", /^run\.json: not a JSON object/],
    ["null", /^run\.json: not a JSON object/],
    ['{"epoch": 5}', /^run\.json: unknown flag "epoch"/],
    ['{"config": "other.json"}', /^run\.json: unknown flag "config"/],
    ['{"help": true}', /^run\.json: unknown flag "help"/],
    ['{"boundaries": "yes"}', /^run\.json: "boundaries" must be true or false, got "yes"$/],
    ['{"epochs": true}', /^run\.json: "epochs" must be a number, got true$/],
    ['{"data": 5}', /^run\.json: "data" must be a string, got 5$/],
    ['{"batch": [64]}', /^run\.json: "batch" must be a number, got \[64\]$/],
    ['{"lr": 0}', /^run\.json: --lr must be a positive number, got "0"$/],
    ['{"backend": "tpu"}', /^run\.json: --backend must be webgpu or cpu, got "tpu"$/],
    ['{"shuffle": true, "no-shuffle": true}', /^run\.json: --shuffle and --no-shuffle contradict$/],
  ];
  for (const [text, pattern] of bad) {
    try {
      read(text);
      assert(false, `${text}: accepted`);
    } catch (e) {
      const message = (e as Error).message;
      assert(pattern.test(message) && !message.includes("\n"), `${text}: ${message}`);
    }
  }
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

/** What a short run on `backend` reported, with when each update came (seconds since the run began). */
async function reported(backend: Backend, maxSteps: number, batch: number, logEvery: number) {
  const updates: Array<ProgressState & { at: number }> = [];
  const events: string[] = [];
  const began = performance.now();
  const result = await train(backend, builtin, { params: initParams(backend.config, 0) }, {
    epochs: 1,
    batch,
    lr: 1e-3,
    seed: 0,
    shuffle: false,
    maxSteps,
    saveEvery: 1,
    logEvery,
    flags: {},
  }, {
    save: () => Promise.resolve("memory"),
    record: () => Promise.resolve(),
    stopRequested: () => false,
    progress: {
      update: (s) => (updates.push({ ...s, at: (performance.now() - began) / 1000 }), events.push("update")),
      status: (t) => events.push(`status ${t}`),
      line: (t) => events.push(`line ${t}`),
      done: () => events.push("done"),
    },
  });
  backend.destroy();
  return { updates, events, result, seconds: (performance.now() - began) / 1000 };
}

const TINY_CONFIG = { vocab: builtin.vocab.length, embed: 4, hidden: 6, layers: 1, window: 2 };

Deno.test("train progress: only read-back figures, no NaN loss, ETA without the backend's preparation", async () => {
  const backend = new SlowBackend(await createCpuBackend(TINY_CONFIG), 1200);
  const { updates, events, result } = await reported(backend, 12, 64, 5);
  assertEquals(events[0], "status preparing the backend (compiling shaders)");
  assert(/^line backend ready in 1\.\d s/.test(events[1]), events[1]);
  // Losses are read every 5 steps and at the end: 5, 10, 12.
  assertEquals(updates.map((u) => u.step), [5, 10, 12]);
  for (const u of updates) {
    assert(Number.isFinite(u.loss), `loss ${u.loss} at step ${u.step}`);
    assertEquals(u.totalSteps, 12);
  }
  // The pace is known from the second readback on (see the next test).
  assert(Number.isNaN(updates[0].etaSeconds), `first ETA ${updates[0].etaSeconds}`);
  assert(
    Number.isFinite(updates[1].etaSeconds) && updates[1].etaSeconds >= 0,
    `ETA ${updates[1].etaSeconds}`,
  );
  assertEquals(updates.at(-1)!.etaSeconds, 0);
  // The 1.2 s of preparation is not in the run's time, so not in its rate.
  assert(result.seconds < 1.2 + 10 && result.steps === 12, `${result.seconds} s`);
  const perStep = result.seconds / 12;
  assert(
    updates[1].etaSeconds < perStep * 2 * 3 + 0.5,
    `ETA ${updates[1].etaSeconds} s counts preparation`,
  );
});

/** A backend whose first loss readback waits `slowMs`: its first steps compile kernels (a software adapter). */
class SlowFirstSteps extends ForwardingBackend {
  #first = true;
  constructor(inner: Backend, readonly slowMs: number) {
    super(inner);
  }
  override async takeLosses() {
    if (this.#first) await new Promise((r) => setTimeout(r, this.slowMs));
    this.#first = false;
    return super.takeLosses();
  }
}

Deno.test("train progress: slow first steps (shader compilation) do not make a seconds-long run show minutes", async () => {
  const slow = 2;
  const backend = new SlowFirstSteps(await createCpuBackend(TINY_CONFIG), slow * 1000);
  const { updates, seconds } = await reported(backend, 60, 16, 5);
  assertEquals(updates.map((u) => u.step), Array.from({ length: 12 }, (_, i) => 5 * (i + 1)));
  // The first readback carries the slow steps: no pace is known yet, and none is made up ("ETA ?").
  assert(formatProgress(updates[0]).endsWith("ETA ?"), formatProgress(updates[0]));
  for (const u of updates.slice(1)) {
    // Spread over the run, the slow start would say 2 s * 50/10 = 10 s at step 10; the steps after it take
    // milliseconds each.
    const left = seconds - u.at;
    assert(
      u.etaSeconds <= 3 * left + 0.5,
      `step ${u.step}: ETA ${u.etaSeconds.toFixed(2)} s, ${left.toFixed(2)} s left`,
    );
    assert(!/ETA \d+m/.test(formatProgress(u)), formatProgress(u));
  }
  assert(seconds > slow, `the run took ${seconds} s`);
});

Deno.test("configs/headline.json, the shipped recipe, plans a tied headline model with validation", async () => {
  const file = new URL("../configs/headline.json", import.meta.url);
  const values = configFileValues(await Deno.readTextFile(file), "configs/headline.json", TRAIN_FLAGS);
  checkTrainFlags(values);
  const data = buildDataset(BUILTIN, { ...SETTINGS, boundaries: true, valFraction: 0.1 });
  const plan = planTraining(values, undefined, data, CLI);
  assertEquals(plan.config.kind, "headline");
  assertEquals([plan.config.head, plan.config.tie, plan.config.embed], [0, true, plan.config.hidden]);
  assertEquals(plan.init, { kind: "seed", range: 0.1 });
  assert(plan.options.dropout! > 0, "dropout");
});
