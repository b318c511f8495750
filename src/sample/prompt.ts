/**
 * A prompt as the model reads it: cleaned like the training headlines, then a window model's last `window`
 * word ids, left-padded with "<s>" when the model knows headline boundaries, or a headline model's "<s>" and
 * all the words; and how the vocabulary's special tokens act in prediction.
 */
import { cleanHeadline } from "../data/clean.ts";
import { BOS_ID, encodeWords, EOS_ID, hasBoundaries, unkId, wordIds } from "../data/vocab.ts";
import { setting, USAGE_EXIT, UserError, words } from "../errors.ts";
import type { ModelKind } from "../model/config.ts";

/** A prompt cleaned and encoded for a model. */
export interface EncodedPrompt {
  /** All cleaned words (what the output shows). */
  words: string[];
  /**
   * The model's context: a window model's last `window` ids (after "<s>" padding, for a boundaries model), a
   * headline model's "<s>" and every word's id.
   */
  context: Int32Array;
  /** Every word's id (<unk>, or -1 where the vocabulary has no <unk>): what a count model reads. */
  ids: Int32Array;
  /** Context words not in the vocabulary, read as <unk> (only possible when the vocabulary has one). */
  unknown: string[];
}

/**
 * Cleans and encodes one prompt; every problem is a one-line UserError quoting the prompt. Only the last
 * `window` words reach the model (it was never shown more), so only they must be in the vocabulary; missing
 * ones become <unk> where the vocabulary has it and are an error (naming them) where it does not. A model
 * with headline boundaries reads a prompt as the start of a headline: one shorter than the window (even an
 * empty one) is left-padded with "<s>", as training framed every headline. Without boundaries the model
 * never saw a window holding fewer words, so such a prompt is an error. A headline model (`kind`) reads all
 * the words, so all must be known or <unk>.
 */
export function encodePrompt(
  text: string,
  vocab: readonly string[],
  window: number,
  kind: ModelKind = "window",
): EncodedPrompt {
  const words = cleanHeadline(text);
  const quoted = JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
  if (kind === "headline") return encodeHeadlinePrompt(words, vocab, quoted);
  const boundaries = hasBoundaries(vocab);
  if (!boundaries && words.length === 0) {
    throw new UserError(`prompt ${quoted} is empty (no words left after cleaning)`);
  }
  if (!boundaries && words.length < window) {
    throw new UserError(
      `prompt ${quoted} has ${words.length} word${words.length === 1 ? "" : "s"}; ` +
        `the model reads ${window} (its window)`,
    );
  }
  const { ids, unknown } = knownIds(words.slice(-window), vocab, quoted);
  const context = new Int32Array(window).fill(BOS_ID);
  context.set(ids, window - ids.length);
  return { words, context, ids: wordIds(words, vocab, unkId(vocab)), unknown };
}

/**
 * A headline model reads a prompt as the start of a headline, all of it: "<s>" and every word (the empty
 * prompt asks for a whole headline).
 */
function encodeHeadlinePrompt(words: string[], vocab: readonly string[], quoted: string): EncodedPrompt {
  const { ids, unknown } = knownIds(words, vocab, quoted);
  const context = new Int32Array(ids.length + 1);
  context[0] = BOS_ID;
  context.set(ids, 1);
  return { words, context, ids: Int32Array.from(ids), unknown };
}

/** The words' ids, unknown ones as <unk>; a UserError naming them when the vocabulary has no <unk>. */
function knownIds(words: string[], vocab: readonly string[], quoted: string) {
  const unk = unkId(vocab);
  const { ids, unknown } = encodeWords(words, vocab, unk);
  if (unknown.length > 0 && unk < 0) {
    throw new UserError(
      `prompt ${quoted}: not in the model's vocabulary: ${unknown.map((w) => JSON.stringify(w)).join(", ")}`,
    );
  }
  return { ids, unknown };
}

/** A prompt's words followed by generated ids' words: a sample as it is printed. */
export function promptText(p: EncodedPrompt, ids: ArrayLike<number>, vocab: readonly string[]): string {
  return [...p.words, ...Array.from(ids, (id) => vocab[id])].join(" ");
}

/**
 * Refuses a top-k larger than the words a model can propose: its vocabulary less the banned words (which
 * are never proposed or drawn).
 */
export function checkTopK(k: number | undefined, vocabSize: number, banned: readonly number[]): void {
  const choices = vocabSize - banned.length;
  if (k !== undefined && k > choices) {
    throw new UserError(
      words`${setting("top-k")} must be at most ${choices}, the words the model can propose, got "${k}"`,
      USAGE_EXIT,
    );
  }
}

/** What a vocabulary's special tokens mean to predict and generation. */
export interface SpecialIds {
  /** Never proposed or drawn: "<s>" (a model is never asked to start a headline in the middle of one). */
  banned: number[];
  /**
   * A boundaries model's "<s>" and "</s>": "</s>" ends a sample when drawn (it is not part of its text), and
   * is never drawn at a headline's start.
   */
  boundaries?: { start: number; end: number };
  /** "<unk>", or -1. */
  unk: number;
}

/** How a vocabulary's special tokens act in prediction and generation. */
export function specialIds(vocab: readonly string[]): SpecialIds {
  const unk = unkId(vocab);
  return hasBoundaries(vocab)
    ? { banned: [BOS_ID], boundaries: { start: BOS_ID, end: EOS_ID }, unk }
    : { banned: [], unk };
}
