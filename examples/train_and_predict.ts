/**
 * Train a next-word model on an array of headlines and ask it for next words, through the package's Deno
 * entry only (`@webgpu-lstm/webgpu-lstm`, mod.ts in this repository): the data from strings, a backend,
 * training into a run directory (checkpoint/, metrics.jsonl, loss.svg), then the saved checkpoint loaded
 * back and asked for each prompt's three most likely next words.
 *
 *   deno run --allow-read --allow-write --allow-env examples/train_and_predict.ts [--backend cpu] [--out DIR]
 *
 * Without --out the run directory is a temporary one, removed at the end. WebGPU is the default backend;
 * `--backend cpu` runs the plain-TypeScript reference instead.
 */
import { parseArgs } from "node:util";
import {
  buildDataset,
  completeSettings,
  encodePrompt,
  initParams,
  loadModel,
  type ModelConfig,
  openBackend,
  parseBackendKind,
  predictNext,
  specialIds,
  trainInDir,
} from "@webgpu-lstm/webgpu-lstm";

/** Headlines of a tiny language: after "beats" comes a team, after "in" a city, after a city "again". */
const TEAMS = ["knicks", "nets", "giants", "jets", "mets"];
const CITIES = ["boston", "denver", "miami"];
const HEADLINES = TEAMS.flatMap((a, i) =>
  CITIES.map((city, j) => `${a} beats ${TEAMS[(i + j + 1) % TEAMS.length]} in ${city} again`)
);
const PROMPTS = ["knicks beats", "giants in", "in boston"];

const args = parseArgs({
  args: Deno.args,
  options: { backend: { type: "string" }, out: { type: "string" } },
});
const backendKind = parseBackendKind(args.values.backend);
const out = args.values.out ?? await Deno.makeTempDir({ prefix: "webgpu-lstm-example-" });
await Deno.mkdir(out, { recursive: true }); // trainInDir writes into an existing directory

// Headlines -> vocabulary and (two words -> next word) pairs, framed by <s> and </s>.
const data = buildDataset(
  { source: "example headlines", files: [], headlines: HEADLINES },
  completeSettings({ window: 2, boundaries: true }),
);
const config: ModelConfig = { vocab: data.vocab.length, embed: 16, hidden: 32, layers: 1, window: 2 };
console.log(`${HEADLINES.length} headlines, ${data.vocab.length} words, ${data.train.count} pairs`);

const trainer = await openBackend(backendKind, config, { maxBatch: 16, say: console.log });
try {
  const result = await trainInDir(trainer, data, { params: initParams(config, 0) }, {
    out,
    quiet: true,
    epochs: 60,
    batch: 16,
    lr: 0.01,
    seed: 0,
    shuffle: true,
    saveEvery: 60,
    logEvery: 10,
    flags: {},
  });
  console.log(`trained: ${result.steps} steps, last epoch's loss ${result.lastEpochLoss.toFixed(4)}; ${out}`);
} finally {
  trainer.destroy();
}

// The model as any reader of the run directory finds it (deno task predict --model DIR reads the same).
const model = await loadModel(out);
const predictor = await openBackend(backendKind, model.config, { maxBatch: PROMPTS.length });
try {
  await predictor.setParams(model.params);
  const prompts = PROMPTS.map((text) => encodePrompt(text, model.vocab, model.config.window));
  const next = await predictNext(predictor, prompts.map((p) => p.context), 3, specialIds(model.vocab).banned);
  PROMPTS.forEach((text, i) => {
    const words = Array.from(next[i].ids, (id, j) => `${model.vocab[id]} ${next[i].probs[j].toFixed(4)}`);
    console.log(`"${text}" -> ${words.join(", ")}`);
  });
} finally {
  predictor.destroy();
  if (args.values.out === undefined) await Deno.remove(out, { recursive: true });
}
