/** A prompt as the model reads it: cleaned like the training headlines, then its last `window` word ids. */
import { cleanHeadline } from "../data/clean.ts";
import { encodeWords, UNK_TOKEN } from "../data/vocab.ts";
import { UserError } from "../errors.ts";

export interface EncodedPrompt {
  /** All cleaned words (what the output shows). */
  words: string[];
  /** The ids of the last `window` words: the model's context. */
  context: Int32Array;
  /** Context words not in the vocabulary, read as <unk> (only possible when the vocabulary has one). */
  unknown: string[];
}

/**
 * Cleans and encodes one prompt; every problem is a one-line UserError quoting the prompt. Only the last
 * `window` words reach the model, so only they must be in the vocabulary; missing ones become <unk> where
 * the vocabulary has it and are an error (naming them) where it does not.
 */
export function encodePrompt(text: string, vocab: readonly string[], window: number): EncodedPrompt {
  const words = cleanHeadline(text);
  const quoted = JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
  if (words.length === 0) throw new UserError(`prompt ${quoted} is empty (no words left after cleaning)`);
  if (words.length < window) {
    throw new UserError(
      `prompt ${quoted} has ${words.length} word${words.length === 1 ? "" : "s"}; ` +
        `the model reads ${window} (its window)`,
    );
  }
  const unk = vocab.indexOf(UNK_TOKEN);
  const { ids, unknown } = encodeWords(words.slice(-window), vocab, unk);
  if (unknown.length > 0 && unk < 0) {
    throw new UserError(
      `prompt ${quoted}: not in the model's vocabulary: ${unknown.map((w) => JSON.stringify(w)).join(", ")}`,
    );
  }
  return { words, context: Int32Array.from(ids), unknown };
}
