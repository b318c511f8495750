/**
 * `deno task eval` end to end: the script run as a subprocess on tiny models made here, its scores checked
 * against the CPU reference model and add-k counts computed here another way (a dense count matrix, ranks by
 * sorting), its unknown-word counts against counts by hand; WebGPU against the CPU reference; every bad input
 * one stderr line, a non-zero exit and nothing on stdout.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { assert, assertAllClose, assertEquals } from "./assert.ts";
import { assertFailed, type Run, runDeno, taskRun } from "./cli_harness.ts";
import type { ModelConfig } from "../src/model/config.ts";
import { initParams } from "../src/model/init.ts";
import { modelForward } from "../src/cpu/model.ts";
import { saveCheckpoint } from "../src/deno/checkpoint_files.ts";
import { loadDataset, writePrepared } from "../src/deno/data_files.ts";
import type { PairSet } from "../src/data/types.ts";
import { exists } from "../src/deno/fs.ts";
import { webgpuTest } from "./gpu_harness.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const TEXT = join(FIXTURES, "text");
const MINI = join(FIXTURES, "nyt_mini");

const tmp = await Deno.makeTempDir({ prefix: "eval_cli_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

// A boundaries model for a prepared split of nyt_mini and tests/fixtures/text: its vocabulary is the
// prepared directory's, so that directory's validation split can be scored.
const PREPARED = join(tmp, "prepared");
const DS = await loadDataset({ data: MINI, boundaries: true, valFraction: 0.4, seed: 2, minCount: 1 });
await writePrepared(PREPARED, DS);
const CONFIG: ModelConfig = { vocab: DS.vocab.length, embed: 4, hidden: 6, layers: 2, window: 2 };
const PARAMS = initParams(CONFIG, 9);
const MODEL = join(tmp, "model");
await saveCheckpoint(join(MODEL, "checkpoint"), { config: CONFIG, vocab: DS.vocab, params: PARAMS });
// A model with <unk> (nyt_mini at --min-count 2: <s> </s> <unk> trump the deal), notebook pairs.
const UNK_VOCAB = ["<unk>", "trump", "the", "deal"];
const UNK_CONFIG: ModelConfig = { ...CONFIG, vocab: UNK_VOCAB.length };
const UNK_MODEL = join(tmp, "unk_model");
await saveCheckpoint(UNK_MODEL, { config: UNK_CONFIG, vocab: UNK_VOCAB, params: initParams(UNK_CONFIG, 4) });

function evaluate(args: string[]): Promise<Run> {
  return runDeno([...taskRun("eval"), ...args]);
}

async function ok(args: string[]): Promise<string> {
  const r = await evaluate(args);
  assertEquals(r.code, 0, `eval ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

const CPU = ["--backend", "cpu"];

/** Scores computed here: the model's through the CPU reference, ranks by sorting whole rows. */
function expectedScores(pairs: PairSet, predict: (i: number) => number[]) {
  let nll = 0;
  let top1 = 0;
  let top5 = 0;
  for (let i = 0; i < pairs.count; i++) {
    const logProbs = predict(i);
    const t = pairs.targets[i];
    const order = logProbs.map((_, w) => w).sort((a, b) => logProbs[b] - logProbs[a] || a - b);
    nll -= logProbs[t];
    if (order[0] === t) top1++;
    if (order.slice(0, 5).includes(t)) top5++;
  }
  const loss = nll / pairs.count;
  return {
    pairs: pairs.count,
    loss,
    perplexity: Math.exp(loss),
    top1: top1 / pairs.count,
    top5: top5 / pairs.count,
  };
}

function modelLogProbs(pairs: PairSet, i: number): number[] {
  const logits = Array.from(modelForward(CONFIG, PARAMS, pairs.inputs.subarray(2 * i, 2 * i + 2), 1).logits);
  const max = Math.max(...logits);
  const logSum = Math.log(logits.reduce((a, l) => a + Math.exp(l - max), 0));
  return logits.map((l) => l - max - logSum);
}

/** Add-k unigram and bigram log-probabilities from a dense count matrix of the training pairs. */
function ngramLogProbs(train: PairSet, V: number, k: number) {
  const uni = new Array(V).fill(0);
  const bi = Array.from({ length: V }, () => new Array(V).fill(0));
  for (let i = 0; i < train.count; i++) {
    uni[train.targets[i]]++;
    bi[train.inputs[2 * i + 1]][train.targets[i]]++;
  }
  const rowSum = bi.map((row) => row.reduce((a, b) => a + b, 0));
  return {
    unigram: () => uni.map((c) => Math.log((c + k) / (train.count + k * V))),
    bigram: (prev: number) => bi[prev].map((c) => Math.log((c + k) / (rowSum[prev] + k * V))),
  };
}

function assertScores(got: Record<string, number>, want: Record<string, number>, what: string): void {
  assertEquals(got.pairs, want.pairs, `${what}: pairs`);
  const keys = ["loss", "perplexity", "top1", "top5"];
  assertAllClose(keys.map((k) => got[k]), keys.map((k) => want[k]), { atol: 1e-9, rtol: 1e-9, what });
}

Deno.test("--help prints the usage with the default k", async () => {
  const r = await evaluate(["--help"]);
  assertEquals([r.code, r.stderr], [0, ""]);
  assert(r.stdout.includes("usage: deno task eval --model DIR --data PATH"), r.stdout);
  assert(r.stdout.includes("(default 0.01)"), "help states k's default");
});

Deno.test("a prepared directory: its validation split scored, baselines from its training split, by hand", async () => {
  assert(DS.val.count > 0 && DS.train.count > 0);
  for (const k of [undefined, "0.5"]) {
    const report = JSON.parse(
      await ok(["--model", MODEL, "--data", PREPARED, ...CPU, "--json", ...(k ? ["--k", k] : [])]),
    );
    assertEquals(report.data, `${PREPARED} (validation split)`);
    assertScores(report.scores, expectedScores(DS.val, (i) => modelLogProbs(DS.val, i)), "model");
    const kk = Number(k ?? 0.01);
    const ngrams = ngramLogProbs(DS.train, DS.vocab.length, kk);
    assertEquals([report.baselines.k, report.baselines.pairs], [kk, DS.train.count]);
    assertEquals(report.baselines.source, `${PREPARED} (training split)`);
    assertScores(report.baselines.unigram, expectedScores(DS.val, () => ngrams.unigram()), "unigram");
    assertScores(
      report.baselines.bigram,
      expectedScores(DS.val, (i) => ngrams.bigram(DS.val.inputs[2 * i + 1])),
      "bigram",
    );
    const c = DS.valCoverage!;
    assertEquals(report.words, {
      tokens: c.tokens,
      unknown_tokens: c.unknownTokens,
      unknown_words: c.unknownWords,
      skipped_pairs: c.skippedPairs,
    });
  }
  const text = await ok(["--model", MODEL, "--data", PREPARED, ...CPU]);
  assert(
    text.startsWith(
      `model: ${MODEL} (window 2, vocabulary ${DS.vocab.length}, embed 4, hidden 6, 2 layers, headline boundaries)\n`,
    ),
    text,
  );
  assert(/^model +\d+\.\d{4} +\d+\.\d{2} +\d+\.\d%/m.test(text), text);
  assert(/^bigram, k 0\.01 +\d/m.test(text), text);
});

Deno.test("CSV and .txt data: pairs made the model's way; unknown words counted, read as <unk> or left out", async () => {
  // headlines.txt: "mayor approves new budget" / "storm hits new york" / "mayor rejects the budget": of 12
  // words only "the" is in UNK_VOCAB; 8 distinct words are not. Notebook pairs: 2 per headline, all kept.
  const withUnk = JSON.parse(
    await ok(["--model", UNK_MODEL, "--data", join(TEXT, "headlines.txt"), ...CPU, "--json"]),
  );
  assertEquals(withUnk.words, {
    tokens: 12,
    unknown_tokens: 11,
    unknown_words: 8,
    skipped_pairs: 0,
    most_frequent_unknown: ["mayor", "new", "budget", "approves", "storm", "hits", "york", "rejects"],
  });
  assertEquals([withUnk.scores.pairs, withUnk.baselines], [6, undefined]);
  const text = await ok(["--model", UNK_MODEL, "--data", join(TEXT, "headlines.txt"), ...CPU]);
  assert(
    text.includes(
      "words: 12, 11 unknown to the model (91.7%, 8 distinct), read as <unk>; most frequent: mayor,",
    ),
    text,
  );
  assert(text.includes("baselines: none (give --train-data"), text);
  // The boundaries model has no <unk>: pairs touching unknown words are left out and counted. ArticlesB.csv
  // "the deal again trump wins" and "unknown soldier found" are all known words of nyt_mini's vocabulary
  // except those the split held out.
  const csv = JSON.parse(
    await ok([
      "--model",
      MODEL,
      "--data",
      join(MINI, "ArticlesB.csv"),
      "--train-data",
      PREPARED,
      ...CPU,
      "--json",
    ]),
  );
  const held = ["the", "deal", "again", "trump", "wins", "unknown", "soldier", "found"].filter((w) =>
    !DS.vocab.includes(w)
  );
  assertEquals([csv.words.tokens, csv.words.unknown_tokens], [8, held.length]);
  assertEquals(csv.baselines.source, `${PREPARED} (training split)`);
  // A directory, --column: titles.csv's "title" column beside the .txt files.
  const dir = JSON.parse(
    await ok(["--model", UNK_MODEL, "--data", TEXT, "--column", "title", ...CPU, "--json"]),
  );
  assertEquals([dir.data, dir.words.tokens], [`3 files in ${TEXT}`, 12 + 4 + 4 + 3]);
});

webgpuTest("webgpu scores equal the CPU reference's within 1e-4", async () => {
  const args = ["--model", MODEL, "--data", PREPARED, "--json"];
  const gpu = JSON.parse(await ok([...args, "--backend", "webgpu"]));
  const cpu = JSON.parse(await ok([...args, ...CPU]));
  const keys = ["loss", "perplexity", "top1", "top5"];
  assertAllClose(keys.map((k) => gpu.scores[k]), keys.map((k) => cpu.scores[k]), { atol: 1e-4, rtol: 0 });
  assertEquals(gpu.baselines, cpu.baselines);
});

Deno.test("bad input: one stderr line each, non-zero exit, nothing on stdout", async () => {
  const err = (what: string) => new RegExp(`^eval: error: ${what}`);
  const fails = async (args: string[], pattern: RegExp) =>
    assertFailed(await evaluate(args), `eval ${args.join(" ")}`, pattern);
  const noVal = join(tmp, "no_val");
  const none = { inputs: new Int32Array(0), targets: new Int32Array(0), count: 0 };
  await writePrepared(noVal, { ...DS, valFraction: 0, val: none });
  const other = join(tmp, "other_vocab");
  await writePrepared(other, await loadDataset({ data: TEXT, boundaries: true, valFraction: 0.5 }));
  const empty = join(tmp, "empty.txt");
  await Deno.writeTextFile(empty, "\n\n");
  const binary = join(tmp, "binary.txt");
  await Deno.writeFile(binary, Uint8Array.of(0x1f, 0x8b, 0x08, 0x00, 0x00));
  const strangers = join(tmp, "strangers.txt");
  await Deno.writeTextFile(strangers, "zebra yak\nokapi\n");
  const m = ["--model", MODEL, ...CPU];
  await fails([...CPU, "--data", PREPARED], err("--model DIR is required"));
  await fails(["--model", MODEL], err("--data PATH is required"));
  await fails([...m, "--data", PREPARED, "--k", "0"], err(`--k must be a positive number, got "0"`));
  await fails([...m, "--data", PREPARED, "--bogus"], err("Unknown option '--bogus'"));
  await fails(
    [...m, "--data", noVal],
    err(`${noVal} has no validation pairs \\(prepared with --val-fraction 0\\)`),
  );
  await fails([...m, "--data", other], err(`${other} was prepared with another vocabulary than the model's`));
  await fails(
    [...m, "--data", strangers],
    err(`strangers.txt: no pair the model can score: 5 pairs touch words the model does not know`),
  );
  await fails(
    ["--model", UNK_MODEL, ...CPU, "--data", join(MINI, "ArticlesA.csv"), "--column", "nope"],
    err(`ArticlesA.csv has no "nope" column`),
  );
  await fails([...m, "--data", empty], err(`empty.txt is empty$`));
  await fails([...m, "--data", binary], err(`binary.txt line 1: a NUL byte: binary data, not text$`));
  await fails(
    [...m, "--data", join(MODEL, "checkpoint", "model.safetensors")],
    err(`model.safetensors line 1: not UTF-8 text$`),
  );
  await fails(
    [...m, "--data", PREPARED, "--train-data", strangers],
    err(`--train-data strangers.txt: no pair the model can score`),
  );
  await fails([...m, "--data", join(tmp, "nowhere")], err(`data path .*nowhere does not exist`));
  await fails(
    ["--model", join(tmp, "nowhere"), ...CPU, "--data", PREPARED],
    err(`checkpoint .*nowhere: no such directory`),
  );
  assert(!(await exists(join(tmp, "nowhere"))));
});
