/**
 * `scripts/train.ts` as a user runs it (a subprocess with deno.json's train permissions, in an empty
 * working directory, so the data is the built-in corpus unless --data says otherwise): every bad input is
 * one `train: error:` line with a non-zero exit and nothing written; a short run leaves metrics.jsonl,
 * a loadable checkpoint, loss.svg (and best/ with a validation split); a NaN or an infinite loss stops the
 * run and keeps the last good checkpoint. Models are tiny (embed 4, hidden 8, 2 layers) so each run takes
 * about a second on a software adapter.
 *
 * What the training loop does is run on both backends (WebGPU through tests/gpu_harness.ts: ignored without
 * an adapter, failed with REQUIRE_GPU=1); what only the CLI and the files decide runs on --backend cpu, so
 * it runs with or without an adapter.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { assert, assertAllClose, assertEquals } from "./assert.ts";
import type { Checkpoint } from "../src/io/checkpoint.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/deno/checkpoint_files.ts";
import { isStepRecord, type MetricRecord } from "../src/io/metrics.ts";
import { readMetrics } from "../src/deno/metrics_file.ts";
import { buildDataset } from "../src/data/dataset.ts";
import { BUILTIN_SOURCE, builtinHeadlines } from "../src/data/builtin.ts";
import { createCpuBackend } from "../src/cpu/backend.ts";
import { initParams } from "../src/model/init.ts";
import type { ModelConfig } from "../src/model/config.ts";
import { paramLayout, view } from "../src/model/layout.ts";
import { exists } from "../src/deno/fs.ts";
import { assertFailed, errorLine, type Run, runDeno, taskRun } from "./cli_harness.ts";
import { type BackendName, backendTests, webgpuTest } from "./gpu_harness.ts";

const MINI = fileURLToPath(new URL("./fixtures/nyt_mini", import.meta.url));
const TEXT = fileURLToPath(new URL("./fixtures/text", import.meta.url));
const TINY = ["--embed", "4", "--hidden", "8", "--layers", "2"];
/** For what only the CLI decides (data, recording, samples), not the backend: the CPU reference runs anywhere. */
const TINY_CPU = [...TINY, "--backend", "cpu"];
// The built-in corpus at window 2 (no split): 2120 pairs, so --batch 100 gives 22 steps an epoch, the last
// one of 20 pairs.
const BATCH = 100;
const PAIRS = 2120;
const STEPS_PER_EPOCH = Math.ceil(PAIRS / BATCH);

const tmp = await Deno.makeTempDir({ prefix: "train_cli_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
// The working directory of every run: empty, so no ./data is found and the corpus is the built-in one.
const CWD = join(tmp, "cwd");
await Deno.mkdir(CWD);

/** Runs the script with the permissions of `deno task train`. */
function train(args: string[]): Promise<Run> {
  return runDeno([...taskRun("train"), ...args], {
    cwd: CWD,
    env: { NO_COLOR: "1" },
  });
}

async function ok(args: string[]): Promise<Run> {
  const r = await train(args);
  assertEquals(r.code, 0, `train ${args.join(" ")} failed:\n${r.stderr}`);
  return r;
}

/** How every error line of the script starts. */
const ERROR = "train: error: ";

/** A quiet run of `epochs` epochs with a validation split of 0.2 (so it keeps a best/). */
function okWithValidation(out: string, epochs: number, backend: BackendName): Promise<Run> {
  return okTiny(out, backend, epochs, "--val-fraction", "0.2", "--quiet");
}

/** A run of `epochs` epochs of the tiny model, batch BATCH, on `backend` into `out`, with `more` flags. */
function okTiny(out: string, backend: BackendName, epochs: number, ...more: string[]): Promise<Run> {
  const args = ["--epochs", String(epochs), "--batch", String(BATCH), "--backend", backend, "--out", out];
  return ok([...TINY, ...args, ...more]);
}

const steps = (records: MetricRecord[]) => records.filter(isStepRecord);
const epochs = (records: MetricRecord[]) => records.filter((r) => !isStepRecord(r));

function assertFinite(ck: Checkpoint, what: string): void {
  const bad = ck.params.findIndex((x) => !Number.isFinite(x));
  assertEquals(bad, -1, `${what}: params[${bad}] = ${ck.params[bad]}`);
}

// One finished run (a checkpoint on the built-in corpus) that the bad-input cases point at.
const RUN = join(tmp, "run");
await ok([
  ...TINY,
  "--batch",
  String(BATCH),
  "--max-steps",
  "3",
  "--backend",
  "cpu",
  "--out",
  RUN,
  "--quiet",
]);

Deno.test("--help prints the usage on stdout and exits 0", async () => {
  const r = await train(["--help"]);
  assertEquals([r.code, r.stderr], [0, ""]);
  assert(r.stdout.startsWith("Train the LSTM next-word model.\n\nusage: deno task train"), r.stdout);
  for (const flag of ["--resume DIR", "--max-steps N", "--backend webgpu|cpu", "--json"]) {
    assert(r.stdout.includes(flag), `help lacks ${flag}`);
  }
});

Deno.test("every bad input: one `train: error:` line, non-zero exit, no stack trace, nothing written", async () => {
  const cases = join(tmp, "cases");
  await Deno.mkdir(cases);
  const notCheckpoint = join(cases, "empty_dir");
  await Deno.mkdir(notCheckpoint);
  const aFile = join(cases, "a_file");
  await Deno.writeTextFile(aFile, "not a directory");
  // A model file for hidden 8 (the TINY config on the built-in corpus's 116 words).
  const init = join(cases, "init");
  const vocab = buildDataset({ source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() }, {
    window: 2,
    minCount: 1,
    valFraction: 0,
    seed: 0,
  }).vocab;
  const cfg: ModelConfig = { vocab: vocab.length, embed: 4, hidden: 8, layers: 2, window: 2 };
  await saveCheckpoint(init, { config: cfg, vocab, params: initParams(cfg, 1) });
  const initFile = join(init, "model.safetensors");
  const emptyTxt = join(cases, "empty.txt");
  await Deno.writeTextFile(emptyTxt, "\n  \n");
  const binaryTxt = join(cases, "binary.txt");
  await Deno.writeFile(binaryTxt, Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x0a));
  const runMetrics = await Deno.readFile(join(RUN, "metrics.jsonl"));
  // --config files, outside `cases` (which must hold only what is listed at the end).
  const configs = join(tmp, "configs");
  await Deno.mkdir(configs, { recursive: true });
  const config = async (name: string, text: string) => {
    await Deno.writeTextFile(join(configs, name), text);
    return join(configs, name);
  };

  // [case, arguments, exit code, what the line must say]. Cases without --out/--resume get their own --out
  // under `cases`, which must not exist afterwards.
  const table: Array<[string, string[], number, RegExp]> = [
    ["unknown flag", ["--bogus"], 2, /Unknown option '--bogus'/],
    ["negative epochs", ["--epochs=-1"], 2, /--epochs must be a non-negative integer, got "-1"/],
    // node's parseArgs refuses a value that looks like a flag before our check sees it.
    ["negative epochs, spaced", ["--epochs", "-1"], 2, /'--epochs' argument is ambiguous/],
    ["lr 0", ["--lr", "0"], 2, /--lr must be a positive number, got "0"/],
    ["lr -1", ["--lr=-1"], 2, /--lr must be a positive number, got "-1"/],
    ["batch 0", ["--batch", "0"], 2, /--batch must be a positive integer, got "0"/],
    ["window 0", ["--window", "0"], 2, /--window must be a positive integer, got "0"/],
    ["non-numeric hidden", ["--hidden", "eight"], 2, /--hidden must be a positive integer, got "eight"/],
    ["non-numeric lr", ["--lr", "1e-3x"], 2, /--lr must be a positive number, got "1e-3x"/],
    ["fractional epochs", ["--epochs", "1.5"], 2, /--epochs must be a non-negative integer, got "1.5"/],
    ["non-numeric max-steps", ["--max-steps", "ten"], 2, /--max-steps must be a positive integer/],
    ["val-fraction 1", ["--val-fraction", "1"], 2, /--val-fraction must be a fraction, got "1"/],
    ["save-every 0", ["--save-every", "0"], 2, /--save-every must be a positive integer, got "0"/],
    ["log-every too large", ["--log-every", "5000"], 2, /--log-every must be at most 1000, got 5000/],
    ["backend foo", ["--backend", "foo"], 2, /--backend must be webgpu or cpu, got "foo"/],
    ["shuffle and no-shuffle", ["--shuffle", "--no-shuffle"], 2, /--shuffle and --no-shuffle contradict/],
    [
      "init of another shape",
      ["--hidden", "9", "--init", initFile],
      1,
      new RegExp(
        `model\\.safetensors: lstm\\.weight_ih_l0 has shape \\[32,4\\], expected \\[36,4\\]`,
      ),
    ],
    ["missing init", ["--init", join(cases, "nope.safetensors")], 1, /nope\.safetensors: no such file/],
    ["init not safetensors", ["--init", aFile], 1, /a_file: .*not safetensors/],
    ["resume a dir without checkpoint", ["--resume", notCheckpoint], 1, /empty_dir\/checkpoint: no such/],
    ["resume a file", ["--resume", aFile], 1, /a_file\/checkpoint/],
    ["resume on another corpus", ["--resume", RUN, "--data", MINI], 1, /trained on another corpus/],
    ["resume with --init", ["--resume", RUN, "--init", initFile], 2, /--resume and --init contradict/],
    ["resume into another --out", ["--resume", RUN, "--out", join(cases, "x")], 2, /--resume DIR continues/],
    ["resume with another model", ["--resume", RUN, "--hidden", "9"], 1, /--hidden 9 differs from .* 8/],
    // RUN stopped 3 batches into its first epoch.
    [
      "resume mid-epoch, another batch",
      ["--resume", RUN, "--batch", "50"],
      1,
      /--batch 50 differs from .* 100/,
    ],
    [
      "out holds another run",
      ["--out", RUN],
      1,
      /holds another run \(checkpoint, metrics\.jsonl\): use --resume/,
    ],
    ["unwritable out", ["--out", join(aFile, "out")], 1, /cannot create output directory .*a_file\/out/],
    [
      "unknown column",
      ["--data", join(TEXT, "titles.csv"), "--column", "nope"],
      1,
      /titles\.csv has no "nope" column/,
    ],
    [
      "column of a .txt",
      ["--data", join(TEXT, "more.txt"), "--column", "title"],
      1,
      /--column applies to CSV/,
    ],
    ["empty .txt", ["--data", emptyTxt], 1, /empty\.txt is empty$/],
    ["binary .txt", ["--data", binaryTxt], 1, /binary\.txt line 1: a NUL byte: binary data, not text$/],
    [
      "config missing",
      ["--config", join(cases, "nope.json")],
      1,
      /cannot read --config .*nope\.json: no such file/,
    ],
    ["config not JSON", ["--config", await config("yaml.json", "epochs: 5\n")], 2, /yaml\.json: not JSON: /],
    [
      "config not an object",
      ["--config", await config("list.json", "[5]")],
      2,
      /list\.json: not a JSON object/,
    ],
    [
      "config names an unknown flag",
      ["--config", await config("typo.json", '{"epoch": 5}')],
      2,
      /typo\.json: unknown flag "epoch" \(keys are flag names without dashes\)$/,
    ],
    [
      "config value of the wrong type",
      ["--config", await config("type.json", '{"boundaries": "yes"}')],
      2,
      /type\.json: "boundaries" must be true or false, got "yes"$/,
    ],
    [
      "config value out of range",
      ["--config", await config("range.json", '{"batch": 0}')],
      2,
      /range\.json: --batch must be a positive integer, got "0"$/,
    ],
    ["clip 0", ["--clip", "0"], 2, /--clip must be a positive number, got "0"$/],
    ["clip -1", ["--clip=-1"], 2, /--clip must be a positive number, got "-1"$/],
    ["lr-step-every 0", ["--lr-step-every", "0"], 2, /--lr-step-every must be a positive integer, got "0"$/],
    [
      "lr-step-factor 1",
      ["--lr-step-every", "2", "--lr-step-factor", "1"],
      2,
      /--lr-step-factor must be a number in \(0, 1\), got "1"$/,
    ],
    [
      "lr-step-factor alone",
      ["--lr-step-factor", "0.5"],
      2,
      /--lr-step-factor only applies with --lr-step-every N$/,
    ],
    ["lr-plateau 1.5", ["--lr-plateau", "1.5"], 2, /--lr-plateau must be a non-negative integer, got "1.5"$/],
    [
      "lr-plateau-factor 0",
      ["--lr-plateau", "2", "--lr-plateau-factor", "0", "--val-fraction", "0.2"],
      2,
      /--lr-plateau-factor must be a number in \(0, 1\), got "0"$/,
    ],
    [
      "two schedules",
      ["--lr-step-every", "2", "--lr-plateau", "2", "--val-fraction", "0.2"],
      2,
      /--lr-step-every and --lr-plateau are two schedules: give one of them$/,
    ],
    ["early-stop 0", ["--early-stop", "0"], 2, /--early-stop must be a positive integer, got "0"$/],
    [
      "plateau without validation",
      ["--lr-plateau", "2"],
      2,
      /--lr-plateau needs validation data, and this data has no validation split: give --val-fraction F$/,
    ],
    ["early stop without validation", ["--early-stop", "3"], 2, /--early-stop needs validation data/],
    ["sample-every 0", ["--sample-every", "0"], 2, /--sample-every must be a positive integer, got "0"/],
    [
      "sample prompts alone",
      ["--sample-prompts", "knicks quietly"],
      2,
      /--sample-prompts only applies with --sample-every N/,
    ],
    [
      "empty sample prompt without boundaries",
      ["--sample-every", "1", "--sample-prompts", "knicks quietly|"],
      1,
      /--sample-prompts: prompt "" is empty/,
    ],
    [
      "unknown sample prompt word",
      ["--sample-every", "1", "--sample-prompts", "zebra yak"],
      1,
      /--sample-prompts: prompt "zebra yak": not in the model's vocabulary: "zebra", "yak"$/,
    ],
  ];
  // A few at a time: each is a Deno process.
  const runs: Run[] = [];
  for (let i = 0; i < table.length; i += 6) {
    runs.push(
      ...await Promise.all(
        table.slice(i, i + 6).map(([name, args]) => {
          const hasOut = args.includes("--out") || args.includes("--resume");
          // On the CPU reference, so that an adapter (or its absence) changes nothing; "backend foo"'s own
          // --backend comes later and wins.
          return train([
            ...TINY,
            "--backend",
            "cpu",
            ...args,
            ...(hasOut ? [] : ["--out", join(cases, name)]),
          ]);
        }),
      ),
    );
  }
  table.forEach(([name, , code, message], i) => {
    const line = assertFailed(runs[i], name, message, ERROR);
    assertEquals(runs[i].code, code, `${name}: exit code (${line})`);
  });
  // Nothing written: no case created its --out, and the run they pointed at is as it was.
  const left = (await Array.fromAsync(Deno.readDir(cases))).map((e) => e.name).sort();
  assertEquals(left, ["a_file", "binary.txt", "empty.txt", "empty_dir", "init"]);
  assertEquals(await Deno.readFile(join(RUN, "metrics.jsonl")), runMetrics);
  assert(!(await exists(join(RUN, ".lock"))), "no stale lock left in the run");
});

Deno.test("--boundaries, .txt data and --column: recorded in config.json; the vocabulary starts <s> </s>", async () => {
  const out = join(tmp, "bounded");
  await ok([
    ...TINY_CPU,
    "--data",
    TEXT,
    "--column",
    "title",
    "--boundaries",
    "--epochs",
    "1",
    "--out",
    out,
    "--quiet",
  ]);
  const ck = await loadCheckpoint(join(out, "checkpoint"));
  assertEquals(ck.vocab.slice(0, 4), ["<s>", "</s>", "mayor", "approves"]);
  assertEquals([ck.train!.boundaries, ck.train!.column], [true, "title"]);
  // --resume reads the same files the same way (the vocabulary check would refuse anything else).
  await ok(["--resume", out, "--epochs", "2", "--quiet"]);
  assertEquals((await loadCheckpoint(join(out, "checkpoint"))).progress!.epoch, 2);
});

Deno.test("--config FILE: its flags, the command line's over them, recorded so that --resume needs no file", async () => {
  const file = join(tmp, "recipe.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      embed: 4,
      hidden: 8,
      layers: 2,
      batch: BATCH,
      epochs: 1,
      "no-shuffle": true,
      lr: "0.002",
    }),
  );
  const out = join(tmp, "configured");
  await ok([
    "--config",
    file,
    "--epochs",
    "2",
    "--backend",
    "cpu",
    "--max-steps",
    "3",
    "--out",
    out,
    "--quiet",
  ]);
  const recorded = async () => (await loadCheckpoint(join(out, "checkpoint"))).train!;
  const first = await recorded();
  assertEquals(
    [
      first.embed,
      first.hidden,
      first.layers,
      first.batch,
      first.shuffle,
      first.lr,
      first.epochs,
      first.backend,
    ],
    [4, 8, 2, BATCH, false, 0.002, 2, "cpu"],
  );
  assert(!("config" in first), "the file itself is not recorded");
  await Deno.remove(file);
  await ok(["--resume", out, "--max-steps", "5", "--quiet"]);
  const ck = await loadCheckpoint(join(out, "checkpoint"));
  assertEquals(ck.progress!.step, 5);
  assertEquals(ck.train, first);
});

Deno.test("--sample-every N: samples printed and appended to samples.jsonl at every N-th epoch", async () => {
  const out = join(tmp, "samples");
  const args = ["--batch", String(BATCH), "--epochs", "4", "--sample-every", "2", "--out", out];
  const r = await ok([...TINY_CPU, ...args, "--sample-prompts", "Knicks quietly|one new"]);
  const lines = (await Deno.readTextFile(join(out, "samples.jsonl"))).trimEnd().split("\n").map((l) =>
    JSON.parse(l)
  );
  assertEquals(
    lines.map((l) => [l.epoch, l.prompt]),
    [2, 4].flatMap((e) => [
      ...Array(3).fill([e, "knicks quietly"]),
      ...Array(3).fill([e, "one new"]),
    ]),
  );
  for (const l of lines) {
    const words = l.text.split(" ");
    assert(l.text.startsWith(`${l.prompt} `) && words.length <= 2 + 15, l.text);
    assert(r.stderr.includes(`sample (epoch ${l.epoch}): ${l.text}\n`), `not printed: ${l.text}`);
  }
  // Without --sample-prompts the first training context is the prompt.
  const dflt = join(tmp, "samples_default");
  await ok([
    ...TINY_CPU,
    "--batch",
    String(BATCH),
    "--max-steps",
    String(STEPS_PER_EPOCH),
    "--sample-every",
    "1",
    "--out",
    dflt,
    "--quiet",
  ]);
  const first = JSON.parse((await Deno.readTextFile(join(dflt, "samples.jsonl"))).split("\n")[0]);
  const ds = buildDataset({ source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() }, {
    window: 2,
    minCount: 1,
    valFraction: 0,
    seed: 0,
  });
  assertEquals(first.prompt, [ds.vocab[ds.train.inputs[0]], ds.vocab[ds.train.inputs[1]]].join(" "));
});

backendTests(
  (backend) => `a short run (${backend}): metrics.jsonl per step and epoch, a checkpoint, loss.svg, --json`,
  async (backend) => {
    const out = join(tmp, `short_${backend}`);
    const r = await okTiny(out, backend, 2, "--json");
    const said = backend === "webgpu"
      ? /^backend: webgpu on /m
      : /^backend: cpu \(the plain-TypeScript reference/m;
    assert(said.test(r.stderr), r.stderr);
    const summary = JSON.parse(r.stdout.trimEnd().split("\n").at(-1)!);
    const total = 2 * STEPS_PER_EPOCH;
    assertEquals([summary.steps, summary.epochs, summary.stopped], [total, 2, "done"]);
    assertEquals(summary.params, { vocab: 116, embed: 4, hidden: 8, layers: 2, window: 2 });
    assert(
      summary.backend.startsWith(backend === "webgpu" ? "webgpu (" : "cpu (reference)"),
      summary.backend,
    );

    const records = await readMetrics(join(out, "metrics.jsonl"));
    const stepRecs = steps(records);
    // Step records: exactly {epoch, step, loss}, S from 1 across epochs, E the epoch the step is in.
    assertEquals(stepRecs.map((s) => Object.keys(s)), stepRecs.map(() => ["epoch", "step", "loss"]));
    assertEquals(stepRecs.map((s) => s.step), Array.from({ length: total }, (_, i) => i + 1));
    assertEquals(stepRecs.map((s) => s.epoch), stepRecs.map((s) => Math.ceil(s.step / STEPS_PER_EPOCH)));
    assert(stepRecs.every((s) => Number.isFinite(s.loss) && s.loss > 0), "losses finite and positive");
    assertEquals(summary.lastLoss, stepRecs.at(-1)!.loss);
    // Epoch records follow their epoch's last step; train_loss is the pair-weighted mean of its losses.
    const epochRecs = epochs(records);
    assertEquals(epochRecs.map((e) => e.epoch), [1, 2]);
    assertEquals(records.indexOf(epochRecs[0]), STEPS_PER_EPOCH);
    assertEquals(records.indexOf(epochRecs[1]), records.length - 1);
    for (const e of epochRecs) {
      const mine = stepRecs.filter((s) => s.epoch === e.epoch);
      const sizes = mine.map((_, i) => Math.min(BATCH, PAIRS - i * BATCH));
      const mean = mine.reduce((a, s, i) => a + s.loss * sizes[i], 0) / PAIRS;
      assertAllClose([e.train_loss!], [mean], { atol: 0, rtol: 1e-12, what: `epoch ${e.epoch} train_loss` });
      assert(e.seconds! > 0 && e.pairs_per_s! > 0, JSON.stringify(e));
      assertEquals([e.val_loss, e.val_ppl], [undefined, undefined], "no validation split, no val_*");
      assertEquals(e.lr, 1e-3, "the epoch's learning rate");
    }

    const ck = await loadCheckpoint(join(out, "checkpoint"));
    assertEquals(ck.config, summary.params);
    assertEquals(ck.vocab.length, 116);
    assertEquals(ck.progress && { ...ck.progress, rng: undefined }, {
      step: total,
      epoch: 2,
      batchInEpoch: 0,
      rng: undefined,
      // The learning rate and the counters of a schedule and early stopping (neither on here).
      schedule: { lr: 1e-3, plateauBest: Infinity, badEpochs: 0, sinceBest: 0 },
    });
    assertEquals(ck.optimizer!.adamStep, total);
    assertEquals([ck.train!.source, ck.train!.data, ck.train!.shuffle], [BUILTIN_SOURCE, undefined, true]);
    assertFinite(ck, "checkpoint");
    const svg = await Deno.readTextFile(join(out, "loss.svg"));
    assert(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"), "loss.svg is an SVG document");
    assert(!(await exists(join(out, "best"))), "no best/ without a validation split");
    assert(!(await exists(join(out, ".lock"))), "the lock is released");
  },
);

Deno.test("--lr-plateau and --early-stop: the lr in each epoch line, one early-stop line, done with best/", async () => {
  // The parity corpus with 30% held out overfits within a few epochs (tests/train_resume_test.ts uses it too).
  const out = join(tmp, "early_stop");
  const r = await ok([
    ...TINY_CPU,
    ...["--data", fileURLToPath(new URL("./fixtures/parity/tiny/corpus.csv", import.meta.url))],
    ...["--batch", "16", "--val-fraction", "0.3", "--lr", "0.02", "--epochs", "30", "--out", out],
    ...["--lr-plateau", "1", "--lr-plateau-factor", "0.5", "--early-stop", "4"],
  ]);
  const epochLines = r.stderr.split("\n").filter((l) => /^epoch \d+\/30: /.test(l));
  assert(epochLines.every((l) => /, lr [\d.e-]+( -> [\d.e-]+)?, /.test(l)), epochLines.join("\n"));
  assert(epochLines.some((l) => / -> /.test(l)), `the plateau halved the lr:\n${epochLines.join("\n")}`);
  const stops = r.stderr.split("\n").filter((l) => l.startsWith("early stop: "));
  assertEquals(stops.length, 1, r.stderr);
  const [, bestEpoch] = /\(epoch (\d+)\) for 4 epochs; best\/ holds that epoch's model$/.exec(stops[0]) ?? [];
  assert(bestEpoch, stops[0]);
  const records = epochs(await readMetrics(join(out, "metrics.jsonl")));
  assertEquals(records.length, Number(bestEpoch) + 4, "the run ended 4 epochs after its best");
  assert(r.stdout.includes(`; stopped early, best/ holds epoch ${bestEpoch}; checkpoint `), r.stdout);
  const best = await loadCheckpoint(join(out, "best"));
  assertEquals(best.progress!.epoch, Number(bestEpoch));
  const vals = records.map((e) => e.val_loss!);
  assertEquals(best.progress!.bestVal, Math.min(...vals));
  // Resumed, it stays stopped and says why.
  const again = await ok(["--resume", out]);
  assert(again.stdout.startsWith(`nothing to train: early stopping ended ${out} after epoch `), again.stdout);
});

const FIVE_STEPS = [...TINY, "--epochs", "3", "--batch", String(BATCH), "--max-steps", "5", "--json"];

Deno.test("--backend cpu says so; --max-steps stops mid-epoch", async () => {
  const out = join(tmp, "cpu");
  const r = await ok([...FIVE_STEPS, "--backend", "cpu", "--out", out]);
  assert(
    r.stderr.includes("backend: cpu (the plain-TypeScript reference; far slower than webgpu)"),
    r.stderr,
  );
  const summary = JSON.parse(r.stdout.trimEnd().split("\n").at(-1)!);
  assertEquals([summary.steps, summary.epochs, summary.stopped, summary.backend], [
    5,
    0,
    "max-steps",
    "cpu (reference)",
  ]);
  const records = await readMetrics(join(out, "metrics.jsonl"));
  assertEquals(records.map((s) => s.step), [1, 2, 3, 4, 5], "five step records, no epoch record");
  const ck = await loadCheckpoint(join(out, "checkpoint"));
  assertEquals([ck.progress!.step, ck.progress!.epoch, ck.progress!.batchInEpoch], [5, 0, 5]);
});

webgpuTest(
  "webgpu (the default backend) trains the model the CPU reference does: five steps agree",
  async () => {
    const cpuOut = join(tmp, "cpu5"), gpuOut = join(tmp, "gpu5");
    await ok([...FIVE_STEPS, "--backend", "cpu", "--out", cpuOut]);
    const gpu = await ok([...FIVE_STEPS, "--out", gpuOut]);
    const summary = JSON.parse(gpu.stdout.trimEnd().split("\n").at(-1)!);
    assert(summary.backend.startsWith("webgpu ("), `the default backend: ${summary.backend}`);
    const losses = async (out: string) =>
      steps(await readMetrics(join(out, "metrics.jsonl"))).map((s) => s.loss);
    // float32 kernels against the float64-summing reference, in different orders: rtol 1e-5.
    assertAllClose(await losses(gpuOut), await losses(cpuOut), {
      atol: 0,
      rtol: 1e-5,
      what: "webgpu vs cpu loss",
    });
  },
);

Deno.test("--init FILE starts from its weights: the first step's loss is theirs (cpu)", async () => {
  const data = buildDataset({ source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() }, {
    window: 2,
    minCount: 1,
    valFraction: 0,
    seed: 0,
  });
  const cfg: ModelConfig = { vocab: data.vocab.length, embed: 4, hidden: 8, layers: 2, window: 2 };
  const weights = join(tmp, "init_weights");
  const params = initParams(cfg, 42); // not what the run's own seed would draw
  await saveCheckpoint(weights, { config: cfg, vocab: data.vocab, params });
  const out = join(tmp, "from_init");
  const args = ["--init", join(weights, "model.safetensors"), "--no-shuffle", "--max-steps", "1"];
  await ok([...TINY, ...args, "--batch", String(BATCH), "--backend", "cpu", "--out", out, "--quiet"]);
  const [first] = steps(await readMetrics(join(out, "metrics.jsonl")));
  // Step 1 is the first BATCH pairs in file order, on the given weights before any update.
  const cpu = await createCpuBackend(cfg);
  await cpu.setParams(params);
  const want = await cpu.evalLoss(
    data.train.inputs.subarray(0, BATCH * 2),
    data.train.targets.subarray(0, BATCH),
    BATCH,
  );
  cpu.destroy();
  assertAllClose([first.loss!], [want], {
    atol: 0,
    rtol: 1e-12,
    what: "step 1 loss from the --init weights",
  });
});

backendTests(
  (backend) =>
    `--val-fraction 0.2 (${backend}): val_loss and val_ppl in epoch records, best/ holds the lowest`,
  async (backend) => {
    const out = join(tmp, `val_${backend}`);
    await okWithValidation(out, 2, backend);
    const epochRecs = epochs(await readMetrics(join(out, "metrics.jsonl")));
    assertEquals(epochRecs.map((e) => e.epoch), [1, 2]);
    for (const e of epochRecs) {
      assert(Number.isFinite(e.val_loss), JSON.stringify(e));
      assertAllClose([e.val_ppl!], [Math.exp(e.val_loss!)], { atol: 0, rtol: 1e-12, what: "val_ppl" });
    }
    const vals = epochRecs.map((e) => e.val_loss!);
    const bestEpoch = vals.indexOf(Math.min(...vals)) + 1;
    const best = await loadCheckpoint(join(out, "best"));
    assertEquals([best.progress!.epoch, best.progress!.bestVal], [bestEpoch, Math.min(...vals)]);
    assertFinite(best, "best");
    // The recorded validation loss is best/'s model's: recompute it on the CPU reference from the same split.
    const data = buildDataset({ source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() }, {
      window: 2,
      minCount: 1,
      valFraction: 0.2,
      seed: 0,
    });
    assertEquals(best.vocab, data.vocab);
    const cpu = await createCpuBackend(best.config);
    await cpu.setParams(best.params);
    const loss = await cpu.evalLoss(data.val.inputs, data.val.targets, data.val.count);
    cpu.destroy();
    // WebGPU's forward vs the float64-accumulating reference: agreement to 1e-5 relative (the CPU's own
    // evaluation, in the same order, agrees exactly).
    const tol = backend === "webgpu" ? 1e-5 : 0;
    assertAllClose([loss], [best.progress!.bestVal!], { atol: 0, rtol: tol, what: "best val loss on cpu" });
  },
);

Deno.test("--force replaces another run's files; without it the run is refused (see the bad-input table)", async () => {
  const out = join(tmp, "forced");
  await okWithValidation(out, 1, "cpu");
  assert(await exists(join(out, "best")));
  await ok([
    ...TINY,
    "--max-steps",
    "2",
    "--batch",
    String(BATCH),
    "--backend",
    "cpu",
    "--out",
    out,
    "--force",
    "--quiet",
  ]);
  assert(!(await exists(join(out, "best"))), "the old run's best/ is gone");
  assertEquals((await readMetrics(join(out, "metrics.jsonl"))).map((r) => r.step), [1, 2]);
  assertEquals((await loadCheckpoint(join(out, "checkpoint"))).progress!.step, 2);
});

backendTests(
  (backend) => `a NaN loss (${backend}) stops the run with one line and keeps the last good checkpoint`,
  async (backend) => {
    const out = join(tmp, `nan_${backend}`);
    await okTiny(out, backend, 1, "--quiet");
    const good = await loadCheckpoint(join(out, "checkpoint"));
    // Adam moves every weight by about lr a step: at 1e30 the second step's logits overflow.
    const r = await train(["--resume", out, "--lr", "1e30", "--epochs", "3", "--quiet"]);
    const line = errorLine(r, "nan", ERROR);
    assertEquals(r.code, 1, line);
    const m = line.match(
      /loss became NaN at step (\d+) \(epoch 2\): stopping; the last good checkpoint is (.*); /,
    );
    assert(m, line);
    assert(Number(m[1]) > STEPS_PER_EPOCH, line);
    assertEquals(m[2], join(out, "checkpoint"));
    const kept = await loadCheckpoint(join(out, "checkpoint"));
    assertFinite(kept, "kept checkpoint");
    assertEquals([kept.progress, kept.params, kept.optimizer], [good.progress, good.params, good.optimizer]);
    assert(!(await exists(join(out, ".lock"))), "the lock is released");

    // With no checkpoint saved yet, the message says so and none appears.
    const fresh = join(tmp, `nan_fresh_${backend}`);
    const f = await train([...TINY, "--lr", "1e30", "--backend", backend, "--out", fresh, "--quiet"]);
    assertEquals(f.code, 1);
    assert(
      /loss became NaN at step \d+ \(epoch 1\): .*none \(no checkpoint was saved yet\)/.test(
        errorLine(f, "fresh", ERROR),
      ),
      f.stderr,
    );
    assert(!(await exists(join(fresh, "checkpoint"))), "no checkpoint of NaN weights");
  },
);

backendTests(
  (backend) => `an infinite loss (${backend}) stops the run with one line and keeps the last good checkpoint`,
  async (backend) => {
    // The real training path to +Inf: a checkpoint (one epoch, then these weights written into it) whose
    // logits are finite for word 0 and -Inf for every other word: fc1's output is 1 everywhere (weights 0,
    // bias 1), so fc2's row t gives V * -1e35 + bias -FLT_MAX, past float32's range. A batch whose targets are
    // not all 0 then costs log(sum exp) - (-Inf) = +Inf, in float32 (WebGPU) and float64 (CPU) alike, at the
    // first step after the resume.
    const out = join(tmp, `inf_${backend}`);
    await okTiny(out, backend, 1, "--quiet");
    const ck = await loadCheckpoint(join(out, "checkpoint"));
    const layout = paramLayout(ck.config);
    view(ck.params, layout.get("fc1.weight")).fill(0);
    view(ck.params, layout.get("fc1.bias")).fill(1);
    const w2 = view(ck.params, layout.get("fc2.weight")).fill(-1e35);
    w2.fill(0, 0, ck.config.vocab); // row 0: word 0's logit is 0
    const b2 = view(ck.params, layout.get("fc2.bias")).fill(-3.4028234663852886e38); // -FLT_MAX
    b2[0] = 0;
    await saveCheckpoint(join(out, "checkpoint"), ck);

    const r = await train(["--resume", out, "--epochs", "2", "--quiet"]);
    const line = errorLine(r, "inf", ERROR);
    assertEquals(r.code, 1, line);
    assertEquals(
      line,
      `${ERROR}loss became Infinity at step ${
        STEPS_PER_EPOCH + 1
      } (epoch 2): stopping; the last good checkpoint ` +
        `is ${join(out, "checkpoint")}; try a lower --lr`,
    );
    const kept = await loadCheckpoint(join(out, "checkpoint"));
    assertEquals([kept.progress, kept.params, kept.optimizer], [ck.progress, ck.params, ck.optimizer]);
    assertEquals(
      steps(await readMetrics(join(out, "metrics.jsonl"))).length,
      STEPS_PER_EPOCH,
      "no record of Inf",
    );
    assert(!(await exists(join(out, ".lock"))), "the lock is released");
  },
);

Deno.test("--data on a prepared directory takes its window and min-count when those flags are not given", async () => {
  const prepared = join(tmp, "prepared_w3");
  const prep = await runDeno(
    [
      "run",
      "--allow-read",
      "--allow-write",
      fileURLToPath(new URL("../scripts/prepare.ts", import.meta.url)),
      "--window",
      "3",
      "--min-count",
      "2",
      "--out",
      prepared,
      "--json",
    ],
    { cwd: CWD },
  );
  assertEquals(prep.code, 0, prep.stderr);
  const summary = JSON.parse(prep.stdout.trim().split("\n").at(-1)!);
  const out = join(tmp, "from_prepared");
  const r = await ok([
    ...TINY_CPU,
    "--data",
    prepared,
    "--epochs",
    "1",
    "--batch",
    String(BATCH),
    "--out",
    out,
    "--json",
  ]);
  const ck = await loadCheckpoint(join(out, "checkpoint"));
  assertEquals(ck.config.window, 3);
  assertEquals(ck.vocab.length, summary.vocab);
  assertEquals(JSON.parse(r.stdout.trim().split("\n").at(-1)!).steps, Math.ceil(summary.pairs / BATCH));
});
