/**
 * Beam search: the most probable continuations of each prompt, by total log-probability (or, optionally,
 * per token). All beams of all prompts go through one backend call per step (src/sample/contexts.ts).
 */
import type { Backend } from "../model/backend.ts";
import { contextRows, type RowsPartner } from "./contexts.ts";
import { banEndAtStart, banIds, logSoftmax } from "./sampling.ts";

/** How beamSearch searches. */
export interface BeamOptions {
  /** Beams kept per prompt at each step, and continuations returned per prompt. */
  width: number;
  /** Words to add at most (a continuation that draws `boundaries.end` stops earlier). */
  steps: number;
  /**
   * Headline boundaries: `end` ("</s>") ends a continuation (its log-probability counts, it is not one of
   * the words) and cannot follow a window of only `start` ("<s>"): a headline has a word.
   */
  boundaries?: { start: number; end: number };
  /** Never chosen ("<s>"). */
  bannedIds?: readonly number[];
  /** Rank by log-probability per token (the end token counting as one) instead of the total. */
  lengthNorm?: boolean;
}

/** One continuation beamSearch found. */
export interface Continuation {
  /** The words' ids (without the end token). */
  ids: number[];
  /**
   * Total natural log-probability of the words and, when `ended`, of the end token, each word's under the
   * model's distribution renormalised without the banned ids (as predict's probabilities are).
   */
  logProb: number;
  /** Whether the continuation ended with the end token before `steps` words. */
  ended: boolean;
  /** What continuations are ranked by: logProb, or logProb per token with lengthNorm. */
  score: number;
}

/**
 * The `width` best continuations of each prompt (contexts: EncodedPrompt.context each), best first. A
 * continuation is either `steps` words, or fewer words followed by the end token. At each step every live beam is
 * extended by every word; the `width` best that did not end stay live, and the `width` best that ended are
 * kept as finished (no later continuation of the same length can displace more than those). Live beams of
 * one step all have the same length, so pruning by total log-probability is pruning by the per-token score
 * too. Ties are broken by the ids in lexicographic order, so the result is deterministic; with `width` at
 * least the number of possible prefixes of `steps - 1` words, nothing is pruned and the result is the
 * exhaustive ranking's top `width`.
 */
export async function beamSearch(
  backend: Backend,
  contexts: readonly Int32Array[],
  opts: BeamOptions,
  partner?: RowsPartner,
): Promise<Continuation[][]> {
  const V = backend.config.vocab;
  if (!Number.isInteger(opts.width) || opts.width < 1) {
    throw new Error(`beamSearch: width must be a positive integer, got ${opts.width}`);
  }
  const score = (ids: number[], logProb: number, ended: boolean) =>
    opts.lengthNorm ? logProb / (ids.length + (ended ? 1 : 0)) : logProb;
  // A beam's `row` is its context's row in `rows` this step.
  type Live = { ids: number[]; logProb: number; row: number };
  const rows = await contextRows(backend, contexts, partner);
  let live: Live[][] = contexts.map((_, p) => [{ ids: [], logProb: 0, row: p }]);
  const finished: Continuation[][] = contexts.map(() => []);
  for (let step = 0; step < opts.steps; step++) {
    if (live.every((beams) => beams.length === 0)) break;
    const logits = banIds(await rows.logits(), V, opts.bannedIds ?? []);
    if (opts.boundaries) banEndAtStart(logits, rows, opts.boundaries.end);
    const endId = opts.boundaries?.end;
    const kept: Array<Array<{ parent: Live; id: number; logProb: number }>> = live.map((beams, p) => {
      const extended: Array<{ parent: Live; id: number; logProb: number }> = [];
      for (const parent of beams) {
        const lp = logSoftmax(logits.subarray(parent.row * V, (parent.row + 1) * V));
        for (let id = 0; id < V; id++) {
          if (lp[id] > -Infinity) extended.push({ parent, id, logProb: parent.logProb + lp[id] });
        }
      }
      // Parents of one step have the same length: comparing them, then the new id, is comparing the ids.
      extended.sort((a, b) => b.logProb - a.logProb || compareIds(a.parent.ids, b.parent.ids) || a.id - b.id);
      const ends = extended.filter((c) => c.id === endId).slice(0, opts.width);
      for (const { parent: { ids }, logProb } of ends) {
        finished[p].push({ ids, logProb, ended: true, score: score(ids, logProb, true) });
      }
      return extended.filter((c) => c.id !== endId).slice(0, opts.width);
    });
    let row = 0;
    live = kept.map((beams) =>
      beams.map((c) => ({ ids: [...c.parent.ids, c.id], logProb: c.logProb, row: row++ }))
    );
    const next = kept.flat();
    // The last step's beams need no logits after them.
    if (step + 1 < opts.steps && next.length > 0) {
      await rows.extend(next.map((c) => c.parent.row), next.map((c) => c.id));
    }
  }
  return finished.map((done, p) => {
    const unended = live[p].map(({ ids, logProb }) => ({
      ids,
      logProb,
      ended: false,
      score: score(ids, logProb, false),
    }));
    const all = [...done, ...unended];
    return all.sort(compareContinuations).slice(0, opts.width);
  });
}

/** Best score first; equal scores by ids in lexicographic order (a prefix first), then unended first. */
function compareContinuations(a: Continuation, b: Continuation): number {
  return b.score - a.score || compareIds(a.ids, b.ids) || Number(a.ended) - Number(b.ended);
}

function compareIds(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
