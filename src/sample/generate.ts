/**
 * Autoregressive generation: every sample extends its own context by one sampled word per step (a window
 * model's window slides, a headline model carries its state), all samples of all prompts together in one
 * backend call per step (src/sample/contexts.ts).
 */
import type { Backend } from "../model/backend.ts";
import { Rng } from "../model/rng.ts";
import { banEndAtStart, banIds, sampleNext, type SamplingOptions } from "./sampling.ts";
import { numberFlag } from "../flag_values.ts";
import { USAGE_EXIT, UserError } from "../errors.ts";
import { type EncodedPrompt, promptText, specialIds } from "./prompt.ts";
import { contextRows, type RowsPartner } from "./contexts.ts";
import type { Partner } from "../eval/partner.ts";

/** What generation does when not told otherwise (predict --generate's flags, the web page's fields). */
export const GENERATION_DEFAULTS = { count: 1, temperature: 1, topP: 1 } as const;

/**
 * --temperature and --top-p from their text (undefined: the default), with predict's one-line errors:
 * a temperature >= 0 (0 is greedy) and a top-p in (0, 1].
 */
export function samplingFlags(
  temperatureText: string | undefined,
  topPText: string | undefined,
): { temperature: number; topP: number } {
  const temperature = numberFlag("temperature", temperatureText, GENERATION_DEFAULTS.temperature, "number");
  if (temperature < 0) {
    throw new UserError(`--temperature must be >= 0 (0 means greedy), got "${temperatureText}"`, USAGE_EXIT);
  }
  const topP = numberFlag("top-p", topPText, GENERATION_DEFAULTS.topP, "number");
  if (!(topP > 0 && topP <= 1)) {
    throw new UserError(`--top-p must be in (0, 1], got "${topPText}"`, USAGE_EXIT);
  }
  return { temperature, topP };
}

/** How generateIds draws: the sampling settings, how far and how many, and which ids stop or never come. */
export interface GenerateOptions extends SamplingOptions {
  /** Words to add to each sample at most. */
  steps: number;
  /** Samples per prompt. */
  count: number;
  /** Ids that end a sample when drawn (they are not appended), e.g. <unk>'s with --stop-at-unk. */
  stopIds?: readonly number[];
  /** Ids never drawn ("<s>"). */
  bannedIds?: readonly number[];
  /** Headline boundaries: `end` ("</s>") ends a sample and is never drawn right after a window of only `start`. */
  boundaries?: { start: number; end: number };
}

/**
 * Generated ids for each of prompts * count samples; sample s of prompt p is row p * count + s. contexts
 * holds each prompt's context (EncodedPrompt.context). Each row draws from its own stream, seeded from `rng`
 * in row order, so a seed fixes every sample and a row that stops (leaving the batch) changes no other row.
 */
export async function generateIds(
  backend: Backend,
  contexts: readonly Int32Array[],
  opts: GenerateOptions,
  rng: Rng,
  partner?: RowsPartner,
): Promise<Int32Array[]> {
  const V = backend.config.vocab;
  const count = contexts.length * opts.count;
  // Sample s of prompt p is row p * count + s.
  const copies = <T>(perPrompt: readonly T[]) =>
    Array.from({ length: count }, (_, r) => perPrompt[Math.floor(r / opts.count)]);
  const rows = await contextRows(
    backend,
    copies(contexts),
    partner && { partner: partner.partner, histories: copies(partner.histories) },
  );
  const rowRngs = Array.from({ length: count }, () => new Rng(rng.nextU32()));
  const generated: number[][] = Array.from({ length: count }, () => []);
  // The sample each of the rows (in order) belongs to.
  let active = Array.from({ length: count }, (_, r) => r);
  for (let step = 0; step < opts.steps && active.length > 0; step++) {
    const logits = banIds(await rows.logits(), V, opts.bannedIds ?? []);
    const b = opts.boundaries;
    if (b) banEndAtStart(logits, rows, b.end);
    const keep: number[] = [];
    const ids: number[] = [];
    active.forEach((r, i) => {
      const id = sampleNext(logits.subarray(i * V, (i + 1) * V), opts, rowRngs[r]);
      if (opts.stopIds?.includes(id) || id === b?.end) return;
      generated[r].push(id);
      keep.push(i);
      ids.push(id);
    });
    active = keep.map((i) => active[i]);
    // The last step's words need no logits after them.
    if (step + 1 < opts.steps && active.length > 0) await rows.extend(keep, ids);
  }
  return generated.map((ids) => Int32Array.from(ids));
}

/** What generateHeadlines draws: generateIds' sampling settings, and what to do with <unk>. */
export interface HeadlineOptions extends SamplingOptions {
  /** Words added at most. */
  steps: number;
  /** Headlines per prompt. */
  count: number;
  /** End a sample when it draws <unk> (predict --stop-at-unk). */
  stopAtUnk?: boolean;
  /** Never draw <unk> (predict --no-unk). */
  noUnk?: boolean;
}

/**
 * Generated headlines as predict --generate prints them: for each prompt, `count` texts of its words followed
 * by the sampled ones (promptText). All prompts' samples are drawn together (generateIds) from `seed`, so a
 * seed gives the same texts wherever this runs. The model's special words decide the rest: "<s>" is never
 * drawn, "</s>" ends a sample (boundaries models), and <unk> ends it or is never drawn when asked (and the
 * vocabulary has one). With `partner`, words are drawn from the model mixed with the count model.
 */
export async function generateHeadlines(
  backend: Backend,
  prompts: EncodedPrompt[],
  vocab: readonly string[],
  opts: HeadlineOptions,
  seed: number,
  partner?: Partner,
): Promise<string[][]> {
  const special = specialIds(vocab);
  const { stopAtUnk, noUnk, ...sampling } = opts;
  const unk = special.unk >= 0 ? [special.unk] : [];
  const samples = await generateIds(
    backend,
    prompts.map((p) => p.context),
    {
      ...sampling,
      stopIds: stopAtUnk ? unk : [],
      bannedIds: [...special.banned, ...(noUnk ? unk : [])],
      boundaries: special.boundaries,
    },
    new Rng(seed),
    partner && { partner, histories: prompts.map((p) => p.ids) },
  );
  return prompts.map((p, i) =>
    samples.slice(i * opts.count, (i + 1) * opts.count).map((ids) => promptText(p, ids, vocab))
  );
}
