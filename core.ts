/**
 * webgpu-lstm's platform-neutral core: everything that computes, with no Deno, Node or file-system API, so
 * it runs unchanged under Deno (mod.ts adds the files and CLIs) and in a web page (bundled with
 * `deno bundle`). Re-exports only; each concept lives in its own file (docs/architecture.md).
 */

// Data: headlines -> vocabulary and (window -> next word) pairs.
export { cleanHeadline } from "./src/data/clean.ts";
export {
  buildDataset,
  checkSettings,
  cleanCorpus,
  completeSettings,
  DEFAULT_SETTINGS,
  givenSettings,
} from "./src/data/dataset.ts";
export type {
  Corpus,
  Coverage,
  DataOptions,
  Dataset,
  DatasetSettings,
  PairSet,
  SequenceSet,
  SourceOptions,
} from "./src/data/types.ts";
export { HEADLINE_COLUMN, headlineColumn } from "./src/data/csv.ts";
export { textLines } from "./src/data/text.ts";
export { headlinePairs } from "./src/data/pairs.ts";
export { IGNORE_TARGET, makeSequences } from "./src/data/sequences.ts";
export { decodePrepared, encodePrepared, summarizeDataset } from "./src/data/prepared.ts";
export { BOS_TOKEN, encodeWords, EOS_TOKEN, hasBoundaries, UNK_TOKEN } from "./src/data/vocab.ts";
export { BUILTIN_SOURCE, builtinHeadlines } from "./src/data/builtin.ts";

// The model: config, PyTorch-named parameter layout, initialisation, the Backend contract, the optimizer.
export {
  DEFAULT_MODEL,
  describeConfig,
  headWidth,
  isHeadlineModel,
  MODEL_KINDS,
  type ModelConfig,
  type ModelKind,
  modelKind,
  validateConfig,
} from "./src/model/config.ts";
export {
  dropoutKey,
  dropoutMask,
  type DropoutSettings,
  dropoutSite,
  lowbias32,
} from "./src/model/dropout.ts";
export { type ParamLayout, paramLayout, type TensorSpec, view } from "./src/model/layout.ts";
export { initParams } from "./src/model/init.ts";
export { Rng } from "./src/model/rng.ts";
export { type Backend, stateSize } from "./src/model/backend.ts";
export { ADAM_DEFAULTS, type AdamHyper, type AdamState } from "./src/model/optimizer.ts";
export {
  BACKEND_KINDS,
  type BackendKind,
  DEFAULT_BACKEND,
  parseBackendKind,
} from "./src/model/backend_kind.ts";

// CPU reference.
export { createCpuBackend } from "./src/cpu/backend.ts";
export { modelForward, modelLossAndGrads } from "./src/cpu/model.ts";
export { adamStep } from "./src/cpu/adam.ts";

// WebGPU.
export { type AdapterSummary, Gpu, type GpuOptions, NoAdapterError } from "./src/gpu/device.ts";
export { createGpuBackend } from "./src/gpu/backend.ts";

// Checking an adapter against the CPU reference (deno task doctor; the page's "check this GPU").
export {
  describeAdapter,
  DeviceLostError,
  type DoctorOptions,
  type DoctorReport,
  MODEL_SHAPES,
  runDoctor,
  SMALL_SHAPES,
} from "./src/doctor/doctor.ts";
export { doctorReportJson, formatReport } from "./src/doctor/format.ts";

// Files as bytes: safetensors, checkpoints, metrics, the loss plot.
export { decodeSafetensors, encodeSafetensors } from "./src/io/safetensors.ts";
export {
  type Checkpoint,
  type CheckpointFiles,
  decodeCheckpoint,
  decodeModelFile,
  encodeCheckpoint,
} from "./src/io/checkpoint.ts";
export { isStepRecord, metricLine, type MetricRecord } from "./src/io/metrics.ts";
export { type SampleRecord, SAMPLES_FORMAT } from "./src/io/samples.ts";
export { CONFIG_FILE, MODEL_FILE, OPTIMIZER_FILE, VOCAB_FILE } from "./src/io/file_names.ts";
export { lossPlotSvg } from "./src/io/plot.ts";

// Training and sampling.
export {
  type CheckpointKind,
  train,
  type TrainHooks,
  type TrainOptions,
  type TrainResult,
} from "./src/train/loop.ts";
export {
  formatDuration,
  formatProgress,
  type ProgressSink,
  type ProgressState,
} from "./src/train/progress.ts";
export * as TRAIN_DEFAULTS from "./src/train/defaults.ts";
export { drawSamples, type SampleSettings } from "./src/train/samples.ts";
export { predictNext } from "./src/sample/predict.ts";
export {
  generateHeadlines,
  generateIds,
  GENERATION_DEFAULTS,
  type HeadlineOptions,
  samplingFlags,
} from "./src/sample/generate.ts";
export { beamSearch, type Continuation } from "./src/sample/beam.ts";
export { samplingCandidates, softmax } from "./src/sample/sampling.ts";
export * from "./src/sample/prompt.ts";

// Evaluation: the model's scores on any pairs, word-count baselines, the Kneser-Ney count model and its
// mixture with the model.
export * from "./src/eval/data.ts";
export * from "./src/eval/scores.ts";
export * from "./src/eval/targets.ts";
export * from "./src/eval/kneser_ney.ts";
export * from "./src/eval/kneser_ney_scores.ts";
export * from "./src/eval/mixture.ts";
export { decodeKneserNey, encodeKneserNey } from "./src/io/kneser_ney.ts";

// Flags as tables, and the plans of a run from their values: the CLIs' and the web page's.
export * from "./src/plan/flags.ts";
export { flagHelp } from "./src/plan/flag_help.ts";
export { configFileValues } from "./src/plan/config_file.ts";
export { type FormField, formFields, formValues } from "./src/plan/form_fields.ts";
export { DEFAULT_OUT, TRAIN_FLAGS, TRAIN_GROUPS, type TrainFlagName } from "./src/plan/train_flags.ts";
export * from "./src/plan/train_plan.ts";
export * from "./src/plan/predict_plan.ts";

// Errors and flag values, worded alike for every command and the web page.
export { errorLine, firstLine, UserError } from "./src/errors.ts";
export { choiceFlag, type NumberCheck, numberFlag } from "./src/flag_values.ts";
