/**
 * The rows a model of each kind trains and is validated on, from a dataset: a window model's (window ->
 * next word) pairs, or a headline model's headline rows (src/data/sequences.ts); and how many targets each
 * row holds, which weighs a step's mean loss in an epoch's mean.
 */
import { UserError, words } from "../errors.ts";
import { BOUNDARIES } from "./vocab.ts";
import type { ModelKind } from "../model/config.ts";
import { headlineSteps, makeSequences, rowLengths } from "./sequences.ts";
import type { Dataset } from "./types.ts";

/** Rows as the Backend contract takes them (src/model/backend.ts). */
export interface ModelRows {
  /** Each row's input ids: a window's words, or a headline row's positions (`<s>` and its words, padded). */
  inputs: Int32Array;
  /** Each row's targets: a pair's next word, or a headline row's next words (IGNORE_TARGET past its end). */
  targets: Int32Array;
  /** Number of rows. */
  count: number;
  /** Targets in each row: 1 for a pair, a headline's positions for a headline row. */
  targetsPerRow: Int32Array;
}

/** The rows of one split of `data` for a model of `kind`; a headline model needs the headlines as ids. */
export function modelRows(data: Dataset, kind: ModelKind, split: "train" | "val"): ModelRows {
  if (kind === "window") {
    const pairs = data[split];
    return { ...pairs, targetsPerRow: new Int32Array(pairs.count).fill(1) };
  }
  if (!data.headlineIds) {
    throw new UserError(
      `${data.source} was prepared before headline models existed (it keeps no headlines): prepare it again`,
    );
  }
  if (!data.boundaries) {
    throw new UserError(
      words`a headline model needs headline boundaries: prepare ${data.source} with ${BOUNDARIES}`,
    );
  }
  const { set } = makeSequences(data.headlineIds[split]);
  return {
    inputs: set.inputs,
    targets: set.targets,
    count: set.count,
    targetsPerRow: rowLengths(set.targets, set.count),
  };
}

/**
 * The most positions a row of `data` has for a model of `kind` (both splits): what a backend's buffers must
 * hold (a window model's window; a headline model's longest headline plus its end).
 */
export function longestRow(data: Dataset, kind: ModelKind): number {
  if (kind === "window") return data.window;
  return headlineSteps([...(data.headlineIds?.train ?? []), ...(data.headlineIds?.val ?? [])]);
}
