/** The next-word distribution for a batch of prompts: one logits pass, then softmax and top-k per row. */
import type { Backend } from "../model/backend.ts";
import { contextRows, type RowsPartner } from "./contexts.ts";
import { banIds, type Candidates, softmax, topK } from "./sampling.ts";

/**
 * The k most likely next words of each context (EncodedPrompt.context: a window model's window, a headline
 * model's prefix from "<s>"), most likely first, ties by lower id, with their softmax probabilities over the
 * whole vocabulary (not renormalised over the k) less the `banned` ids (e.g. "<s>"), which are never
 * proposed. With `partner`, the distribution is the model's mixed with the count model's.
 */
export async function predictNext(
  backend: Backend,
  contexts: readonly Int32Array[],
  k: number,
  banned: readonly number[] = [],
  partner?: RowsPartner,
): Promise<Candidates[]> {
  const V = backend.config.vocab;
  const rows = await contextRows(backend, contexts, partner);
  const logits = banIds(await rows.logits(), V, banned);
  const out: Candidates[] = [];
  for (let r = 0; r < rows.count; r++) {
    const probs = softmax(logits.subarray(r * V, (r + 1) * V));
    const ids = topK(probs, k);
    out.push({ ids, probs: Float64Array.from(ids, (id) => probs[id]) });
  }
  return out;
}
