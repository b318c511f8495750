/**
 * webgpu-lstm's public API under Deno: the platform-neutral core (core.ts) and the Deno platform around it
 * (files, atomic checkpoints, run directories). Re-exports only.
 */
export * from "./core.ts";

export {
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
export { openBackend, openGpu } from "./src/deno/backends.ts";
export { trainInDir } from "./src/deno/train_run.ts";
