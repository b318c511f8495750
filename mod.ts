/**
 * webgpu-lstm's public API: an LSTM next-word model trained with hand-written WGSL kernels on WebGPU,
 * with a plain-TypeScript CPU reference of every op. Re-exports only; each concept lives in its own file.
 */

// Data: CSV headlines -> vocabulary and (window -> next word) pairs.
export { cleanHeadline } from "./src/data/clean.ts";
export {
  type DataOptions,
  type Dataset,
  loadDataset,
  type PairSet,
  writePrepared,
} from "./src/data/dataset.ts";
export { encodeWords } from "./src/data/vocab.ts";
export { builtinHeadlines } from "./src/data/builtin.ts";

// The model: config, PyTorch-named parameter layout, initialisation, the Backend contract.
export { DEFAULT_MODEL, type ModelConfig, validateConfig } from "./src/model/config.ts";
export { type ParamLayout, paramLayout, type TensorSpec, view } from "./src/model/layout.ts";
export { initParams } from "./src/model/init.ts";
export { Rng } from "./src/model/rng.ts";
export type { AdamState, Backend } from "./src/model/backend.ts";
export { type BackendKind, openBackend } from "./src/backends.ts";

// CPU reference.
export { createCpuBackend } from "./src/cpu/backend.ts";
export { modelForward, modelLossAndGrads } from "./src/cpu/model.ts";
export { ADAM_DEFAULTS, type AdamHyper, adamStep } from "./src/cpu/adam.ts";

// WebGPU.
export { type AdapterSummary, Gpu, NoAdapterError } from "./src/gpu/device.ts";
export { createGpuBackend } from "./src/gpu/backend.ts";

// Checking an adapter against the CPU reference (deno task doctor; a web page's "check this GPU").
export {
  DeviceLostError,
  type DoctorOptions,
  type DoctorReport,
  MODEL_SHAPES,
  runDoctor,
  SMALL_SHAPES,
} from "./src/doctor/doctor.ts";
export { doctorReportJson, formatReport } from "./src/doctor/format.ts";

// Checkpoints and files.
export { type Checkpoint, loadCheckpoint, loadModelFile, saveCheckpoint } from "./src/io/checkpoint.ts";
export { readSafetensors } from "./src/io/safetensors.ts";
export { lossPlotSvg } from "./src/io/plot.ts";

// Training and sampling.
export { train, type TrainOptions, type TrainResult } from "./src/train/loop.ts";
export { predictNext } from "./src/sample/predict.ts";
export { generateIds } from "./src/sample/generate.ts";
export { samplingCandidates, softmax } from "./src/sample/sampling.ts";
export { encodePrompt } from "./src/sample/prompt.ts";
