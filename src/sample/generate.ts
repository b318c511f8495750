/**
 * Autoregressive generation: every sample extends its own window by one sampled word per step, all samples
 * of all prompts together in one backend.logits call per step.
 */
import type { Backend } from "../model/backend.ts";
import { Rng } from "../model/rng.ts";
import { banEndAtStart, banIds, sampleNext, type SamplingOptions } from "./sampling.ts";

export interface GenerateOptions extends SamplingOptions {
  /** Words to add to each sample at most. */
  steps: number;
  /** Samples per prompt. */
  count: number;
  /** Ids that end a sample when drawn (they are not appended): "</s>", <unk>'s with --stop-at-unk. */
  stopIds?: readonly number[];
  /** Ids never drawn ("<s>"). */
  bannedIds?: readonly number[];
  /** Headline boundaries: `end` ("</s>") ends a sample and is never drawn right after a window of only `start`. */
  boundaries?: { start: number; end: number };
}

/**
 * Generated ids for each of prompts * count samples; sample s of prompt p is row p * count + s.
 * contexts holds each prompt's last `window` ids. Each row draws from its own stream, seeded from `rng` in
 * row order, so a seed fixes every sample and a row that stops (leaving the batch) changes no other row.
 */
export async function generateIds(
  backend: Backend,
  contexts: Int32Array,
  prompts: number,
  opts: GenerateOptions,
  rng: Rng,
): Promise<Int32Array[]> {
  const { vocab: V, window: T } = backend.config;
  if (contexts.length !== prompts * T) {
    throw new Error(`generateIds: ${contexts.length} context ids for ${prompts} prompts of ${T}`);
  }
  const rows = prompts * opts.count;
  // Each row's sliding window of its last T words.
  const windows = new Int32Array(rows * T);
  for (let r = 0; r < rows; r++) {
    const p = Math.floor(r / opts.count);
    windows.set(contexts.subarray(p * T, (p + 1) * T), r * T);
  }
  const rowRngs = Array.from({ length: rows }, () => new Rng(rng.nextU32()));
  const generated: number[][] = Array.from({ length: rows }, () => []);
  let active = Array.from({ length: rows }, (_, r) => r);
  for (let step = 0; step < opts.steps && active.length > 0; step++) {
    const inputs = new Int32Array(active.length * T);
    active.forEach((r, i) => inputs.set(windows.subarray(r * T, (r + 1) * T), i * T));
    const logits = banIds(await backend.logits(inputs, active.length), V, opts.bannedIds ?? []);
    const b = opts.boundaries;
    if (b) banEndAtStart(logits, inputs, T, b.start, b.end);
    const still: number[] = [];
    active.forEach((r, i) => {
      const id = sampleNext(logits.subarray(i * V, (i + 1) * V), opts, rowRngs[r]);
      if (opts.stopIds?.includes(id) || id === b?.end) return;
      generated[r].push(id);
      const w = windows.subarray(r * T, (r + 1) * T);
      w.copyWithin(0, 1);
      w[T - 1] = id;
      still.push(r);
    });
    active = still;
  }
  return generated.map((ids) => Int32Array.from(ids));
}
