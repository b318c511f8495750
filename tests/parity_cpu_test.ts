/**
 * Parity of the CPU Backend with the PyTorch run in ../shared/data/parity/apr2017-seed0 (see its README):
 * same initial weights, the April 2017 pairs in file order, batch 64, Adam lr 1e-3. The default test runs
 * the first 10 steps and compares their losses; PARITY_FULL=1 runs all 63 and compares the final weights.
 * Skips visibly when the fixture or the CSV is absent.
 */
import { join } from "node:path";
import { ADAM_DEFAULTS } from "../src/model/optimizer.ts";
import { createCpuBackend } from "../src/cpu/backend.ts";
import { loadDataset } from "../src/deno/data_files.ts";
import type { Tensor } from "../src/io/safetensors.ts";
import { readSafetensors } from "../src/deno/checkpoint_files.ts";
import { DEFAULT_MODEL, type ModelConfig } from "../src/model/config.ts";
import { paramLayout, view } from "../src/model/layout.ts";
import { assert, assertAllClose, assertEquals } from "./assert.ts";
import { haveFiles, SHARED_DATA } from "./fs_harness.ts";

const PARITY_DIR = join(SHARED_DATA, "parity/apr2017-seed0");
const CSV = join(SHARED_DATA, "nyt/ArticlesApril2017.csv");
const BATCH = 64;
const FULL = Deno.env.get("PARITY_FULL") === "1";

const haveParity = haveFiles("parity tests", [
  ...["init.safetensors", "final.safetensors", "steps.json", "vocab.json"].map((f) => join(PARITY_DIR, f)),
  CSV,
]);
if (!FULL) console.warn("parity: full 63-step run and final-weight comparison ignored (set PARITY_FULL=1)");

/** PyTorch state_dict tensors placed into the flat layout (shapes checked, padding left 0). */
async function readFlat(cfg: ModelConfig, file: string): Promise<Float32Array> {
  const { tensors } = await readSafetensors(join(PARITY_DIR, file), { finite: true });
  const layout = paramLayout(cfg);
  const flat = new Float32Array(layout.total);
  assertEquals([...tensors.keys()].sort(), layout.tensors.map((t) => t.name).sort());
  for (const spec of layout.tensors) {
    const t: Tensor = tensors.get(spec.name)!;
    assertEquals([t.dtype, t.shape], ["F32", spec.shape], `${spec.name} dtype and shape`);
    view(flat, spec).set(t.data as Float32Array);
  }
  return flat;
}

/** Runs `steps` optimizer steps from PyTorch's initial weights; returns our losses, theirs, and params. */
async function runParity(steps: number) {
  // The notebook's data: window 2, every word (min count 1), no validation split, pairs in file order.
  const dataset = await loadDataset({ data: CSV, window: DEFAULT_MODEL.window, minCount: 1, valFraction: 0 });
  const torchVocab: string[] = JSON.parse(await Deno.readTextFile(join(PARITY_DIR, "vocab.json")));
  assertEquals(dataset.vocab, torchVocab, "vocabulary equals the PyTorch run's");
  const { inputs, targets, count } = dataset.train;
  assertEquals(Math.ceil(count / BATCH), 63, "63 batches of 64 (the last one shorter)");

  const cfg: ModelConfig = { vocab: torchVocab.length, ...DEFAULT_MODEL };
  const backend = await createCpuBackend(cfg);
  await backend.setParams(await readFlat(cfg, "init.safetensors"));
  await backend.setTrainData(inputs, targets, count);
  await backend.setOrder(Int32Array.from({ length: count }, (_, i) => i));
  const started = performance.now();
  for (let s = 0; s < steps; s++) {
    const start = s * BATCH;
    backend.trainStep(start, Math.min(BATCH, count - start), ADAM_DEFAULTS);
  }
  const losses = await backend.takeLosses();
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `parity: ${steps} CPU steps in ${seconds.toFixed(1)} s (${(seconds / steps).toFixed(2)} s/step)`,
  );
  const torchLosses: number[] = JSON.parse(await Deno.readTextFile(join(PARITY_DIR, "steps.json"))).losses;
  const params = await backend.getParams();
  backend.destroy();
  return { cfg, losses, torchLosses: torchLosses.slice(0, steps), params };
}

function reportLosses(losses: number[], torchLosses: number[]): void {
  const rel = losses.map((l, i) => Math.abs(l - torchLosses[i]) / Math.abs(torchLosses[i]));
  const worst = rel.indexOf(Math.max(...rel));
  console.log(
    `parity: max relative loss difference ${rel[worst].toExponential(2)} at step ${worst + 1} ` +
      `(ours ${losses[worst]}, torch ${torchLosses[worst]})`,
  );
}

// PyTorch sums float32 GEMMs in blocked float32 order, we sum in float64: logits differ by ~1e-7 relative
// at step 1 and training carries such differences forward. Observed: 8e-8 over 10 steps, 4e-6 over 63.
const LOSS_RTOL = 1e-5;

// Final weights, after 63 steps. Rounding-level differences grow to ~1e-4 (observed: LSTM <= 8e-5,
// embedding 3e-4), hence WEIGHT_ATOL. One mechanism parts weights further: when an fc1 unit's
// pre-activation lies within rounding of 0 (observed: units whose whole batch sits within 2e-5 of 0 when
// Adam drags their bias across it), the unit is ReLU-active in one run and not the other; Adam normalises
// the gradient, so that unit's fc1 row, fc1 bias and fc2 column then take step-sized (~lr) moves in one
// run only, decaying with beta1 over the next ~10 steps. Observed: unit 280 parts by up to 6e-3, units 192
// and 2295 by 1e-4..5e-4 (all three among the units whose batch our run put within 2e-5 of the kink, in
// steps 53, 41 and 55); fc1/fc2 weights of other units part by < 7e-5. Such units may differ by up to
// PARTED_ATOL (< 63 steps · lr); there may be few of them; everything else must be within WEIGHT_ATOL.
const WEIGHT_ATOL = 5e-4;
const PARTED_ATOL = 1e-2;
const MAX_PARTED_UNITS = 8;

Deno.test({
  name: "parity: first 10 steps' losses equal PyTorch's (rtol 1e-5)",
  ignore: !haveParity,
  fn: async () => {
    const { losses, torchLosses } = await runParity(10);
    reportLosses(losses, torchLosses);
    assertAllClose(losses, torchLosses, { atol: 0, rtol: LOSS_RTOL, what: "losses" });
  },
});

Deno.test({
  name: "parity (PARITY_FULL=1): 63 steps' losses and the final weights equal PyTorch's",
  ignore: !haveParity || !FULL,
  fn: async () => {
    const { cfg, losses, torchLosses, params } = await runParity(63);
    reportLosses(losses, torchLosses);
    assertAllClose(losses, torchLosses, { atol: 0, rtol: LOSS_RTOL, what: "losses" });
    const final = await readFlat(cfg, "final.safetensors");
    const layout = paramLayout(cfg);
    const V = cfg.vocab;
    const diffs = new Map(layout.tensors.map((spec) => {
      const ours = view(params, spec), theirs = view(final, spec);
      return [spec.name, Float64Array.from(ours, (x, i) => Math.abs(x - theirs[i]))];
    }));
    for (const [name, d] of diffs) {
      console.log(
        `parity: ${name} max |ours - torch| = ${d.reduce((a, b) => Math.max(a, b)).toExponential(2)}`,
      );
    }

    // fc1 units whose row, bias or fc2 column differ by more than WEIGHT_ATOL.
    const fc1w = diffs.get("fc1.weight")!, fc1b = diffs.get("fc1.bias")!, fc2w = diffs.get("fc2.weight")!;
    const inputs = cfg.window * cfg.hidden;
    const parted = new Set<number>();
    for (let u = 0; u < V; u++) {
      let worst = fc1b[u];
      for (let i = 0; i < inputs; i++) worst = Math.max(worst, fc1w[u * inputs + i]);
      for (let o = 0; o < V; o++) worst = Math.max(worst, fc2w[o * V + u]);
      if (worst > WEIGHT_ATOL) parted.add(u);
    }
    console.log(`parity: fc1 units whose weights parted from torch's: ${[...parted].join(", ") || "none"}`);
    assert(parted.size <= MAX_PARTED_UNITS, `${parted.size} fc1 units parted (at most ${MAX_PARTED_UNITS})`);
    for (const [name, d] of diffs) {
      const inPartedUnit = (i: number) =>
        name === "fc1.weight"
          ? parted.has(Math.floor(i / inputs))
          : name === "fc1.bias"
          ? parted.has(i)
          : name === "fc2.weight" && parted.has(i % V);
      for (let i = 0; i < d.length; i++) {
        const atol = inPartedUnit(i) ? PARTED_ATOL : WEIGHT_ATOL;
        if (!(d[i] <= atol)) {
          throw new Error(`${name}[${i}] differs from torch's by ${d[i]} (atol ${atol})`);
        }
      }
    }
  },
});
