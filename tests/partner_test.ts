/**
 * The count model beside eval's model row and as the model's partner: `deno task eval`'s Kneser-Ney row
 * equals the count model fitted and scored in the test on the same targets; `deno task partner` tunes the
 * weight that maximises the validation likelihood (checked against a grid) and stores it with the
 * checkpoint, and `eval --partner` scores the mixture as computed here word by word; a window model and a
 * headline model alike (the headline model's targets are its rows', the same words as a boundaries window
 * model's); every bad input one line.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { assert, assertAllClose, assertEquals } from "./assert.ts";
import { assertFailed, runDeno, taskRun } from "./cli_harness.ts";
import { type ModelConfig, modelKind } from "../src/model/config.ts";
import { ADAM_DEFAULTS } from "../src/model/optimizer.ts";
import { modelRows } from "../src/data/rows.ts";
import { initParams } from "../src/model/init.ts";
import { createCpuBackend } from "../src/cpu/backend.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/deno/checkpoint_files.ts";
import { loadDataset, writePrepared } from "../src/deno/data_files.ts";
import { fitKneserNey } from "../src/eval/kneser_ney.ts";
import { scoreKneserNey } from "../src/eval/kneser_ney_scores.ts";
import { headlineTargets } from "../src/eval/targets.ts";
import { modelTargets } from "../src/eval/partner.ts";
import { scoreModelRows } from "../src/eval/scores.ts";
import { logSoftmax } from "../src/sample/sampling.ts";

const CORPUS = fileURLToPath(new URL("./fixtures/parity/tiny/corpus.csv", import.meta.url));
const tmp = await Deno.makeTempDir({ prefix: "partner_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

const PREPARED = join(tmp, "prepared");
const DS = await loadDataset({ data: CORPUS, boundaries: true, valFraction: 0.3, seed: 2, minCount: 2 });
await writePrepared(PREPARED, DS);
const V = DS.vocab.length;
const MODELS: Record<string, ModelConfig> = {
  window: { vocab: V, embed: 4, hidden: 6, layers: 2, window: 2, head: 9 },
  headline: { kind: "headline", vocab: V, embed: 4, hidden: 6, layers: 2, window: 1, head: 9 },
};
const CPU = ["--backend", "cpu"];

async function run(task: string, args: string[]): Promise<string> {
  const r = await runDeno([...taskRun(task), ...args]);
  assertEquals(r.code, 0, `${task} ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** Per validation target: the model's log-probabilities and the count model's probabilities. */
async function targetRows(cfg: ModelConfig, params: Float32Array) {
  const backend = await createCpuBackend(cfg);
  await backend.setParams(params);
  const headlines = DS.headlineIds!.val;
  const rows: Array<{ model: Float64Array; target: number }> = [];
  await scoreModelRows(backend, { pairs: DS.val, headlines }, (logits, target) => {
    rows.push({ model: logSoftmax(logits), target });
  });
  backend.destroy();
  const kn = fitKneserNey({ headlines: DS.headlineIds!.train, vocab: V, boundaries: true }, { order: 3 });
  const targets = modelTargets(headlines, cfg, DS.vocab);
  assertEquals(targets.count, rows.length, "the count model scores the model's targets");
  assertEquals(Array.from(targets.target), rows.map((r) => r.target), "in the model's order");
  const count = rows.map((_, i) =>
    kn.distribution(kn.history(headlines[targets.headline[i]], targets.position[i]))
  );
  return { rows, count, kn, targets };
}

/** Mixture log-likelihood per target for weight w, in float64. */
function meanLoss(rows: Array<{ model: Float64Array; target: number }>, count: Float64Array[], w: number) {
  let sum = 0;
  rows.forEach((r, i) => sum -= Math.log(w * Math.exp(r.model[r.target]) + (1 - w) * count[i][r.target]));
  return sum / rows.length;
}

/** A few CPU training steps on the training split: a model that has learnt something of the words. */
async function trained(cfg: ModelConfig): Promise<Float32Array> {
  const backend = await createCpuBackend(cfg);
  await backend.setParams(initParams(cfg, 3));
  const rows = modelRows(DS, modelKind(cfg), "train");
  await backend.setTrainData(rows.inputs, rows.targets, rows.count);
  for (let s = 0; s < 100; s++) backend.trainStep(0, rows.count, { ...ADAM_DEFAULTS, lr: 0.02 });
  await backend.takeLosses();
  const params = await backend.getParams();
  backend.destroy();
  return params;
}

for (const [kind, cfg] of Object.entries(MODELS)) {
  Deno.test(`eval and partner (${kind} model): the Kneser-Ney row, the tuned weight and the mixture`, async () => {
    const params = await trained(cfg);
    const dir = join(tmp, `${kind}-model`);
    await saveCheckpoint(dir, { config: cfg, vocab: DS.vocab, params });
    const { rows, count, kn, targets } = await targetRows(cfg, params);
    // The headline model scores the very words a boundaries window model scores.
    assertEquals(targets.count, headlineTargets(DS.headlineIds!.val, 2, true).count);

    const report = JSON.parse(
      await run("eval", [...CPU, "--model", dir, "--data", PREPARED, "--kn-order", "3", "--json"]),
    );
    const knRow = report.baselines.kneser_ney;
    assertEquals([knRow.order, knRow.discount], [3, "modified"]);
    const want = scoreKneserNey(kn, DS.headlineIds!.val, targets);
    assertAllClose([knRow.scores.loss, knRow.scores.top1, knRow.scores.top5], [
      want.loss,
      want.top1,
      want.top5,
    ], {
      atol: 1e-12,
      rtol: 1e-12,
    });
    assertEquals(knRow.scores.pairs, rows.length);
    assertEquals(report.scores.pairs, rows.length);

    const tuned = JSON.parse(
      await run("partner", [...CPU, "--model", dir, "--data", PREPARED, "--order", "3", "--json"]),
    );
    const w = tuned.weight;
    assert(w >= 0 && w <= 1, `a weight: ${w}`);
    // The window model's optimum is inside (0, 1) (the bisection's path); the headline model, which overfits
    // this tiny corpus, gets none of the weight (the end that a derivative of one sign gives).
    assertEquals(kind === "window" ? w > 0 && w < 1 : w === 0, true, `weight ${w}`);
    // No weight on a grid of 1e-3 beats it.
    for (let g = 0; g <= 1; g += 1e-3) {
      assert(meanLoss(rows, count, w) <= meanLoss(rows, count, g) + 1e-12, `weight ${g} beats ${w}`);
    }
    const ck = await loadCheckpoint(dir);
    assertEquals(ck.partner?.weight, w);
    assertEquals(ck.partner?.model.order, 3);
    const mixed = JSON.parse(
      await run("eval", [...CPU, "--model", dir, "--data", PREPARED, "--partner", "--json"]),
    );
    assertEquals(mixed.partner.weight, w);
    assertAllClose([mixed.partner.scores.loss], [meanLoss(rows, count, w)], { atol: 1e-12, rtol: 1e-12 });
    assertAllClose([tuned.scores.mixture.loss], [meanLoss(rows, count, w)], { atol: 1e-12, rtol: 1e-12 });
    // predict --partner: each word's probability is the mixture's, the count model reading the whole
    // prompt (<s>-framed) whatever the model's window, "<s>" never proposed (the rest renormalised).
    // A training headline's first words: contexts the count model has seen at every order.
    const ids = DS.headlineIds!.train.find((h) => h.length > 3 && !h.includes(2))!.slice(0, 3);
    const prompt = Array.from(ids, (id) => DS.vocab[id]).join(" ");
    const [line] =
      (await run("predict", [...CPU, "--model", dir, "--partner", "--top-k", "5", "--json", prompt]))
        .trim().split("\n");
    const shown = JSON.parse(line);
    const backend = await createCpuBackend(cfg);
    await backend.setParams(params);
    const context = kind === "window" ? ids.slice(-cfg.window) : Int32Array.of(0, ...ids);
    const logits = await backend.logits(context, 1);
    const last = logits.subarray(logits.length - V);
    backend.destroy();
    const lp = logSoftmax(last);
    const pc = ck.partner!.model.distribution(ck.partner!.model.history(ids, 3));
    const next = Array.from(lp, (l, v) => (v === 0 ? 0 : w * Math.exp(l) + (1 - w) * pc[v]));
    const total = next.reduce((a, b) => a + b, 0);
    const probs = shown.words.map((word: string) => next[DS.vocab.indexOf(word)] / total);
    assertAllClose(shown.probabilities, probs, { atol: 1e-6, rtol: 1e-5, what: "predict --partner" });
    const best = next.map((p, v) => [p, v]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 5);
    assertEquals(shown.words, best.map(([, v]) => DS.vocab[v]));
    // Training on saves the checkpoint anew: the partner, tuned for the old weights, is gone.
    await saveCheckpoint(dir, { config: cfg, vocab: DS.vocab, params });
    assertEquals((await loadCheckpoint(dir)).partner, undefined);
  });
}

Deno.test("partner and eval --partner: bad input is one line", async () => {
  const cfg = MODELS.window;
  const dir = join(tmp, "bad-model");
  await saveCheckpoint(dir, { config: cfg, vocab: DS.vocab, params: initParams(cfg, 1) });
  const fails = async (task: string, args: string[], message: RegExp) =>
    assertFailed(await runDeno([...taskRun(task), ...args]), `${task} ${args.join(" ")}`, message);
  await fails(
    "eval",
    [...CPU, "--model", dir, "--data", PREPARED, "--partner"],
    /has no partner \(deno task partner/,
  );
  await fails("predict", [...CPU, "--model", dir, "--partner", "x"], /has no partner \(deno task partner/);
  await fails(
    "partner",
    [...CPU, "--model", dir, "--data", CORPUS],
    /give the prepared directory the model was trained on/,
  );
  await fails("partner", [...CPU, "--model", dir, "--data", join(tmp, "none")], /does not exist/);
  const noSplit = join(tmp, "no-split");
  const whole = await loadDataset({ data: CORPUS, boundaries: true, minCount: 2 });
  await writePrepared(noSplit, whole);
  await fails("partner", [...CPU, "--model", dir, "--data", noSplit], /prepared with another vocabulary/);
  const wholeModel = join(tmp, "whole-model");
  const wholeCfg = { ...cfg, vocab: whole.vocab.length };
  await saveCheckpoint(wholeModel, { config: wholeCfg, vocab: whole.vocab, params: initParams(wholeCfg, 1) });
  await fails("partner", [...CPU, "--model", wholeModel, "--data", noSplit], /has no validation pairs/);
  await fails(
    "partner",
    [...CPU, "--model", dir, "--data", PREPARED, "--discount", "1.5"],
    /--discount must be in \(0, 1\]/,
  );
  await fails("eval", [...CPU, "--model", dir, "--data", PREPARED, "--kn-discount", "0"], /--kn-discount/);
  // A damaged count model file is named, in one line.
  await run("partner", [...CPU, "--model", dir, "--data", PREPARED]);
  await Deno.writeFile(join(dir, "kneser_ney.bin"), new Uint8Array(10));
  await fails("eval", [...CPU, "--model", dir, "--data", PREPARED], /kneser_ney\.bin/);
});
