/**
 * Sampling functions against distributions computed by hand; prompt encoding; next-word prediction and
 * generation on the CPU backend against step-by-step runs of the CPU reference model.
 */
import { assert, assertAllClose, assertEquals, assertThrows } from "./assert.ts";
import { asFlag, errorLine, UserError } from "../src/errors.ts";
import { Rng } from "../src/model/rng.ts";
import type { ModelConfig } from "../src/model/config.ts";
import type { Backend } from "../src/model/backend.ts";
import { initParams } from "../src/model/init.ts";
import { createCpuBackend } from "../src/cpu/backend.ts";
import { modelForward } from "../src/cpu/model.ts";
import { checkTopK, encodePrompt, specialIds } from "../src/sample/prompt.ts";
import { type BeamOptions, beamSearch, type Continuation } from "../src/sample/beam.ts";
import { BOS_TOKEN, EOS_TOKEN } from "../src/data/vocab.ts";
import { predictNext } from "../src/sample/predict.ts";
import { generateIds } from "../src/sample/generate.ts";
import {
  banIds,
  drawIndex,
  greedy,
  logSoftmax,
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

// A boundaries vocabulary: <s> and </s> at ids 0 and 1.
const BOUNDED = [BOS_TOKEN, EOS_TOKEN, "<unk>", "i", "love", "the", "news"];

Deno.test("encodePrompt with boundaries: shorter prompts left-padded with <s>, the empty one all <s>", () => {
  assertEquals(Array.from(encodePrompt("", BOUNDED, 2).context), [0, 0]);
  assertEquals(Array.from(encodePrompt("?!", BOUNDED, 3).context), [0, 0, 0]);
  assertEquals(Array.from(encodePrompt("Love", BOUNDED, 2).context), [0, 4]);
  assertEquals(Array.from(encodePrompt("i love", BOUNDED, 3).context), [0, 3, 4]);
  // Longer than the window: the last window words, as without boundaries (no <s>: not a headline's start).
  const long = encodePrompt("the news i love", BOUNDED, 2);
  assertEquals([long.words.length, Array.from(long.context)], [4, [3, 4]]);
  assertEquals(encodePrompt("zebra", BOUNDED, 2).unknown, ["zebra"]);
});

Deno.test("specialIds: <s> banned and </s> the end with boundaries; nothing without", () => {
  assertEquals(specialIds(BOUNDED), { banned: [0], boundaries: { start: 0, end: 1 }, unk: 2 });
  assertEquals(specialIds(VOCAB), { banned: [], unk: 0 });
  assertEquals(specialIds(NO_UNK), { banned: [], unk: -1 });
});

Deno.test("banIds and logSoftmax: banned ids get probability 0, the rest renormalised", () => {
  const logits = Float32Array.from([...LOGITS, ...LOGITS]);
  banIds(logits, 4, [3]);
  assertEquals([logits[3], logits[7]], [-Infinity, -Infinity]);
  assertAllClose(softmax(logits.subarray(0, 4)), [1 / 6, 2 / 6, 3 / 6, 0], { atol: 1e-7, rtol: 0 });
  assertAllClose(logSoftmax(LOGITS), [0.1, 0.2, 0.3, 0.4].map(Math.log), { atol: 1e-12, rtol: 0 });
  assertEquals(logSoftmax(logits.subarray(0, 4))[3], -Infinity);
});

const TINY: ModelConfig = { vocab: VOCAB.length, embed: 4, hidden: 6, layers: 2, window: 2 };
const PARAMS = initParams(TINY, 3);

/** The reference logits of one window, straight from the CPU model. */
function referenceLogits(ids: number[]): Float32Array {
  return modelForward(TINY, PARAMS, Int32Array.from(ids), 1).logits;
}

/** A CPU backend (the TINY model unless told) that records the row count of every logits call. */
async function spiedBackend(cfg = TINY, params = PARAMS): Promise<{ backend: Backend; calls: number[] }> {
  const backend = await createCpuBackend(cfg);
  await backend.setParams(params);
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
  const next = await predictNext(backend, contexts.map((c) => Int32Array.from(c)), 4);
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
  const out = await generateIds(backend, prompts.map((p) => Int32Array.from(p)), {
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
      [Int32Array.of(1, 2)],
      { steps: 6, count: 8, temperature: 5, stopIds: stopId === undefined ? [] : [stopId] },
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

Deno.test("predictNext and generateIds never propose or draw a banned id", async () => {
  const { backend } = await spiedBackend();
  const [next] = await predictNext(backend, [Int32Array.of(1, 2)], VOCAB.length - 1, [5]);
  assert(!Array.from(next.ids).includes(5), "banned id 5 proposed");
  const logits = Array.from(referenceLogits([1, 2])).map((l, i) => (i === 5 ? -Infinity : l));
  const probs = softmax(logits);
  assertAllClose(next.probs, Array.from(next.ids, (id) => probs[id]), { atol: 1e-6 });
  const samples = await generateIds(backend, [Int32Array.of(1, 2)], {
    steps: 8,
    count: 30,
    temperature: 50,
    bannedIds: [5, 6],
  }, new Rng(4));
  const drawn = new Set(samples.flatMap((ids) => Array.from(ids)));
  assert(!drawn.has(5) && !drawn.has(6), `drew a banned id: ${[...drawn]}`);
  assert(drawn.size > 5, "temperature 50 should reach most words");
  backend.destroy();
});

Deno.test("generateIds with boundaries: </s> ends a sample, but never one that has no word yet", async () => {
  const { backend } = await spiedBackend();
  const V = TINY.vocab;
  // Logits that make id 1 (playing </s>) all but certain everywhere.
  backend.logits = (_inputs, count) => {
    const out = new Float32Array(count * V);
    for (let r = 0; r < count; r++) out[r * V + 1] = 100;
    return Promise.resolve(out);
  };
  const opts = { steps: 5, count: 4, temperature: 1, bannedIds: [0], boundaries: { start: 0, end: 1 } };
  const [a, b, c, d, ...rest] = await generateIds(
    backend,
    [Int32Array.of(0, 0), Int32Array.of(3, 4)],
    opts,
    new Rng(1),
  );
  // From <s> <s>: one word (neither <s> nor </s>), then the end; from a headline's middle: the end at once.
  for (const ids of [a, b, c, d]) assert(ids.length === 1 && ids[0] > 1, `${ids}`);
  assertEquals(rest.map((ids) => ids.length), [0, 0, 0, 0]);
  backend.destroy();
});

// Beam search against exhaustive search on a model small enough to enumerate: V = 6, 3 words.
const SMALL: ModelConfig = { vocab: 6, embed: 3, hidden: 5, layers: 2, window: 2 };
const SMALL_PARAMS = initParams(SMALL, 11);

/** Every continuation of `steps` words (or fewer then the end token) with its exact score, best first. */
function exhaustive(context: number[], opts: BeamOptions): Continuation[] {
  const out: Continuation[] = [];
  const grow = (ids: number[], logProb: number) => {
    const window = [...context, ...ids].slice(-SMALL.window);
    // Banned ids are out of the distribution: the rest is renormalised, as predict's probabilities are.
    const logits = banIds(
      modelForward(SMALL, SMALL_PARAMS, Int32Array.from(window), 1).logits,
      SMALL.vocab,
      opts.bannedIds ?? [],
    );
    // No headline without a word: the end cannot follow a window of start tokens only.
    const b = opts.boundaries;
    if (b && window.every((id) => id === b.start)) logits[b.end] = -Infinity;
    const lp = logSoftmax(logits);
    for (let id = 0; id < SMALL.vocab; id++) {
      if (lp[id] === -Infinity) continue;
      const total = logProb + lp[id];
      if (id === b?.end) {
        out.push({
          ids,
          logProb: total,
          ended: true,
          score: opts.lengthNorm ? total / (ids.length + 1) : total,
        });
      } else if (ids.length + 1 === opts.steps) {
        const done = [...ids, id];
        out.push({
          ids: done,
          logProb: total,
          ended: false,
          score: opts.lengthNorm ? total / done.length : total,
        });
      } else grow([...ids, id], total);
    }
  };
  grow([], 0);
  return out.sort((a, b) => b.score - a.score);
}

async function smallBeams(
  contexts: number[][],
  opts: BeamOptions,
): Promise<{ found: Continuation[][]; calls: number[] }> {
  const { backend, calls } = await spiedBackend(SMALL, SMALL_PARAMS);
  const found = await beamSearch(backend, contexts.map((c) => Int32Array.from(c)), opts);
  backend.destroy();
  return { found, calls };
}

function assertSameRanking(got: Continuation[], want: Continuation[], what: string): void {
  assertEquals(got.map((c) => [c.ids, c.ended]), want.map((c) => [c.ids, c.ended]), what);
  assertAllClose(got.map((c) => c.score), want.map((c) => c.score), { atol: 1e-9, rtol: 0, what });
  assertAllClose(got.map((c) => c.logProb), want.map((c) => c.logProb), { atol: 1e-9, rtol: 0, what });
}

Deno.test("beamSearch keeping every prefix equals exhaustive search; all prompts batched per step", async () => {
  const contexts = [[2, 3], [5, 0]];
  const opts = { width: 36, steps: 3 }; // 36 = 6^2: every 2-word prefix stays live
  const { found, calls } = await smallBeams(contexts, opts);
  contexts.forEach((ctx, p) => {
    const all = exhaustive(ctx, opts);
    assertEquals(all.length, 216);
    assertSameRanking(found[p], all.slice(0, 36), `prompt ${p}`);
  });
  assertEquals(calls, [2, 12, 72]); // 1, 6, then 36 beams per prompt, both prompts in one call
  const full = await smallBeams([[2, 3]], { width: 216, steps: 3 });
  assertSameRanking(full.found[0], exhaustive([2, 3], { width: 216, steps: 3 }), "all 216");
});

Deno.test("beamSearch with width 1 is greedy; a narrow beam's scores are the sequences' exact scores", async () => {
  const { found: [[best]] } = await smallBeams([[2, 3]], { width: 1, steps: 3 });
  const words = [2, 3];
  for (let i = 0; i < 3; i++) {
    words.push(greedy(modelForward(SMALL, SMALL_PARAMS, Int32Array.from(words.slice(-2)), 1).logits));
  }
  assertEquals(best.ids, words.slice(2));
  const { found: [narrow] } = await smallBeams([[2, 3]], { width: 4, steps: 3 });
  const exact = new Map(exhaustive([2, 3], { width: 4, steps: 3 }).map((c) => [c.ids.join(), c.score]));
  assertEquals(narrow.length, 4);
  narrow.forEach((c, i) => {
    assertAllClose([c.score], [exact.get(c.ids.join())!], { atol: 1e-9, rtol: 0 });
    if (i > 0) assert(narrow[i - 1].score >= c.score, "best first");
  });
});

Deno.test("beamSearch with an end token and a banned start token equals exhaustive search (total and per word)", async () => {
  // Ids 0 and 1 play <s> and </s>: 4 words can follow, so 16 two-word prefixes; 64 + 1 + 4 + 16
  // continuations, less the empty one at a headline's start (context <s> <s>).
  const boundaries = { start: 0, end: 1 };
  for (const lengthNorm of [false, true]) {
    const opts = { width: 16, steps: 3, boundaries, bannedIds: [0], lengthNorm };
    const { found } = await smallBeams([[0, 0], [0, 4]], opts);
    [[0, 0], [0, 4]].forEach((ctx, p) => {
      const all = exhaustive(ctx, opts);
      assertEquals(all.length, p === 0 ? 84 : 85);
      assert(p === 1 || all.every((c) => c.ids.length > 0), "no empty headline");
      assertSameRanking(found[p], all.slice(0, 16), `context ${ctx}, lengthNorm ${lengthNorm}`);
      assert(
        found[p].every((c) => !c.ids.includes(0) && !c.ids.includes(1)),
        "no <s> or </s> among the words",
      );
    });
  }
  const all = { width: 84, steps: 3, boundaries, bannedIds: [0] };
  assertSameRanking((await smallBeams([[0, 0]], all)).found[0], exhaustive([0, 0], all), "all 84");
});

Deno.test("checkTopK: at most the words a model can propose (its vocabulary less the banned ones)", () => {
  const boundaries = specialIds([BOS_TOKEN, EOS_TOKEN, "a", "b", "c"]);
  checkTopK(undefined, 5, boundaries.banned);
  checkTopK(4, 5, boundaries.banned); // </s>, a, b, c: <s> is never proposed
  let tooMany: unknown = null;
  try {
    checkTopK(5, 5, boundaries.banned);
  } catch (e) {
    tooMany = e;
  }
  assert(tooMany instanceof UserError, String(tooMany));
  // The message names the setting (top-k); the CLIs write it as their flag.
  assertEquals(
    errorLine(tooMany, asFlag),
    `--top-k must be at most 4, the words the model can propose, got "5"`,
  );
  checkTopK(3, 3, specialIds(["a", "b", "c"]).banned);
});
