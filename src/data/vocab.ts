/**
 * The vocabulary: words in order of first appearance, optionally with "<unk>" standing for rare words, and
 * with headline boundaries "<s>" and "</s>" at fixed ids. Cleaning removes every ASCII punctuation
 * character, so no word of any text can ever be one of these tokens.
 */
import { setting, type SettingRef } from "../errors.ts";

/** Stands for every word seen fewer than --min-count times (and, in validation, words training never saw). */
export const UNK_TOKEN = "<unk>";
/** With --boundaries: pads the window before a headline's first word ("start of headline"). */
export const BOS_TOKEN = "<s>";
/** With --boundaries: the target after a headline's last word ("end of headline"). */
export const EOS_TOKEN = "</s>";
/** Headline boundaries as a setting that messages name (the CLIs: `--boundaries`). */
export const BOUNDARIES: SettingRef = setting("boundaries", "headline boundaries");
/** Ids of the boundary tokens in a boundaries vocabulary: always the first two. */
export const BOS_ID = 0;
export const EOS_ID = 1;

/** Marks a word that has no id (not in the vocabulary and no "<unk>" to fall back on). */
export const NO_ID = -1;

/**
 * Builds the vocabulary from cleaned headlines. minCount 1 without boundaries is the notebook's: every
 * word, in order of first appearance, no "<unk>" (unk -1). The special tokens come first, at fixed ids:
 * with `boundaries`, "<s>" (BOS_ID 0) and "</s>" (EOS_ID 1); with minCount > 1, "<unk>" next (so it is
 * there for predict and validation even when no training word is rare); then the words seen at least
 * minCount times, in order of first appearance.
 */
export function buildVocab(
  headlines: string[][],
  minCount: number,
  boundaries = false,
): { vocab: string[]; unk: number } {
  const counts = new Map<string, number>();
  for (const words of headlines) {
    for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  // Map iteration follows insertion, i.e. first appearance.
  const frequent = [...counts].filter(([, n]) => n >= minCount).map(([w]) => w);
  const specials = boundaries ? [BOS_TOKEN, EOS_TOKEN] : [];
  if (minCount > 1) specials.push(UNK_TOKEN);
  return { vocab: [...specials, ...frequent], unk: minCount > 1 ? specials.length - 1 : NO_ID };
}

/**
 * Whether a vocabulary is a boundaries one: "<s>" and "</s>" at BOS_ID and EOS_ID. No cleaned word can be
 * either, so a vocabulary holding them was built with boundaries (or exported from such a model); this is
 * how predict, eval and the trainer's samples know, whatever files the model came from.
 */
export function hasBoundaries(vocab: readonly string[]): boolean {
  return vocab[BOS_ID] === BOS_TOKEN && vocab[EOS_ID] === EOS_TOKEN;
}

/** The id of "<unk>" in a vocabulary, or NO_ID when it has none. */
export function unkId(vocab: readonly string[]): number {
  return indexOf(vocab).get(UNK_TOKEN) ?? NO_ID;
}

// Built once per vocabulary array: predict and dataset building look up many words in the same vocab.
const indexCache = new WeakMap<readonly string[], Map<string, number>>();

function indexOf(vocab: readonly string[]): Map<string, number> {
  let index = indexCache.get(vocab);
  if (index === undefined) {
    index = new Map(vocab.map((w, i) => [w, i]));
    indexCache.set(vocab, index);
  }
  return index;
}

/** The id of each word: its own, else `unk`, else NO_ID. */
export function wordIds(words: readonly string[], vocab: readonly string[], unk: number): Int32Array {
  const index = indexOf(vocab);
  return Int32Array.from(words, (w) => index.get(w) ?? (unk >= 0 ? unk : NO_ID));
}

/**
 * Maps cleaned words to ids for predict. Words not in the vocabulary are listed in `unknown` (once
 * each, in order); they become `unk` when the vocabulary has "<unk>" (unk >= 0) and are left out of
 * `ids` otherwise.
 */
export function encodeWords(
  words: readonly string[],
  vocab: readonly string[],
  unk: number,
): { ids: number[]; unknown: string[] } {
  const index = indexOf(vocab);
  const ids: number[] = [];
  const unknown: string[] = [];
  for (const w of words) {
    const id = index.get(w);
    if (id === undefined && !unknown.includes(w)) unknown.push(w);
    const mapped = id ?? unk;
    if (mapped >= 0) ids.push(mapped);
  }
  return { ids, unknown };
}
