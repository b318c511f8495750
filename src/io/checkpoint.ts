/**
 * A checkpoint's files, encoded and decoded as bytes (writing them as a directory, atomically, is the
 * platform's part: src/deno/checkpoint_files.ts; a web page downloads them):
 *
 *   model.safetensors      the parameters under PyTorch's state_dict names and shapes (F32), so
 *                          `model.load_state_dict(safetensors.torch.load_file(...))` takes it as is;
 *                          __metadata__: {format: "pt", config: JSON ModelConfig, vocab_sha256}
 *   vocab.json             the words in id order (a JSON array)
 *   config.json            for people and for resuming: model config, vocab hash, training flags, progress
 *                          (with the best validation loss and the learning-rate schedule's state)
 *   optimizer.safetensors  what an exact resume needs: Adam moments `m.NAME`/`v.NAME` (F32, the parameter
 *                          shapes) and `adam_step` (I64 scalar); the position `step`, `epoch`,
 *                          `batch_in_epoch` (I64 scalars) and `rng_state` (U32 [4])
 *   kneser_ney.bin         with a partner (deno task partner): the count model (src/io/kneser_ney.ts); its
 *                          weight is config.json's partner.weight
 *
 * model.safetensors + vocab.json alone (as exported from PyTorch) is a valid model: the config is inferred
 * from the tensor shapes. Decoding validates everything and fails with one line naming the file and tensor.
 */
import { headWidth, MODEL_KINDS, type ModelConfig, type ModelKind, validateConfig } from "../model/config.ts";
import { type ParamLayout, paramLayout, view } from "../model/layout.ts";
import type { AdamState, ScheduleState } from "../model/optimizer.ts";
import { errorLine, UserError } from "../errors.ts";
import { hasBoundaries } from "../data/vocab.ts";
import { decodeSafetensors, encodeSafetensors, type Safetensors, type Tensor } from "./safetensors.ts";
import { CONFIG_FILE, COUNT_MODEL_FILE, MODEL_FILE, OPTIMIZER_FILE, VOCAB_FILE } from "./file_names.ts";
import { decodeKneserNey, encodeKneserNey } from "./kneser_ney.ts";
import type { Partner } from "../eval/partner.ts";

/** Where a training run stands: what a resumed run continues from. */
export interface TrainProgress {
  /** Optimizer steps taken so far. */
  step: number;
  /** Completed epochs. */
  epoch: number;
  /** Batches of the current epoch already taken. */
  batchInEpoch: number;
  /** Rng state the trainer resumes from (four u32s). */
  rng: Uint32Array;
  /** Lowest validation loss so far, if any. */
  bestVal?: number;
  /** The learning rate, the schedule's and early stopping's counters (absent in older checkpoints). */
  schedule?: ScheduleState;
}

/**
 * A model and what it was trained with: its config, vocabulary and parameters, and for a run that can resume,
 * Adam's state, its position and its flags.
 */
export interface Checkpoint {
  /** The model's shape. */
  config: ModelConfig;
  /** Words in id order. */
  vocab: string[];
  /** Flat parameters in paramLayout order (layout.total floats, padding zero). */
  params: Float32Array;
  /** Adam's moments and step count (absent in an exported model). */
  optimizer?: AdamState;
  /** Where training stands (absent in an exported model). */
  progress?: TrainProgress;
  /** The training flags used, recorded so a resume can reuse them. */
  train?: Record<string, unknown>;
  /** The count model tuned as this model's partner (deno task partner), if any. */
  partner?: Partner;
}

const SCALAR_NAMES = ["step", "epoch", "batch_in_epoch"] as const;

/** sha256 (hex) of the vocabulary's JSON: identifies the corpus a model was trained on. */
export async function vocabHash(vocab: string[]): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(vocab)));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

const shapeText = (s: number[]) => `[${s.join(",")}]`;

/**
 * The model config implied by state_dict shapes: V and E from embed.weight, H from lstm.weight_hh_l0,
 * layers = the number of lstm.weight_ih_l*, window = fc1 input width / H, the head's width = fc1's outputs
 * (left out when it is V, the notebook's); without fc1 (a direct head, width 0), window = fc2's inputs / H.
 * Only these tensors are read; the caller checks every shape
 * against paramLayout of the result. Shapes cannot tell a headline model from a window model of window 1:
 * the kind is the recorded config's (decodeCheckpoint), else a window model.
 */
export function inferConfig(shapes: Map<string, number[]>): ModelConfig {
  const need = (name: string, rank: number): number[] => {
    const s = shapes.get(name);
    if (!s) throw new UserError(`missing tensor ${name}: cannot infer the model config`);
    if (s.length !== rank) throw new UserError(`${name} has shape ${shapeText(s)}, expected rank ${rank}`);
    return s;
  };
  const [vocab, embed] = need("embed.weight", 2);
  const [, hidden] = need("lstm.weight_hh_l0", 2);
  const first = shapes.has("fc1.weight") ? "fc1.weight" : "fc2.weight";
  const [head, fc1In] = need(first, 2);
  const layers = [...shapes.keys()].filter((n) => /^lstm\.weight_ih_l\d+$/.test(n)).length;
  if (hidden === 0 || fc1In % hidden !== 0) {
    throw new UserError(`${first} has ${fc1In} inputs, not a multiple of the LSTM hidden size ${hidden}`);
  }
  const cfg: ModelConfig = { vocab, embed, hidden, layers, window: fc1In / hidden };
  if (first === "fc2.weight") cfg.head = 0;
  else if (head !== vocab) cfg.head = head;
  try {
    return validateConfig(cfg);
  } catch (e) {
    throw new UserError(`inferred ${errorLine(e)}`);
  }
}

/**
 * Copies F32 tensors named `prefix + layout name` into one flat array, after checking that exactly the
 * layout's tensors are there with its shapes and no other tensor carries the prefix.
 */
function flatten(
  file: string,
  st: Safetensors,
  layout: ParamLayout,
  prefix = "",
): Float32Array {
  for (const t of layout.tensors) {
    const got = st.tensors.get(prefix + t.name);
    if (!got) throw new UserError(`${file}: missing tensor ${prefix + t.name}`);
    if (got.dtype !== "F32") throw new UserError(`${file}: ${prefix + t.name} is ${got.dtype}, expected F32`);
    if (shapeText(got.shape) !== shapeText(t.shape)) {
      throw new UserError(
        `${file}: ${prefix + t.name} has shape ${shapeText(got.shape)}, expected ${shapeText(t.shape)}`,
      );
    }
  }
  const known = new Set([
    ...layout.tensors.map((t) => prefix + t.name),
    ...[...layout.aliases.keys()].map((a) => prefix + a),
  ]);
  for (const name of st.tensors.keys()) {
    if (name.startsWith(prefix) && !known.has(name)) {
      throw new UserError(`${file}: unexpected tensor ${name} (not part of this model)`);
    }
  }
  const flat = new Float32Array(layout.total);
  for (const t of layout.tensors) view(flat, t).set(st.tensors.get(prefix + t.name)!.data as Float32Array);
  // A tied weight may be stored under both names (as a PyTorch state_dict holds it): the same values, then.
  for (const [alias, target] of layout.aliases) {
    const got = st.tensors.get(prefix + alias);
    if (!got) continue;
    const want = view(flat, layout.get(target));
    const data = got.data as Float32Array;
    if (got.dtype !== "F32" || data.length !== want.length || data.some((x, i) => !Object.is(x, want[i]))) {
      throw new UserError(`${file}: ${prefix + alias} differs from ${prefix + target}, which it is tied to`);
    }
  }
  return flat;
}

function shapesOf(st: Safetensors): Map<string, number[]> {
  return new Map([...st.tensors].map(([n, t]) => [n, t.shape]));
}

function inferFrom(file: string, st: Safetensors): ModelConfig {
  try {
    return inferConfig(shapesOf(st));
  } catch (e) {
    throw new UserError(`${file}: ${errorLine(e)}`);
  }
}

/**
 * Parameters from the bytes of a bare .safetensors state_dict (train --init); `file` names it in errors.
 * With `cfg`, every shape must fit it and the first misfit is named; without, the config is inferred from
 * the shapes.
 */
export function decodeModelFile(
  file: string,
  bytes: Uint8Array,
  cfg?: ModelConfig,
): { config: ModelConfig; params: Float32Array } {
  const st = decodeSafetensors(bytes, file, { finite: true });
  const config = cfg ?? inferFrom(file, st);
  return { config, params: flatten(file, st, paramLayout(config)) };
}

function encodeModel(ck: Checkpoint, layout: ParamLayout, hash: string): Uint8Array {
  // A tied weight is written under both its names, as PyTorch's state_dict holds it (load_state_dict takes it).
  const names = [...layout.tensors.map((t) => t.name), ...layout.aliases.keys()];
  const tensors: Array<[string, Tensor]> = names.map((name) => {
    const t = layout.get(name);
    return [name, { dtype: "F32", shape: t.shape, data: view(ck.params, t) }];
  });
  return encodeSafetensors(tensors, { format: "pt", config: JSON.stringify(ck.config), vocab_sha256: hash });
}

function encodeOptimizer(ck: Checkpoint, layout: ParamLayout): Uint8Array {
  const tensors: Array<[string, Tensor]> = [];
  const i64 = (n: number): Tensor => ({ dtype: "I64", shape: [], data: BigInt64Array.of(BigInt(n)) });
  if (ck.optimizer) {
    for (const [key, flat] of [["m", ck.optimizer.m], ["v", ck.optimizer.v]] as const) {
      for (const t of layout.tensors) {
        tensors.push([`${key}.${t.name}`, { dtype: "F32", shape: t.shape, data: view(flat, t) }]);
      }
    }
    tensors.push(["adam_step", i64(ck.optimizer.adamStep)]);
  }
  if (ck.progress) {
    const p = ck.progress;
    tensors.push(["step", i64(p.step)], ["epoch", i64(p.epoch)], ["batch_in_epoch", i64(p.batchInEpoch)]);
    tensors.push(["rng_state", { dtype: "U32", shape: [4], data: Uint32Array.from(p.rng) }]);
  }
  return encodeSafetensors(tensors);
}

/** Refuses to write what could not be loaded back: wrong sizes, non-finite values. */
function checkSavable(ck: Checkpoint, layout: ParamLayout): void {
  validateConfig(ck.config);
  if (ck.vocab.length !== ck.config.vocab) {
    throw new Error(`checkpoint: ${ck.vocab.length} words but config.vocab is ${ck.config.vocab}`);
  }
  const flats: Array<[string, Float32Array]> = [["params", ck.params]];
  if (ck.optimizer) flats.push(["m", ck.optimizer.m], ["v", ck.optimizer.v]);
  for (const [what, flat] of flats) {
    if (flat.length !== layout.total) {
      throw new Error(`checkpoint: ${what} has ${flat.length} floats, the layout needs ${layout.total}`);
    }
    for (const t of layout.tensors) {
      const x = view(flat, t);
      for (let i = 0; i < x.length; i++) {
        if (!Number.isFinite(x[i])) {
          throw new Error(`checkpoint: ${what} ${t.name}[${i}] is ${x[i]}: not saving it`);
        }
      }
    }
  }
  const counters = [
    ...(ck.optimizer ? [["adamStep", ck.optimizer.adamStep]] : []),
    ...(ck.progress
      ? [["step", ck.progress.step], ["epoch", ck.progress.epoch], ["batchInEpoch", ck.progress.batchInEpoch]]
      : []),
  ] as Array<[string, number]>;
  for (const [name, n] of counters) {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new Error(`checkpoint: ${name} must be a non-negative integer, got ${n}`);
    }
  }
  const bestVal = ck.progress?.bestVal;
  if (bestVal !== undefined && !Number.isFinite(bestVal)) {
    throw new Error(`checkpoint: bestVal must be finite or absent, got ${bestVal}`); // JSON has no NaN
  }
  const schedule = ck.progress?.schedule;
  if (schedule) {
    const problem = scheduleProblem({ ...schedule, plateauBest: absentIfInfinite(schedule.plateauBest) });
    if (problem) throw new Error(`checkpoint: schedule ${problem}`);
  }
  if (ck.progress && ck.progress.rng.length !== 4) throw new Error(`checkpoint: rng state must be 4 u32s`);
}

/**
 * The files of checkpoint `ck`, in the order to write them (name, bytes); refuses what could not be loaded
 * back (wrong sizes, non-finite values).
 */
export async function encodeCheckpoint(ck: Checkpoint): Promise<Array<[string, Uint8Array]>> {
  const layout = paramLayout(ck.config);
  checkSavable(ck, layout);
  const hash = await vocabHash(ck.vocab);
  const config = {
    format: "webgpu-lstm checkpoint",
    model: ck.config,
    vocab_sha256: hash,
    params: layout.count,
    ...(ck.progress
      ? {
        progress: {
          step: ck.progress.step,
          epoch: ck.progress.epoch,
          batchInEpoch: ck.progress.batchInEpoch,
          ...(ck.progress.bestVal !== undefined ? { bestVal: ck.progress.bestVal } : {}),
          ...(ck.progress.schedule ? { schedule: scheduleJson(ck.progress.schedule) } : {}),
        },
      }
      : {}),
    ...(ck.optimizer ? { adamStep: ck.optimizer.adamStep } : {}),
    ...(ck.train ? { train: ck.train } : {}),
    ...(ck.partner
      ? { partner: { weight: ck.partner.weight, order: ck.partner.model.order, file: COUNT_MODEL_FILE } }
      : {}),
  };
  const text = (s: string) => new TextEncoder().encode(s);
  const files: Array<[string, Uint8Array]> = [
    [MODEL_FILE, encodeModel(ck, layout, hash)],
    [VOCAB_FILE, text(JSON.stringify(ck.vocab) + "\n")],
    [CONFIG_FILE, text(JSON.stringify(config, null, 2) + "\n")],
  ];
  if (ck.optimizer || ck.progress) files.push([OPTIMIZER_FILE, encodeOptimizer(ck, layout)]);
  if (ck.partner) files.push([COUNT_MODEL_FILE, encodeKneserNey(ck.partner.model.counts)]);
  return files;
}

/** plateauBest is Infinity before the first validation loss: left out, as JSON has no Infinity. */
const absentIfInfinite = (x: number) => (x === Infinity ? undefined : x);

/** config.json's progress.schedule: the state, plateauBest absent while infinite. */
function scheduleJson(s: ScheduleState) {
  return {
    lr: s.lr,
    plateauBest: absentIfInfinite(s.plateauBest),
    badEpochs: s.badEpochs,
    sinceBest: s.sinceBest,
  };
}

/** What is wrong with a schedule state (plateauBest absent meaning infinite), or null. */
function scheduleProblem(s: Record<string, unknown>): string | null {
  const count = (x: unknown) => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
  if (!(typeof s.lr === "number" && Number.isFinite(s.lr) && s.lr > 0)) {
    return `lr ${JSON.stringify(s.lr)} is not a positive number`;
  }
  if (s.plateauBest !== undefined && !(typeof s.plateauBest === "number" && Number.isFinite(s.plateauBest))) {
    return `plateauBest ${JSON.stringify(s.plateauBest)} is not a number`;
  }
  for (const key of ["badEpochs", "sinceBest"]) {
    if (!count(s[key])) return `${key} ${JSON.stringify(s[key])} is not a non-negative integer`;
  }
  return null;
}

function parseSchedule(path: string, x: unknown): ScheduleState {
  if (!isObject(x)) throw new UserError(`${path}: progress.schedule is not an object`);
  const problem = scheduleProblem(x);
  if (problem) throw new UserError(`${path}: progress.schedule: ${problem}`);
  return {
    lr: x.lr as number,
    plateauBest: (x.plateauBest as number | undefined) ?? Infinity,
    badEpochs: x.badEpochs as number,
    sinceBest: x.sinceBest as number,
  };
}

function parseJson(path: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${errorLine(e)})`);
  }
}

function parseVocab(path: string, bytes: Uint8Array): string[] {
  const vocab = parseJson(path, bytes);
  if (!Array.isArray(vocab) || vocab.length === 0 || !vocab.every((w) => typeof w === "string")) {
    throw new UserError(`${path}: expected a non-empty JSON array of words`);
  }
  const seen = new Set<string>();
  for (const w of vocab as string[]) {
    if (seen.has(w)) throw new UserError(`${path}: word ${JSON.stringify(w)} appears twice`);
    seen.add(w);
  }
  return vocab as string[];
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/** Whether a recorded config describes the shapes' model (its kind aside: shapes cannot tell it). */
function sameShapes(a: ModelConfig, b: ModelConfig): boolean {
  return (["vocab", "embed", "hidden", "layers", "window"] as const).every((k) => a[k] === b[k]) &&
    headWidth(a) === headWidth(b);
}

/**
 * The config the shapes imply with the kind (and a tied output layer) a recorded config (from the safetensors metadata or config.json)
 * gives; `where` names the record in errors.
 */
function withRecordedKind(
  config: ModelConfig,
  recorded: Record<string, unknown>,
  where: string,
): ModelConfig {
  const kind = recorded.kind ?? "window";
  if (!MODEL_KINDS.includes(kind as ModelKind)) {
    throw new UserError(`${where}: unknown model kind ${JSON.stringify(kind)}`);
  }
  if (config.kind !== undefined && config.kind !== kind) {
    throw new UserError(`${where}: model kind ${kind} differs from ${config.kind} recorded beside it`);
  }
  const tie = recorded.tie === true ? { tie: true } : {};
  if (kind === "window" && !recorded.tie) return config;
  try {
    return validateConfig({ ...(kind === "window" ? {} : { kind: kind as ModelKind }), ...config, ...tie });
  } catch (e) {
    throw new UserError(`${where}: ${errorLine(e)}`);
  }
}

/** Reads an I64 scalar tensor as a non-negative safe integer. */
function counter(file: string, st: Safetensors, name: string): number {
  const t = st.tensors.get(name);
  if (!t) throw new UserError(`${file}: missing tensor ${name}`);
  if (t.dtype !== "I64" || t.shape.length !== 0) {
    throw new UserError(`${file}: ${name} is ${t.dtype} ${shapeText(t.shape)}, expected an I64 scalar`);
  }
  const n = Number((t.data as BigInt64Array)[0]);
  if (!Number.isSafeInteger(n) || n < 0) throw new UserError(`${file}: ${name} is ${n}, not a valid count`);
  return n;
}

/** Adam state and training position from optimizer.safetensors (each part all there or all absent). */
function parseOptimizer(
  file: string,
  st: Safetensors,
  layout: ParamLayout,
): { optimizer?: AdamState; progress?: Omit<TrainProgress, "bestVal"> } {
  const names = new Set(st.tensors.keys());
  const progressNames = new Set<string>([...SCALAR_NAMES, "rng_state"]);
  const hasAdam = [...names].some((n) => n.startsWith("m.") || n.startsWith("v.") || n === "adam_step");
  const hasProgress = [...progressNames].some((n) => names.has(n));
  for (const n of names) {
    if (!n.startsWith("m.") && !n.startsWith("v.") && n !== "adam_step" && !progressNames.has(n)) {
      throw new UserError(`${file}: unexpected tensor ${n}`);
    }
  }
  const out: { optimizer?: AdamState; progress?: Omit<TrainProgress, "bestVal"> } = {};
  if (hasAdam) {
    out.optimizer = {
      m: flatten(file, st, layout, "m."),
      v: flatten(file, st, layout, "v."),
      adamStep: counter(file, st, "adam_step"),
    };
  }
  if (hasProgress) {
    const rng = st.tensors.get("rng_state");
    if (!rng) throw new UserError(`${file}: missing tensor rng_state`);
    if (rng.dtype !== "U32" || shapeText(rng.shape) !== "[4]") {
      throw new UserError(`${file}: rng_state is ${rng.dtype} ${shapeText(rng.shape)}, expected U32 [4]`);
    }
    out.progress = {
      step: counter(file, st, "step"),
      epoch: counter(file, st, "epoch"),
      batchInEpoch: counter(file, st, "batch_in_epoch"),
      rng: rng.data as Uint32Array,
    };
  }
  return out;
}

/** Where a checkpoint's files are: a directory on disk, files picked in a web page... */
export interface CheckpointFiles {
  /** How errors name the place (e.g. the directory). */
  where: string;
  /** How errors name one file (e.g. its path). */
  path(name: string): string;
  /** The file's bytes, or null when the checkpoint has no such file. */
  read(name: string): Promise<Uint8Array | null>;
}

/**
 * Decodes and validates a checkpoint from its files. `expectVocab`: the corpus's vocabulary; a different
 * one is an error.
 */
export async function decodeCheckpoint(
  files: CheckpointFiles,
  opts: { expectVocab?: string[] } = {},
): Promise<Checkpoint> {
  const found = files.where;
  const { model, vocab, hash, config: inferred } = await readModel(files);
  const { record, config } = await readConfig(files, inferred);
  // The shapes give the sizes; what they cannot tell (the kind, a tied output layer) comes from the recorded configs, before the
  // tensors are laid out.
  const layout = paramLayout(config);
  const params = flatten(files.path(MODEL_FILE), model, layout);
  const ck: Checkpoint = { config, vocab, params };
  const recordedProgress = record && await applyRecord(files, ck, record, hash);
  const optBytes = await files.read(OPTIMIZER_FILE);
  if (optBytes) {
    readOptimizer(
      files.path(OPTIMIZER_FILE),
      optBytes,
      files.path(CONFIG_FILE),
      ck,
      layout,
      recordedProgress,
    );
  }
  if (recordedProgress && !ck.progress) {
    throw new UserError(`checkpoint ${found}: config.json has progress but ${OPTIMIZER_FILE} holds none`);
  }
  const expected = opts.expectVocab && await vocabHash(opts.expectVocab);
  if (opts.expectVocab && expected !== hash) {
    throw new UserError(
      `checkpoint ${found} is from another corpus: its vocabulary has ${vocab.length} words ` +
        `(sha256 ${hash.slice(0, 12)}), this data's has ${opts.expectVocab.length} ` +
        `(sha256 ${expected!.slice(0, 12)})`,
    );
  }
  return ck;
}

/**
 * model.safetensors and vocab.json: the tensors, the config their shapes give (the kind from the metadata's
 * record) and the vocabulary, which must agree with each other; and the vocabulary's hash, which config.json
 * must name too.
 */
async function readModel(
  files: CheckpointFiles,
): Promise<{ model: Safetensors; vocab: string[]; hash: string; config: ModelConfig }> {
  const at = (f: string) => files.path(f);
  const modelBytes = await files.read(MODEL_FILE);
  if (!modelBytes) throw new UserError(`checkpoint ${files.where}: missing ${MODEL_FILE}`);
  const vocabBytes = await files.read(VOCAB_FILE);
  if (!vocabBytes) throw new UserError(`checkpoint ${files.where}: missing ${VOCAB_FILE}`);

  const model = decodeSafetensors(modelBytes, at(MODEL_FILE), { finite: true });
  let config = inferFrom(at(MODEL_FILE), model);
  const vocab = parseVocab(at(VOCAB_FILE), vocabBytes);
  if (vocab.length !== config.vocab) {
    throw new UserError(`${at(VOCAB_FILE)}: ${vocab.length} words but embed.weight has ${config.vocab} rows`);
  }
  const hash = await vocabHash(vocab);
  const meta = model.metadata;
  if (meta.vocab_sha256 !== undefined && meta.vocab_sha256 !== hash) {
    throw new UserError(
      `${at(VOCAB_FILE)}: vocabulary hash ${hash.slice(0, 12)} does not match the one ` +
        `${MODEL_FILE} was saved with (${meta.vocab_sha256.slice(0, 12)}): files from different checkpoints?`,
    );
  }
  if (meta.config !== undefined) {
    let recorded: unknown;
    try {
      recorded = JSON.parse(meta.config);
    } catch {
      throw new UserError(`${at(MODEL_FILE)}: __metadata__.config is not JSON`);
    }
    if (!isObject(recorded) || !sameShapes(recorded as unknown as ModelConfig, config)) {
      throw new UserError(
        `${at(MODEL_FILE)}: __metadata__.config ${meta.config} does not match the tensor shapes ` +
          `(${JSON.stringify(config)})`,
      );
    }
    config = withRecordedKind(config, recorded, `${at(MODEL_FILE)}: __metadata__.config`);
  }
  return { model, vocab, hash, config };
}

/**
 * config.json, when there is one: its record, and the config with its model's kind (its model must match the
 * tensors' shapes).
 */
async function readConfig(
  files: CheckpointFiles,
  config: ModelConfig,
): Promise<{ record?: Record<string, unknown>; config: ModelConfig }> {
  const configBytes = await files.read(CONFIG_FILE);
  if (!configBytes) return { config };
  const at = files.path(CONFIG_FILE);
  const c = parseJson(at, configBytes);
  if (!isObject(c)) throw new UserError(`${at}: not a JSON object`);
  if (!isObject(c.model) || !sameShapes(c.model as unknown as ModelConfig, config)) {
    throw new UserError(
      `${at}: model ${JSON.stringify(c.model)} does not match the tensor shapes ` +
        `in ${MODEL_FILE} (${JSON.stringify(config)})`,
    );
  }
  return { record: c, config: withRecordedKind(config, c.model, `${at}: model`) };
}

/**
 * The rest of config.json's record into `ck`: its vocabulary hash must be the vocabulary's, its train record
 * the boundaries'; the partner's count model. Returns the progress it records, which optimizer.safetensors
 * must agree with.
 */
async function applyRecord(
  files: CheckpointFiles,
  ck: Checkpoint,
  c: Record<string, unknown>,
  hash: string,
): Promise<Record<string, unknown> | undefined> {
  const at = files.path(CONFIG_FILE);
  if (c.vocab_sha256 !== hash) {
    throw new UserError(
      `${at}: vocab_sha256 does not match ${VOCAB_FILE}: files from different checkpoints?`,
    );
  }
  if (c.train !== undefined) {
    if (!isObject(c.train)) throw new UserError(`${at}: train is not an object`);
    // Predict and eval go by the vocabulary (a PyTorch export has no config.json); the record must agree.
    const recorded = c.train.boundaries;
    if (recorded !== undefined && recorded !== hasBoundaries(ck.vocab)) {
      throw new UserError(
        `${at}: train.boundaries is ${JSON.stringify(recorded)}, but ${VOCAB_FILE} ` +
          `${hasBoundaries(ck.vocab) ? "has" : "lacks"} <s> and </s> at ids 0 and 1`,
      );
    }
    ck.train = c.train;
  }
  let recordedProgress: Record<string, unknown> | undefined;
  if (c.progress !== undefined) {
    if (!isObject(c.progress)) throw new UserError(`${at}: progress is not an object`);
    recordedProgress = c.progress;
  }
  if (c.partner !== undefined) ck.partner = await readPartner(files, c.partner, ck.vocab);
  return recordedProgress;
}

/**
 * optimizer.safetensors into `ck`: Adam's state, and the position in training, which must agree with what
 * config.json (`configFile`) records; config.json adds the best validation loss and the schedule's state.
 */
function readOptimizer(
  file: string,
  bytes: Uint8Array,
  configFile: string,
  ck: Checkpoint,
  layout: ParamLayout,
  recordedProgress: Record<string, unknown> | undefined,
): void {
  const st = decodeSafetensors(bytes, file, { finite: true });
  const { optimizer, progress } = parseOptimizer(file, st, layout);
  if (optimizer) ck.optimizer = optimizer;
  if (!progress) return;
  // config.json repeats the position for people; a disagreement means files from different saves.
  for (const key of ["step", "epoch", "batchInEpoch"] as const) {
    if (recordedProgress && recordedProgress[key] !== progress[key]) {
      throw new UserError(
        `${configFile}: progress.${key} ${recordedProgress[key]} differs from ` +
          `${progress[key]} in ${OPTIMIZER_FILE}: files from different checkpoints?`,
      );
    }
  }
  const bestVal = recordedProgress?.bestVal;
  if (bestVal !== undefined && (typeof bestVal !== "number" || !Number.isFinite(bestVal))) {
    throw new UserError(`${configFile}: progress.bestVal ${JSON.stringify(bestVal)} is not a number`);
  }
  ck.progress = {
    ...progress,
    ...(bestVal !== undefined ? { bestVal } : {}),
    ...(recordedProgress?.schedule !== undefined
      ? { schedule: parseSchedule(configFile, recordedProgress.schedule) }
      : {}),
  };
}

/** The partner config.json names: its count model from COUNT_MODEL_FILE, fitted for this vocabulary. */
async function readPartner(files: CheckpointFiles, recorded: unknown, vocab: string[]): Promise<Partner> {
  const at = files.path(CONFIG_FILE);
  if (
    !isObject(recorded) || typeof recorded.weight !== "number" ||
    !(recorded.weight >= 0 && recorded.weight <= 1)
  ) {
    throw new UserError(`${at}: partner.weight is not a weight in [0, 1]`);
  }
  const bytes = await files.read(COUNT_MODEL_FILE);
  if (!bytes) {
    throw new UserError(`checkpoint ${files.where}: config.json has a partner but no ${COUNT_MODEL_FILE}`);
  }
  const model = decodeKneserNey(bytes, files.path(COUNT_MODEL_FILE));
  if (model.vocab !== vocab.length || model.boundaries !== hasBoundaries(vocab)) {
    throw new UserError(
      `${files.path(COUNT_MODEL_FILE)}: a count model of ${model.vocab} words` +
        `${
          model.boundaries ? " with" : " without"
        } boundaries does not fit ${VOCAB_FILE} (${vocab.length} words)`,
    );
  }
  return { model, weight: recorded.weight };
}
