/**
 * Sampling functions against distributions computed by hand; prompt encoding; next-word prediction and
 * generation on the CPU backend against step-by-step runs of the CPU reference model.
 */
import { assert, assertAllClose, assertEquals, assertThrows } from "./assert.ts";
import { Rng } from "../src/model/rng.ts";
import type { ModelConfig } from "../src/model/config.ts";
import type { Backend } from "../src/model/backend.ts";
import { initParams } from "../src/model/init.ts";
import { createCpuBackend } from "../src/cpu/backend.ts";
import { modelForward } from "../src/cpu/model.ts";
import { encodePrompt } from "../src/sample/prompt.ts";
import { predictNext } from "../src/sample/predict.ts";
import { generateIds } from "../src/sample/generate.ts";
import {
  drawIndex,
  greedy,
  sampleNext,
  samplingCandidates,
  type SamplingOptions,
  softmax,
  topK,
} from "../src/sample/sampling.ts";

// logits ln(1..4): softmax is exactly [1, 2, 3, 4] / 10.
const LOGITS = [Math.log(1), Math.log(2), Math.log(3), Math.log(4)];

Deno.test("softmax of ln(1..4) is [.1 .2 .3 .4]; temperature 2 takes square roots", () => {
  assertAllClose(softmax(LOGITS), [0.1, 0.2, 0.3, 0.4], { atol: 1e-12, rtol: 0 });
  const roots = [1, Math.SQRT2, Math.sqrt(3), 2];
  const sum = roots.reduce((a, b) => a + b);
  assertAllClose(softmax(LOGITS, 2), roots.map((r) => r / sum), { atol: 1e-12, rtol: 0 });
});

Deno.test("softmax is stable for huge logits (shift by the max) and rejects temperature <= 0", () => {
  const p = softmax([1000, 1000 + Math.log(3)]);
  assertAllClose(p, [0.25, 0.75], { atol: 1e-12, rtol: 0 });
  const low = softmax([-1e30, 0]);
  assertEquals(Array.from(low), [0, 1]);
  assertThrows(() => softmax(LOGITS, 0), /temperature/);
});

Deno.test("topK orders by value and breaks ties by lower id; greedy takes the lowest tied id", () => {
  const values = [0.2, 0.5, 0.1, 0.5, 0.2];
  assertEquals(Array.from(topK(values, 5)), [1, 3, 0, 4, 2]);
  assertEquals(Array.from(topK(values, 3)), [1, 3, 0]);
  assertEquals(greedy(values), 1);
  assertThrows(() => topK(values, 0), /k must be/);
  assertThrows(() => topK(values, 6), /k must be/);
});

Deno.test("samplingCandidates: top-k then top-p, renormalised, most likely first", () => {
  const close = (opts: SamplingOptions, ids: number[], probs: number[]) => {
    const c = samplingCandidates(LOGITS, opts);
    assertEquals(Array.from(c.ids), ids);
    assertAllClose(c.probs, probs, { atol: 1e-12, rtol: 0, what: JSON.stringify(opts) });
  };
  close({ temperature: 1 }, [3, 2, 1, 0], [0.4, 0.3, 0.2, 0.1]);
  close({ temperature: 1, topK: 2 }, [3, 2], [4 / 7, 3 / 7]);
  // Nucleus 0.5: 0.4 is below 0.5 so the next word joins; then 0.7 reaches it.
  close({ temperature: 1, topP: 0.5 }, [3, 2], [4 / 7, 3 / 7]);
  close({ temperature: 1, topP: 0.35 }, [3], [1]);
  close({ temperature: 1, topP: 0.95 }, [3, 2, 1, 0], [0.4, 0.3, 0.2, 0.1]);
  // top-p applies to the top-k distribution: [4/7, 3/7] has 4/7 >= 0.55, so one word remains.
  close({ temperature: 1, topK: 2, topP: 0.55 }, [3], [1]);
  close({ temperature: 0, topP: 0.1 }, [3], [1]);
  assertThrows(() => samplingCandidates(LOGITS, { temperature: 1, topP: 0 }), /top-p/);
});

/** Frequencies of sampleNext over n seeded draws. */
function frequencies(opts: SamplingOptions, n: number, seed: number): number[] {
  const rng = new Rng(seed);
  const counts = new Array(LOGITS.length).fill(0);
  for (let i = 0; i < n; i++) counts[sampleNext(LOGITS, opts, rng)]++;
  return counts.map((c) => c / n);
}

// 20000 draws: a frequency's standard deviation is at most 0.0036, so 0.015 is over 4 sigma.
const DRAWS = 20000;
const FREQ_TOL = { atol: 0.015, rtol: 0 };

Deno.test("sampled frequencies match the hand-computed distributions", () => {
  assertAllClose(frequencies({ temperature: 1 }, DRAWS, 1), [0.1, 0.2, 0.3, 0.4], FREQ_TOL);
  const roots = [1, Math.SQRT2, Math.sqrt(3), 2];
  const sum = roots.reduce((a, b) => a + b);
  assertAllClose(frequencies({ temperature: 2 }, DRAWS, 2), roots.map((r) => r / sum), FREQ_TOL);
  assertAllClose(frequencies({ temperature: 1, topK: 2 }, DRAWS, 3), [0, 0, 3 / 7, 4 / 7], FREQ_TOL);
  assertAllClose(frequencies({ temperature: 1, topP: 0.5 }, DRAWS, 4), [0, 0, 3 / 7, 4 / 7], FREQ_TOL);
  assertEquals(frequencies({ temperature: 0 }, 50, 5), [0, 0, 0, 1]);
});

Deno.test("draws are reproducible from the seed and differ between seeds", () => {
  const draw = (seed: number) => {
    const rng = new Rng(seed);
    return Array.from({ length: 40 }, () => sampleNext(LOGITS, { temperature: 1, topK: 3 }, rng));
  };
  assertEquals(draw(7), draw(7));
  assert(draw(7).join() !== draw(8).join(), "seeds 7 and 8 drew the same 40 words");
});

Deno.test("drawIndex never picks a zero-weight entry, even when the uniform is at its extremes", () => {
  const fixed = (u: number) => ({ next: () => u }) as unknown as Rng;
  const weights = [0, 0.25, 0, 0.75, 0];
  assertEquals(drawIndex(weights, fixed(0)), 1);
  assertEquals(drawIndex(weights, fixed(0.2499)), 1);
  assertEquals(drawIndex(weights, fixed(0.25)), 3);
  assertEquals(drawIndex(weights, fixed(1 - 2 ** -32)), 3);
  assertThrows(() => drawIndex([0, 0], fixed(0.5)), /positive sum/);
});

const VOCAB = ["<unk>", "i", "love", "the", "news", "of", "trump", "a", "day", "new", "york", "times"];
const NO_UNK = VOCAB.slice(1);

Deno.test("encodePrompt cleans like training and keeps the last window ids", () => {
  const p = encodePrompt("The NEWS, of: I Love!", VOCAB, 2);
  assertEquals(p.words, ["the", "news", "of", "i", "love"]);
  assertEquals(Array.from(p.context), [1, 2]);
  assertEquals(p.unknown, []);
  // Words before the window never reach the model, so they need not be in the vocabulary.
  assertEquals(Array.from(encodePrompt("zebra i love", NO_UNK, 2).context), [0, 1]);
});

Deno.test("encodePrompt: unknown words become <unk> only when the vocabulary has it, else are named", () => {
  const p = encodePrompt("i zebra", VOCAB, 2);
  assertEquals(Array.from(p.context), [1, 0]);
  assertEquals(p.unknown, ["zebra"]);
  assertThrows(() => encodePrompt("zebra yak", NO_UNK, 2), /not in the model's vocabulary: "zebra", "yak"$/);
  assertThrows(() => encodePrompt(" ?! ", VOCAB, 2), /is empty/);
  assertThrows(() => encodePrompt("love", VOCAB, 2), /has 1 word; the model reads 2/);
});

const TINY: ModelConfig = { vocab: VOCAB.length, embed: 4, hidden: 6, layers: 2, window: 2 };
const PARAMS = initParams(TINY, 3);

/** The reference logits of one window, straight from the CPU model. */
function referenceLogits(ids: number[]): Float32Array {
  return modelForward(TINY, PARAMS, Int32Array.from(ids), 1).logits;
}

/** A CPU backend that records the row count of every logits call. */
async function spiedBackend(): Promise<{ backend: Backend; calls: number[] }> {
  const backend = await createCpuBackend(TINY);
  await backend.setParams(PARAMS);
  const calls: number[] = [];
  const logits = backend.logits.bind(backend);
  backend.logits = (inputs, count) => {
    calls.push(count);
    return logits(inputs, count);
  };
  return { backend, calls };
}

Deno.test("predictNext: top-k of each row with softmax probabilities of the reference logits", async () => {
  const { backend, calls } = await spiedBackend();
  const contexts = [[1, 2], [3, 4], [0, 0]];
  const next = await predictNext(backend, Int32Array.from(contexts.flat()), 3, 4);
  assertEquals(calls, [3]);
  contexts.forEach((ctx, r) => {
    const logits = Array.from(referenceLogits(ctx));
    const max = Math.max(...logits);
    const sum = logits.reduce((a, l) => a + Math.exp(l - max), 0);
    const expectedIds = logits.map((_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b).slice(0, 4);
    assertEquals(Array.from(next[r].ids), expectedIds);
    assertAllClose(next[r].probs, expectedIds.map((i) => Math.exp(logits[i] - max) / sum), { atol: 1e-6 });
  });
  backend.destroy();
});

Deno.test("generateIds greedy: the window slides over generated words, one batched call per step", async () => {
  const { backend, calls } = await spiedBackend();
  const prompts = [[1, 2], [5, 6]];
  const out = await generateIds(backend, Int32Array.from(prompts.flat()), 2, {
    steps: 4,
    count: 3,
    temperature: 0,
  }, new Rng(0));
  assertEquals(calls, [6, 6, 6, 6]);
  prompts.forEach((prompt, p) => {
    const words = [...prompt];
    for (let step = 0; step < 4; step++) words.push(greedy(referenceLogits(words.slice(-2))));
    for (let s = 0; s < 3; s++) assertEquals(Array.from(out[p * 3 + s]), words.slice(2));
  });
  backend.destroy();
});

Deno.test("generateIds sampling: seeded, samples differ, a stop word ends a sample and leaves the batch", async () => {
  const { backend, calls } = await spiedBackend();
  const run = (seed: number, stopId?: number) =>
    generateIds(
      backend,
      Int32Array.of(1, 2),
      1,
      { steps: 6, count: 8, temperature: 5, stopId },
      new Rng(seed),
    );
  const a = (await run(11)).map((ids) => Array.from(ids).join());
  assertEquals((await run(11)).map((ids) => Array.from(ids).join()), a);
  assert(new Set(a).size > 1, "8 samples at temperature 5 were all the same");
  calls.length = 0;
  // Rows draw from their own streams, so each sample is its unstopped self cut before its first stop word.
  const stopId = Number(a[0].split(",")[0]);
  const stopped = await run(11, stopId);
  stopped.forEach((ids, r) => {
    const full = a[r].split(",").map(Number);
    const cut = full.indexOf(stopId);
    assertEquals(Array.from(ids), cut < 0 ? full : full.slice(0, cut));
  });
  assertEquals(stopped[0].length, 0);
  // Step t's call holds exactly the samples that have not drawn the stop word in their first t words.
  const live = (t: number) =>
    a.filter((sample) => !sample.split(",").slice(0, t).map(Number).includes(stopId));
  const expectedRows = [0, 1, 2, 3, 4, 5].map((t) => live(t).length).filter((n) => n > 0);
  assertEquals(calls, expectedRows);
  assert(calls[1] < 8, "the sample that stopped at its first word stayed in the batch");
  backend.destroy();
});
