/**
 * predict's plan (src/plan/predict_plan.ts), shared with the page's Generate section: which task the flags
 * ask for, its settings and defaults, the refusals made before any model is read, and the words a model's
 * vocabulary bans. (tests/predict_cli_test.ts runs the same through the CLI.)
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { bannedIds, planPredict, planSampling } from "../src/plan/predict_plan.ts";
import { BOS_TOKEN, EOS_TOKEN, UNK_TOKEN } from "../src/data/vocab.ts";
import { asFlag, errorLine } from "../src/errors.ts";

const MODEL = { model: "runs/m" };

Deno.test("predict plan: next words, sampling or beam search, with their defaults", () => {
  const next = planPredict(MODEL, ["a b"]);
  assertEquals(next.task, { kind: "next", topK: 1, list: false });
  assertEquals([next.backend, next.json, next.noUnk, next.prompts, next.file], ["webgpu", false, false, [
    "a b",
  ], undefined]);
  assertEquals(planPredict({ ...MODEL, "top-k": "3" }, []).task, { kind: "next", topK: 3, list: true });
  assertEquals(planPredict({ ...MODEL, generate: "4", seed: "7", "top-p": "0.9" }, []).task, {
    kind: "sample",
    steps: 4,
    count: 1,
    temperature: 1,
    topP: 0.9,
    topK: undefined,
    seed: 7,
    stopAtUnk: false,
  });
  assertEquals(planSampling({ generate: "2" }).seed, undefined, "no seed given: the caller draws one");
  assertEquals(planPredict({ ...MODEL, generate: "4", beam: "3", "length-norm": true }, []).task, {
    kind: "beam",
    width: 3,
    steps: 4,
    lengthNorm: true,
  });
});

Deno.test("predict plan: contradictions and flags out of place are usage errors, before a model is read", () => {
  const bad: Array<[Record<string, string | boolean>, string[], RegExp]> = [
    [{}, [], /--model DIR is required/],
    [{ ...MODEL, backend: "tpu" }, [], /--backend must be webgpu or cpu, got "tpu"/],
    [{ ...MODEL, count: "2" }, [], /--count only applies with --generate N/],
    [{ ...MODEL, generate: "2", beam: "2", temperature: "0.5" }, [], /--temperature is for sampling/],
    [{ ...MODEL, "length-norm": true, generate: "2" }, [], /--length-norm only applies with --beam B/],
    [{ ...MODEL, generate: "2", temperature: "-1" }, [], /--temperature must be >= 0/],
    [{ ...MODEL, file: "p.txt" }, ["a b"], /give prompts as arguments or with --file, not both/],
    [
      { ...MODEL, generate: "2", "no-unk": true, "stop-at-unk": true },
      [],
      /--no-unk and --stop-at-unk contradict/,
    ],
  ];
  for (const [values, prompts, pattern] of bad) assertThrows(() => planPredict(values, prompts), pattern);
});

Deno.test("predict plan: banned words from the vocabulary; --no-unk and --top-k checked against it", () => {
  const vocab = [BOS_TOKEN, EOS_TOKEN, UNK_TOKEN, "a", "b"];
  const config = { vocab: vocab.length, embed: 2, hidden: 2, layers: 1, window: 2 };
  assertEquals(bannedIds(planPredict(MODEL, []), vocab, config), [0]);
  assertEquals(bannedIds(planPredict({ ...MODEL, "no-unk": true }, []), vocab, config), [0, 2]);
  assertThrows(
    () => bannedIds(planPredict({ ...MODEL, "no-unk": true }, []), ["a", "b"], { ...config, vocab: 2 }),
    /--no-unk: the model's vocabulary has no <unk>/,
  );
  // checkTopK (the core's) names the setting; the CLI writes it as the flag.
  assertThrows(
    () => bannedIds(planPredict({ ...MODEL, "top-k": "5" }, []), vocab, config),
    (e: unknown) => /^--top-k must be at most 4,/.test(errorLine(e, asFlag)),
  );
  assert(bannedIds(planPredict({ ...MODEL, "top-k": "4" }, []), vocab, config).length === 1);
});
