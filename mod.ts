/**
 * webgpu-lstm under Deno: the platform-neutral core (`@webgpu-lstm/webgpu-lstm/core`, re-exported whole)
 * and the Deno platform around it: reading CSV and .txt data and prepared directories, checkpoints on disk
 * (written atomically), training into a run directory (checkpoints, metrics, loss plot, Ctrl-C saves), and
 * opening WebGPU or the CPU reference. The command-line tools (`deno task train`, `predict`, ...) are built
 * on these same functions.
 *
 * WebGPU under Deno needs `--allow-env` (the adapter's settings); reading and writing files need
 * `--allow-read` and `--allow-write`.
 *
 * @example Train on an array of headlines into a run directory, then predict from the saved checkpoint
 * ```ts
 * import {
 *   buildDataset,
 *   completeSettings,
 *   encodePrompt,
 *   initParams,
 *   loadModel,
 *   openBackend,
 *   predictNext,
 *   trainInDir,
 * } from "@webgpu-lstm/webgpu-lstm";
 *
 * const headlines = Array.from({ length: 12 }, (_, i) => `team ${["wins", "loses"][i % 2]} the final`);
 * const data = buildDataset({ source: "example", files: [], headlines }, completeSettings({ window: 2 }));
 * const config = { vocab: data.vocab.length, embed: 8, hidden: 16, layers: 1, window: 2 };
 * const out = await Deno.makeTempDir();
 * const training = await openBackend("cpu", config, { maxBatch: 8 });
 * await trainInDir(training, data, { params: initParams(config, 0) }, {
 *   out,
 *   quiet: true,
 *   epochs: 30,
 *   batch: 8,
 *   lr: 0.02,
 *   seed: 0,
 *   shuffle: true,
 *   saveEvery: 30,
 *   logEvery: 10,
 *   flags: {},
 * });
 * training.destroy();
 *
 * const model = await loadModel(out); // the run directory's checkpoint/
 * const backend = await openBackend("cpu", model.config, { maxBatch: 1 });
 * await backend.setParams(model.params);
 * const [next] = await predictNext(backend, [encodePrompt("team wins", model.vocab, 2).context], 1);
 * if (model.vocab[next.ids[0]] !== "the") throw new Error(`predicted "${model.vocab[next.ids[0]]}"`);
 * backend.destroy();
 * await Deno.remove(out, { recursive: true });
 * ```
 *
 * @module
 */
export * from "./core.ts";

export {
  type DataInput,
  type DataOptions,
  loadDataset,
  locateData,
  readCorpus,
  readPrepared,
  writePrepared,
} from "./src/deno/data_files.ts";
export {
  loadCheckpoint,
  loadModel,
  loadModelFile,
  readSafetensors,
  saveCheckpoint,
} from "./src/deno/checkpoint_files.ts";
export { type BackendOptions, openBackend, openGpu } from "./src/deno/backends.ts";
export { type RunOptions, trainInDir } from "./src/deno/train_run.ts";
