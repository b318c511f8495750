/**
 * webgpu-lstm's platform-neutral core: an LSTM next-word model of headlines trained and run by hand-written
 * WGSL kernels on WebGPU, or by the plain-TypeScript CPU reference of every op. Everything here computes and
 * nothing touches Deno, Node or a file system, so it runs unchanged under Deno and in a web page (bundled with
 * `deno bundle --platform browser`); where it needs files it takes their bytes, and where it makes files it
 * returns them. The Deno entry (`@webgpu-lstm/webgpu-lstm`, mod.ts) adds files, run directories and the GPU
 * opened for you.
 *
 * The flow: headlines -> {@linkcode buildDataset} (vocabulary and (window -> next word) pairs) -> a
 * {@linkcode Backend} ({@linkcode createCpuBackend}, or {@linkcode createGpuBackend} on a {@linkcode Gpu})
 * -> {@linkcode train} -> a {@linkcode Checkpoint} ({@linkcode encodeCheckpoint} gives its files) ->
 * {@linkcode predictNext}, {@linkcode generateHeadlines}, {@linkcode beamSearch}, or scores
 * ({@linkcode scoreModel}).
 *
 * The WGSL kernels reach the package as text imports of `shaders/*.wgsl` (`with { type: "text" }`), which
 * Deno loads and `deno bundle` inlines; another bundler needs to support text imports too.
 *
 * @example Train on an array of headlines with the CPU reference, then ask for the next word
 * ```ts
 * import {
 *   buildDataset,
 *   type Checkpoint,
 *   completeSettings,
 *   createCpuBackend,
 *   encodePrompt,
 *   initParams,
 *   predictNext,
 *   train,
 * } from "@webgpu-lstm/webgpu-lstm/core";
 *
 * const headlines = Array.from({ length: 12 }, (_, i) => `team ${["wins", "loses"][i % 2]} the final`);
 * const data = buildDataset({ source: "example", files: [], headlines }, completeSettings({ window: 2 }));
 * const config = { vocab: data.vocab.length, embed: 8, hidden: 16, layers: 1, window: 2 };
 * const backend = await createCpuBackend(config);
 * let latest: Checkpoint | undefined;
 * const result = await train(
 *   backend,
 *   data,
 *   { params: initParams(config, 0) },
 *   { epochs: 30, batch: 8, lr: 0.02, seed: 0, shuffle: true, saveEvery: 30, logEvery: 10, flags: {} },
 *   {
 *     save: (ck) => Promise.resolve(latest = ck).then(() => "memory"),
 *     record: () => Promise.resolve(),
 *     progress: { update() {}, status() {}, line() {}, done() {} },
 *     stopRequested: () => false,
 *   },
 * );
 * // Below the loss of a uniform guess, and a checkpoint saved at the end.
 * if (!(result.lastEpochLoss < Math.log(config.vocab)) || !latest) throw new Error("it did not learn");
 *
 * const prompt = encodePrompt("team wins", data.vocab, config.window);
 * const [next] = await predictNext(backend, [prompt.context], 1);
 * if (data.vocab[next.ids[0]] !== "the") throw new Error(`predicted "${data.vocab[next.ids[0]]}"`);
 * backend.destroy();
 * ```
 *
 * @module
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
export { headlineSteps, IGNORE_TARGET, makeSequences } from "./src/data/sequences.ts";
export { longestRow, type ModelRows, modelRows } from "./src/data/rows.ts";
export {
  type DatasetSummary,
  decodePrepared,
  encodePrepared,
  summarizeDataset,
} from "./src/data/prepared.ts";
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
export { ADAM_DEFAULTS, type AdamHyper, type AdamState, type ScheduleState } from "./src/model/optimizer.ts";
export {
  BACKEND_KINDS,
  type BackendKind,
  CPU_BACKEND,
  DEFAULT_BACKEND,
  parseBackendKind,
} from "./src/model/backend_kind.ts";

// CPU reference.
export { createCpuBackend } from "./src/cpu/backend.ts";
export { type ForwardCache, type ForwardOptions, modelForward, modelLossAndGrads } from "./src/cpu/model.ts";
export type { LstmCache } from "./src/cpu/lstm.ts";
export { adamStep } from "./src/cpu/adam.ts";

// WebGPU.
export {
  type AdapterSummary,
  type BufferSlice,
  countsSince,
  Gpu,
  type GpuCounts,
  type GpuOptions,
  type Kernel,
  NoAdapterError,
} from "./src/gpu/device.ts";
export type { ShaderValues } from "./src/gpu/preprocess.ts";
export { KernelProfile, type KernelTimes } from "./src/gpu/profile.ts";
export { createGpuBackend, type GpuBackendOptions } from "./src/gpu/backend.ts";
export type { LstmVariant } from "./src/gpu/lstm.ts";

// Checking an adapter against the CPU reference (deno task doctor; the page's "check this GPU").
export {
  type Choice,
  describeAdapter,
  type DoctorHeader,
  type DoctorOptions,
  type DoctorReport,
  type KernelRow,
  type Limit,
  MODEL_SHAPES,
  runDoctor,
  SMALL_SHAPES,
  type TrainingRow,
} from "./src/doctor/doctor.ts";
export type { DoctorShapes } from "./src/facts/shapes.ts";
export type { CaseResult, Tolerance } from "./src/doctor/compare.ts";
export type { Speed } from "./src/doctor/context.ts";
export type { TrainingResult, WeightsComparison } from "./src/doctor/training.ts";
export { doctorReportJson, formatReport } from "./src/doctor/format.ts";

// Files as bytes: safetensors, checkpoints, metrics, the loss plot.
export {
  decodeSafetensors,
  type Dtype,
  encodeSafetensors,
  type ReadOptions,
  type Safetensors,
  type Tensor,
  type TensorData,
} from "./src/io/safetensors.ts";
export {
  type Checkpoint,
  type CheckpointFiles,
  decodeCheckpoint,
  decodeModelFile,
  encodeCheckpoint,
  type TrainProgress,
} from "./src/io/checkpoint.ts";
export { isStepRecord, metricLine, type MetricRecord } from "./src/io/metrics.ts";
export { type SampleRecord, SAMPLES_FORMAT } from "./src/io/samples.ts";
export type { JsonlFormat } from "./src/io/jsonl.ts";
export { CONFIG_FILE, MODEL_FILE, OPTIMIZER_FILE, VOCAB_FILE } from "./src/io/file_names.ts";
export { lossPlotSvg } from "./src/io/plot.ts";

// Training and sampling.
export {
  type CheckpointKind,
  type StartState,
  train,
  type TrainHooks,
  type TrainOptions,
  type TrainResult,
} from "./src/train/loop.ts";
export type { LrSchedule } from "./src/train/schedule.ts";
export {
  formatDuration,
  formatProgress,
  type ProgressSink,
  type ProgressState,
} from "./src/train/progress.ts";
/** Training's defaults (epochs, batch, seed, ...), shared by `deno task train` and the web page. */
export * as TRAIN_DEFAULTS from "./src/train/defaults.ts";
export { drawSamples, type SampleSettings } from "./src/train/samples.ts";
export { predictNext } from "./src/sample/predict.ts";
export {
  generateHeadlines,
  generateIds,
  type GenerateOptions,
  GENERATION_DEFAULTS,
  type HeadlineOptions,
  samplingFlags,
} from "./src/sample/generate.ts";
export { type BeamOptions, beamSearch, type Continuation } from "./src/sample/beam.ts";
export { type Candidates, samplingCandidates, type SamplingOptions, softmax } from "./src/sample/sampling.ts";
export type { ContextRows, RowsPartner } from "./src/sample/contexts.ts";
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
export type { Partner } from "./src/eval/partner.ts";

// Flags as tables, and the plans of a run from their values: the CLIs' and the web page's.
export * from "./src/plan/flags.ts";
export { flagHelp } from "./src/plan/flag_help.ts";
export { configFileValues } from "./src/plan/config_file.ts";
export { type FormField, formFields, formValues } from "./src/plan/form_fields.ts";
export { DEFAULT_OUT, TRAIN_FLAG_TABLE as TRAIN_FLAGS, TRAIN_GROUPS } from "./src/plan/train_flags.ts";
export * from "./src/plan/train_plan.ts";
export * from "./src/plan/predict_plan.ts";

// Errors and flag values, worded alike for every command and the web page.
export {
  asFlag,
  DeviceLostError,
  errorLine,
  firstLine,
  inWords,
  type MessagePart,
  setting,
  type SettingRef,
  type SettingSpelling,
  spell,
  USAGE_EXIT,
  UserError,
  words,
} from "./src/errors.ts";
export { choiceFlag, type NumberCheck, numberFlag } from "./src/flag_values.ts";
