/**
 * Headlines generated while training (train --sample-every N): at every N-th epoch end, a few samples per
 * prompt, drawn from a stream seeded by (training seed, epoch) alone, so a resumed run, whose weights at that
 * epoch are bit for bit the uninterrupted run's, draws the same samples.
 */
import type { Dataset } from "../data/types.ts";
import { UNK_TOKEN } from "../data/vocab.ts";
import type { SampleRecord } from "../io/samples.ts";
import type { Backend } from "../model/backend.ts";
import { type ModelConfig, modelKind } from "../model/config.ts";
import { generateHeadlines } from "../sample/generate.ts";
import { type EncodedPrompt, encodePrompt } from "../sample/prompt.ts";

/** Samples drawn per prompt at each sampling epoch. */
export const SAMPLES_PER_PROMPT = 3;
/** Words generated at most per sample (a boundaries model's headline ends earlier at "</s>"). */
export const SAMPLE_WORDS = 15;
/** Sampling temperature: below 1, so a half-trained model's samples read as its likeliest guesses. */
export const SAMPLE_TEMPERATURE = 0.8;
/** Separates prompts in --sample-prompts (cleaning deletes it from any prompt, so it cannot be in one). */
export const PROMPT_SEPARATOR = "|";

/** When and from what the training loop generates sample headlines. */
export interface SampleSettings {
  /** Sample at the end of every `every`-th epoch. */
  every: number;
  /** The prompts, encoded for the model (encodeSamplePrompts). */
  prompts: EncodedPrompt[];
}

/**
 * The prompts sampled when none are given: a boundaries model writes whole headlines from the empty prompt;
 * a model without boundaries continues the context of the first training pair free of "<unk>".
 */
export function defaultSamplePrompts(data: Dataset): string[] {
  if (data.boundaries) return [""];
  const T = data.window;
  for (let p = 0; p < data.train.count; p++) {
    const words = Array.from(data.train.inputs.subarray(p * T, (p + 1) * T), (id) => data.vocab[id]);
    if (!words.includes(UNK_TOKEN)) return [words.join(" ")];
  }
  return [];
}

/** Encodes the prompts for this model: a prompt the model cannot read is a UserError now. */
export function encodeSamplePrompts(
  prompts: string[],
  vocab: readonly string[],
  config: Pick<ModelConfig, "window" | "kind">,
): EncodedPrompt[] {
  return prompts.map((text) => encodePrompt(text, vocab, config.window, modelKind(config as ModelConfig)));
}

/** The seed of an epoch's samples: the training seed and the epoch mixed (the Rng spreads nearby seeds). */
export function sampleSeed(seed: number, epoch: number): number {
  return (seed ^ Math.imul(epoch, 0x9e3779b9)) >>> 0;
}

/** The samples of the model as it is after `epoch` (SAMPLES_PER_PROMPT per prompt, in prompt order). */
export async function drawSamples(
  backend: Backend,
  vocab: readonly string[],
  prompts: EncodedPrompt[],
  seed: number,
  epoch: number,
): Promise<SampleRecord[]> {
  const texts = await generateHeadlines(backend, prompts, vocab, {
    steps: SAMPLE_WORDS,
    count: SAMPLES_PER_PROMPT,
    temperature: SAMPLE_TEMPERATURE,
  }, sampleSeed(seed, epoch));
  return prompts.flatMap((p, i) => texts[i].map((text) => ({ epoch, prompt: p.words.join(" "), text })));
}
