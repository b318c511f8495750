/**
 * `deno task predict` end to end: the script run as a subprocess (in a temp working directory) on tiny
 * checkpoints made here, its output checked against the CPU reference model run directly; every bad input
 * must be one stderr line, and an unexpected error too unless WEBGPU_LSTM_DEBUG=1 asks for its stack.
 * WebGPU predictions (tests/gpu_harness.ts: ignored without an adapter, failed with REQUIRE_GPU=1) equal the
 * CPU reference's.
 */
import { join } from "node:path";
import { assert, assertAllClose, assertEquals } from "./assert.ts";
import { assertFailed, type Run, runDeno, taskRun } from "./cli_harness.ts";
import { haveFiles } from "./fs_harness.ts";
import { APRIL_DIR } from "./parity_harness.ts";
import type { ModelConfig } from "../src/model/config.ts";
import { initParams } from "../src/model/init.ts";
import { paramLayout, view } from "../src/model/layout.ts";
import { modelForward } from "../src/cpu/model.ts";
import { saveCheckpoint } from "../src/deno/checkpoint_files.ts";
import { createCpuBackend } from "../src/cpu/backend.ts";
import { beamSearch } from "../src/sample/beam.ts";
import { webgpuTest } from "./gpu_harness.ts";

const VOCAB = ["<unk>", "i", "love", "the", "news", "of", "trump", "a", "day", "new", "york", "times"];
const CONFIG: ModelConfig = { vocab: VOCAB.length, embed: 4, hidden: 6, layers: 2, window: 2 };
const PARAMS = initParams(CONFIG, 5);

const tmp = await Deno.makeTempDir({ prefix: "predict_cli_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
// A training run directory (the model in its checkpoint/), as `deno task train` leaves it.
const RUN = join(tmp, "run");
await saveCheckpoint(join(RUN, "checkpoint"), { config: CONFIG, vocab: VOCAB, params: PARAMS });
// A vocabulary without <unk>: unknown prompt words are errors.
const NO_UNK_VOCAB = VOCAB.map((w) => w === "<unk>" ? "zero" : w);
const NO_UNK = join(tmp, "no_unk");
await saveCheckpoint(NO_UNK, { config: CONFIG, vocab: NO_UNK_VOCAB, params: PARAMS });
// fc2's bias makes <unk> win every prediction by far, so generation draws it at once.
const UNK_PARAMS = PARAMS.slice();
view(UNK_PARAMS, paramLayout(CONFIG).get("fc2.bias"))[0] = 100;
const UNKY = join(tmp, "unky");
await saveCheckpoint(UNKY, { config: CONFIG, vocab: VOCAB, params: UNK_PARAMS });

// A model trained with --boundaries: <s> and </s> at ids 0 and 1.
const B_VOCAB = ["<s>", "</s>", ...VOCAB];
const B_CONFIG: ModelConfig = { ...CONFIG, vocab: B_VOCAB.length };
const B_PARAMS = initParams(B_CONFIG, 6);
const BOUNDED = join(tmp, "bounded");
await saveCheckpoint(BOUNDED, {
  config: B_CONFIG,
  vocab: B_VOCAB,
  params: B_PARAMS,
  train: { boundaries: true },
});
/** A boundaries model made to predict one id above all others (fc2's bias). */
async function favouring(id: number, name: string): Promise<string> {
  const params = B_PARAMS.slice();
  view(params, paramLayout(B_CONFIG).get("fc2.bias"))[id] = 100;
  await saveCheckpoint(join(tmp, name), { config: B_CONFIG, vocab: B_VOCAB, params });
  return join(tmp, name);
}
const ENDS = await favouring(1, "ends"); // </s> first: every headline ends at once
const STARTS = await favouring(0, "starts"); // <s> first: it must still never be proposed

/** Runs the script with the permissions deno.json's predict task grants, in the temp folder (cwd). */
function predict(args: string[], stdin?: string): Promise<Run> {
  return runDeno([...taskRun("predict"), ...args], { stdin, cwd: tmp });
}

/** stdout of a run that must succeed. */
async function ok(args: string[], stdin?: string): Promise<string> {
  const r = await predict(args, stdin);
  assertEquals(r.code, 0, `predict ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** A run that must fail with exactly one stderr line (no stack trace) matching `pattern`. */
async function fails(args: string[], pattern: RegExp): Promise<void> {
  assertFailed(await predict(args), `predict ${args.join(" ")}`, pattern);
}

const jsonLines = (stdout: string) => stdout.trimEnd().split("\n").map((l) => JSON.parse(l));

/** The reference's next-word probabilities for one context of words. */
function referenceProbs(words: string[], params = PARAMS): number[] {
  const ids = Int32Array.from(words, (w) => VOCAB.indexOf(w));
  const logits = Array.from(modelForward(CONFIG, params, ids, 1).logits);
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b);
  return exps.map((e) => e / sum);
}

/** The boundaries model's next-word probabilities for a context of ids, <s> left out (renormalised). */
function boundedProbs(ids: number[]): number[] {
  const logits = Array.from(modelForward(B_CONFIG, B_PARAMS, Int32Array.from(ids), 1).logits);
  logits[0] = -Infinity;
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b);
  return exps.map((e) => e / sum);
}

/** Word ids by falling probability, ties by id. */
const ranked = (probs: number[]) => probs.map((_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);

const CPU = ["--backend", "cpu"];

Deno.test("predict prints each prompt's most likely next word (run dir or checkpoint dir)", async () => {
  const expected = ["i love", "the news"].map((p) =>
    `${p} -> ${VOCAB[ranked(referenceProbs(p.split(" ")))[0]]}`
  );
  assertEquals(await ok(["--model", RUN, ...CPU, "I love", "The NEWS!"]), expected.join("\n") + "\n");
  assertEquals(await ok(["--model", join(RUN, "checkpoint"), ...CPU, "i love"]), expected[0] + "\n");
  // A longer prompt is read through its last window words.
  assertEquals(
    await ok(["--model", RUN, ...CPU, "trump a day of i love"]),
    `trump a day of ${expected[0]}\n`,
  );
});

Deno.test("--top-k K: the K most likely words with the reference's probabilities", async () => {
  const [line] = jsonLines(await ok(["--model", RUN, ...CPU, "--top-k", "4", "--json", "new york"]));
  const probs = referenceProbs(["new", "york"]);
  const top = ranked(probs).slice(0, 4);
  assertEquals(line.prompt, "new york");
  assertEquals(line.words, top.map((i) => VOCAB[i]));
  assertAllClose(line.probabilities, top.map((i) => probs[i]), { atol: 1e-6, rtol: 0 });
  const text = await ok(["--model", RUN, ...CPU, "--top-k", "2", "new york"]);
  assertEquals(
    text,
    `new york\n  ${probs[top[0]].toFixed(4)}  ${VOCAB[top[0]]}\n  ${probs[top[1]].toFixed(4)}  ${
      VOCAB[top[1]]
    }\n`,
  );
});

Deno.test("prompts from --file and from stdin give what arguments give", async () => {
  const fromArgs = await ok(["--model", RUN, ...CPU, "i love", "a new day"]);
  const file = join(tmp, "prompts.txt");
  await Deno.writeTextFile(file, "i love\n\n  \r\na new day\n");
  assertEquals(await ok(["--model", RUN, ...CPU, "--file", file]), fromArgs);
  assertEquals(await ok(["--model", RUN, ...CPU], "i love\na new day"), fromArgs);
});

Deno.test("unknown words read as <unk> when the vocabulary has it, with a note", async () => {
  const r = await predict(["--model", RUN, ...CPU, "--json", "i zebra"]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "note: not in the vocabulary, read as <unk>: zebra\n");
  const [line] = jsonLines(r.stdout);
  assertEquals(line.unknown, ["zebra"]);
  assertEquals(line.words, [VOCAB[ranked(referenceProbs(["i", "<unk>"]))[0]]]);
});

Deno.test("--generate N --temperature 0: greedy continuation, window sliding over generated words", async () => {
  const words = ["the", "news"];
  for (let i = 0; i < 5; i++) words.push(VOCAB[ranked(referenceProbs(words.slice(-2)))[0]]);
  const out = await ok([
    "--model",
    RUN,
    ...CPU,
    "--generate",
    "5",
    "--temperature",
    "0",
    "--count",
    "2",
    "the news",
  ]);
  assertEquals(out, `${words.join(" ")}\n${words.join(" ")}\n`);
});

Deno.test("--generate with --count, --top-k, --top-p and --seed: reproducible samples", async () => {
  const args = ["--model", RUN, ...CPU, "--generate", "4", "--count", "6", "--json", "--temperature", "3"];
  const a = jsonLines(await ok([...args, "--seed", "7", "i love", "new york"]));
  assertEquals(a.map((l) => l.prompt), ["i love", "new york"]);
  for (const line of a) {
    assertEquals(line.seed, 7);
    assertEquals(line.generated.length, 6);
    for (const text of line.generated) {
      const words = text.split(" ");
      assertEquals(words.slice(0, 2).join(" "), line.prompt);
      assertEquals(words.length, 6);
      assert(words.every((w: string) => VOCAB.includes(w)), text);
    }
  }
  assert(new Set(a[0].generated).size > 1, "6 samples at temperature 3 were all alike");
  assertEquals(jsonLines(await ok([...args, "--seed", "7", "i love", "new york"])), a);
  const b = jsonLines(await ok([...args, "--seed", "8", "i love", "new york"]));
  assert(JSON.stringify(b) !== JSON.stringify(a), "seeds 7 and 8 gave the same samples");
  // top-k 1 leaves only the greedy word, whatever the temperature; so does a tiny nucleus.
  const greedyText = (await ok(["--model", RUN, ...CPU, "--generate", "4", "--temperature", "0", "i love"]))
    .trim();
  for (const cut of [["--top-k", "1"], ["--top-p", "1e-9"]]) {
    const [line] = jsonLines(await ok([...args, ...cut, "i love"]));
    assertEquals(line.generated, new Array(6).fill(greedyText));
  }
});

Deno.test("--stop-at-unk ends a sample at its first <unk>", async () => {
  const args = ["--model", UNKY, ...CPU, "--generate", "3", "--seed", "1", "i love"];
  assertEquals(await ok(args), "i love <unk> <unk> <unk>\n");
  assertEquals(await ok([...args, "--stop-at-unk"]), "i love\n");
});

Deno.test("--no-unk: <unk> is never proposed, drawn or searched, even where it wins by far", async () => {
  const probs = referenceProbs(["i", "love"], UNK_PARAMS);
  probs[0] = 0;
  const best = VOCAB[ranked(probs)[0]];
  assertEquals(await ok(["--model", UNKY, ...CPU, "--no-unk", "i love"]), `i love -> ${best}\n`);
  const generated = await ok([
    "--model",
    UNKY,
    ...CPU,
    "--no-unk",
    "--generate",
    "3",
    "--count",
    "5",
    "--seed",
    "1",
    "i love",
  ]);
  assert(!generated.includes("<unk>"), generated);
  const beams = await ok(["--model", UNKY, ...CPU, "--no-unk", "--generate", "2", "--beam", "3", "i love"]);
  assert(!beams.includes("<unk>"), beams);
  const err = (what: string) => new RegExp(`^predict: error: ${what}`);
  await fails(
    ["--model", NO_UNK, ...CPU, "--no-unk", "i love"],
    err("--no-unk: the model's vocabulary has no <unk>$"),
  );
  await fails(
    ["--model", UNKY, ...CPU, "--no-unk", "--stop-at-unk", "--generate", "2", "i love"],
    err("--no-unk and --stop-at-unk contradict$"),
  );
});

Deno.test("bad input: one stderr line each, non-zero exit", async () => {
  const m = ["--model", RUN, ...CPU];
  const err = (what: string) => new RegExp(`^predict: error: ${what}`);
  await fails(
    ["--model", NO_UNK, ...CPU, "i zebra yak"],
    err(`prompt "i zebra yak": not in the model's vocabulary: "zebra", "yak"$`),
  );
  await fails([...m, "love"], err(`prompt "love" has 1 word; the model reads 2 \\(its window\\)$`));
  await fails([...m, ""], err(`prompt "" is empty`));
  await fails([...m, "?! --"], err(`prompt "\\?! --" is empty`));
  const blank = join(tmp, "blank.txt");
  await Deno.writeTextFile(blank, "\n  \n");
  await fails([...m, "--file", blank], err(`no prompts in ${blank}$`));
  await fails(
    [...m, "--file", join(tmp, "absent.txt")],
    err(`cannot read --file .*absent.txt: no such file`),
  );
  await fails(
    ["--model", join(tmp, "nowhere"), ...CPU, "i love"],
    err(`checkpoint .*nowhere: no such directory`),
  );
  const incomplete = join(tmp, "incomplete");
  await Deno.mkdir(incomplete);
  await Deno.copyFile(join(NO_UNK, "model.safetensors"), join(incomplete, "model.safetensors"));
  await fails(["--model", incomplete, ...CPU, "i love"], err(`checkpoint .*incomplete: missing vocab.json`));
  await fails([...CPU, "i love"], err(`--model DIR is required`));
  await fails([...m, "--generate", "2", "--temperature=-0.5", "i love"], err(`--temperature must be >= 0`));
  await fails([...m, "--top-k", "0", "i love"], err(`--top-k must be a positive integer, got "0"`));
  await fails(
    [...m, "--top-k", "13", "i love"],
    err(`--top-k must be at most 12, the words the model can propose, got "13"`),
  );
  await fails(
    [...m, "--generate", "2", "--top-k", "13", "i love"],
    err(`--top-k must be at most 12,`),
  );
  for (const p of ["0", "1.5", "-0.1", "nan"]) {
    await fails([...m, "--generate", "2", `--top-p=${p}`, "i love"], err(`--top-p must be (in|a)`));
  }
  // 2^32 would wrap to the stream of seed 0.
  await fails(
    [...m, "--generate", "2", "--seed", "4294967296", "i love"],
    err(`--seed must be a 32-bit unsigned integer, got "4294967296"`),
  );
  await fails([...m, "--count", "2", "i love"], err(`--count only applies with --generate N$`));
  await fails([...m, "--generate", "0", "i love"], err(`--generate must be a positive integer`));
  await fails(["--model", RUN, "--backend", "tpu", "i love"], err(`--backend must be webgpu or cpu`));
});

Deno.test("boundaries model: short prompts padded with <s>, the empty one too; long ones read their last window", async () => {
  const id = (w: string) => B_VOCAB.indexOf(w);
  const lines = jsonLines(
    await ok([
      "--model",
      BOUNDED,
      ...CPU,
      "--top-k",
      String(B_VOCAB.length - 1),
      "--json",
      "",
      "Love",
      "the news i love",
    ]),
  );
  const contexts = [[0, 0], [0, id("love")], [id("i"), id("love")]];
  assertEquals(lines.map((l) => l.prompt), ["", "love", "the news i love"]);
  lines.forEach((line, i) => {
    const probs = boundedProbs(contexts[i]);
    const order = ranked(probs).filter((w) => w !== 0);
    assertEquals(line.words, order.map((w) => B_VOCAB[w]), `prompt ${i}`);
    assertAllClose(line.probabilities, order.map((w) => probs[w]), { atol: 1e-6, rtol: 0 });
    assert(!line.words.includes("<s>"));
  });
  // Text output names the empty prompt instead of printing nothing before the arrow.
  const text = await ok(["--model", BOUNDED, ...CPU, ""]);
  assert(text.startsWith("(empty prompt: the start of a headline) -> "), text);
  await fails(
    ["--model", BOUNDED, ...CPU, "--top-k", String(B_VOCAB.length), "i"],
    /--top-k must be at most 13,/,
  );
});

Deno.test("boundaries model: </s> ends a generated headline (not printed); <s> is never proposed or drawn", async () => {
  // From "i love" the end comes at once; a headline has a word, so from the empty prompt after one word.
  const [ended, fromNothing] =
    (await ok(["--model", ENDS, ...CPU, "--generate", "5", "--seed", "1", "i love", ""]))
      .split("\n");
  assertEquals(ended, "i love");
  assert(/^[^ <>]+$/.test(fromNothing), `one word, then the end: "${fromNothing}"`);
  const [line] = jsonLines(
    await ok(["--model", ENDS, ...CPU, "--generate", "5", "--json", "--seed", "1", "i"]),
  );
  assertEquals(line.generated, ["i"]);
  assertEquals(await ok(["--model", STARTS, ...CPU, "i love"]).then((t) => t.includes("<s>")), false);
  const [sampled] = jsonLines(
    await ok([
      "--model",
      STARTS,
      ...CPU,
      "--generate",
      "6",
      "--count",
      "20",
      "--temperature",
      "5",
      "--json",
      "--seed",
      "3",
      "",
    ]),
  );
  assert(
    sampled.generated.every((t: string) => !t.split(" ").includes("<s>")),
    sampled.generated.join(" | "),
  );
  // Without </s> winning, a sample runs to N words unless it draws </s>: N stays an upper bound.
  const [free] = jsonLines(
    await ok(["--model", BOUNDED, ...CPU, "--generate", "4", "--count", "20", "--json", "--seed", "2", ""]),
  );
  assert(
    free.generated.every((t: string) => t.split(" ").filter(Boolean).length <= 4 && !t.includes("</s>")),
  );
});

Deno.test("--beam B: the B best continuations by log-probability, as beamSearch finds them (text, JSON, per word)", async () => {
  const backend = await createCpuBackend(B_CONFIG);
  await backend.setParams(B_PARAMS);
  const context = Int32Array.of(B_VOCAB.indexOf("i"), B_VOCAB.indexOf("love"));
  for (const lengthNorm of [false, true]) {
    const want = (await beamSearch(backend, [context], {
      width: 3,
      steps: 4,
      boundaries: { start: 0, end: 1 },
      bannedIds: [0],
      lengthNorm,
    }))[
      0
    ];
    const norm = lengthNorm ? ["--length-norm"] : [];
    const args = ["--model", BOUNDED, ...CPU, "--generate", "4", "--beam", "3", ...norm, "i love"];
    const [line] = jsonLines(await ok([...args, "--json"]));
    const text = (ids: number[]) => ["i", "love", ...ids.map((id) => B_VOCAB[id])].join(" ");
    assertEquals(line.beams.map((b: { text: string }) => b.text), want.map((c) => text(c.ids)));
    assertAllClose(line.beams.map((b: { score: number }) => b.score), want.map((c) => c.score), {
      atol: 1e-9,
      rtol: 0,
    });
    assertAllClose(line.beams.map((b: { log_prob: number }) => b.log_prob), want.map((c) => c.logProb), {
      atol: 1e-9,
      rtol: 0,
    });
    const lines = want.map((c) => `  ${c.score.toFixed(4)}  ${text(c.ids)}${c.ended ? " </s>" : ""}`);
    assertEquals(await ok(args), ["i love", ...lines].join("\n") + "\n");
  }
  backend.destroy();
  // A continuation that ends is shown ending; the most probable one of the </s>-loving model ends at once.
  assertEquals(
    await ok(["--model", ENDS, ...CPU, "--generate", "3", "--beam", "1", "i love"]).then((t) =>
      t.split("\n")[1]
    ),
    "  0.0000  i love </s>",
  );
});

Deno.test("--beam bad input: one stderr line each, non-zero exit", async () => {
  const m = ["--model", BOUNDED, ...CPU];
  const err = (what: string) => new RegExp(`^predict: error: ${what}`);
  await fails(
    [...m, "--generate", "3", "--beam", "0", "i"],
    err(`--beam must be a positive integer, got "0"`),
  );
  await fails([...m, "--beam", "2", "i"], err(`--beam only applies with --generate N$`));
  await fails([...m, "--length-norm", "i"], err(`--length-norm only applies with --generate N$`));
  await fails(
    [...m, "--generate", "3", "--length-norm", "i"],
    err(`--length-norm only applies with --beam B$`),
  );
  for (
    const flag of [["--count", "2"], ["--temperature", "0"], ["--seed", "1"], ["--top-k", "2"], [
      "--top-p",
      "0.5",
    ], ["--stop-at-unk"]]
  ) {
    await fails(
      [...m, "--generate", "3", "--beam", "2", ...flag, "i"],
      err(`${flag[0]} is for sampling; --beam searches instead$`),
    );
  }
});

const hasFixture = haveFiles("PyTorch fixture tests", [join(APRIL_DIR, "final.safetensors")]);
// PyTorch's export as a model directory: its final weights as model.safetensors beside its vocab.json.
const PYTORCH = join(tmp, "pytorch");
if (hasFixture) {
  await Deno.mkdir(PYTORCH);
  await Deno.symlink(join(APRIL_DIR, "final.safetensors"), join(PYTORCH, "model.safetensors"));
  await Deno.symlink(join(APRIL_DIR, "vocab.json"), join(PYTORCH, "vocab.json"));
}

Deno.test({
  name: 'PyTorch\'s exported final model predicts "the" after "i love", as its run log says (cpu)',
  ignore: !hasFixture,
  async fn() {
    assertEquals(await ok(["--model", PYTORCH, ...CPU, "i love"]), "i love -> the\n");
  },
});

webgpuTest(
  "webgpu predicts and generates what the CPU reference does (top-k order, probabilities within 1e-4)",
  async () => {
    const args = ["--model", RUN, "--top-k", "5", "--json", "i love", "the news of new york", "a day"];
    const gpu = jsonLines(await ok([...args, "--backend", "webgpu"]));
    const cpu = jsonLines(await ok([...args, ...CPU]));
    gpu.forEach((line, i) => {
      assertEquals(line.words, cpu[i].words);
      assertAllClose(line.probabilities, cpu[i].probabilities, { atol: 1e-4, rtol: 0 });
    });
    const gen = ["--model", RUN, "--generate", "4", "--temperature", "0", "--count", "3", "i love"];
    assertEquals(await ok([...gen, "--backend", "webgpu"]), await ok([...gen, ...CPU]));
    // A boundaries model: padded prompts, <s> banned, </s> ending, and beam search.
    const greedy = ["--model", BOUNDED, "--generate", "6", "--temperature", "0", "", "love"];
    assertEquals(await ok([...greedy, "--backend", "webgpu"]), await ok([...greedy, ...CPU]));
    const beam = ["--model", BOUNDED, "--generate", "3", "--beam", "4", "--json", "", "i love"];
    const [gpuBeams, cpuBeams] = [
      jsonLines(await ok([...beam, "--backend", "webgpu"])),
      jsonLines(await ok([...beam, ...CPU])),
    ];
    gpuBeams.forEach((line, i) => {
      type Beam = { text: string; score: number };
      assertEquals(line.beams.map((b: Beam) => b.text), cpuBeams[i].beams.map((b: Beam) => b.text));
      assertAllClose(line.beams.map((b: Beam) => b.score), cpuBeams[i].beams.map((b: Beam) => b.score), {
        atol: 1e-4,
        rtol: 0,
      });
    });
  },
);

webgpuTest(
  'webgpu on PyTorch\'s final model: "i love" -> "the", top 5 as on the CPU',
  async () => {
    const args = ["--model", PYTORCH, "--top-k", "5", "--json", "i love"];
    const [gpu] = jsonLines(await ok([...args, "--backend", "webgpu"]));
    const [cpu] = jsonLines(await ok([...args, ...CPU]));
    assertEquals(gpu.words[0], "the");
    assertEquals(gpu.words, cpu.words);
    assertAllClose(gpu.probabilities, cpu.probabilities, { atol: 1e-4, rtol: 0 });
  },
  { ignore: !hasFixture },
);

Deno.test("an unexpected error is one line; WEBGPU_LSTM_DEBUG=1 adds its stack", async () => {
  // Prompts read from a stdin that is a directory: the read fails with an OS error that no code path
  // expects (it is not a UserError), the kind of failure the debug variable is for.
  const run = async (env: Record<string, string>): Promise<Run> => {
    const out = await new Deno.Command("sh", {
      args: [
        "-c",
        'exec "$0" "$@" < "$PROMPTS_DIR"',
        Deno.execPath(),
        ...taskRun("predict"),
        "--model",
        RUN,
        ...CPU,
      ],
      cwd: tmp,
      env: { PROMPTS_DIR: tmp, NO_COLOR: "1", ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  const line = "predict: error: Is a directory (os error 21)";
  const plain = await run({});
  assertEquals(assertFailed(plain, "stdin a directory", /^predict: error: /), line);
  assertEquals(plain.code, 1);
  const debug = await run({ WEBGPU_LSTM_DEBUG: "1" });
  assertEquals(debug.code, 1);
  const [first, ...stack] = debug.stderr.trimEnd().split("\n");
  assertEquals(first, line);
  assertEquals(stack[0], "IsADirectory: Is a directory (os error 21)", debug.stderr);
  assert(stack.length >= 3 && stack.slice(1).every((l) => /^\s+at /.test(l)), debug.stderr);
  assert(stack.some((l) => l.includes("readPrompts")), `the stack names where it failed: ${debug.stderr}`);
});
