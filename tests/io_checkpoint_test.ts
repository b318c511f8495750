import { join } from "node:path";
import { type Checkpoint, inferConfig, vocabHash } from "../src/io/checkpoint.ts";
import { loadCheckpoint, loadModelFile, saveCheckpoint } from "../src/deno/checkpoint_files.ts";
import { swapPaths } from "../src/deno/atomic.ts";
import { decodeSafetensors, encodeSafetensors } from "../src/io/safetensors.ts";
import { modelForward } from "../src/cpu/model.ts";
import type { ModelConfig } from "../src/model/config.ts";
import { paramLayout, view } from "../src/model/layout.ts";
import { initParams } from "../src/model/init.ts";
import { UserError } from "../src/errors.ts";
import { assert, assertAllClose, assertEquals, assertThrows, randomArray } from "./assert.ts";
import { haveFiles, makeWithTempDir, SHARED_DATA } from "./fs_harness.ts";

const CFG: ModelConfig = { vocab: 7, embed: 3, hidden: 5, layers: 2, window: 2 };
const VOCAB = ["the", "cat", "sat", "on", "a", "mat", "<unk>"];
const PARITY = join(SHARED_DATA, "parity/apr2017-seed0");
const hasParity = haveFiles("PyTorch-exported checkpoint test", [
  join(PARITY, "init.safetensors"),
  join(PARITY, "vocab.json"),
]);
const hasTorch =
  new Deno.Command("/usr/bin/python3", { args: ["-c", "import torch"], stdout: "null", stderr: "null" })
    .outputSync().success;
if (!hasTorch) console.warn("SKIPPED: PyTorch reader test: /usr/bin/python3 cannot import torch");

/** Random values in every tensor of the layout and zeros in its padding, as a flat array holds them. */
function randomFlat(cfg: ModelConfig, seed: number, lo = -1): Float32Array {
  const layout = paramLayout(cfg);
  const flat = new Float32Array(layout.total);
  for (const t of layout.tensors) view(flat, t).set(randomArray(t.size, seed + t.offset, lo, 1));
  return flat;
}

/** A checkpoint of CFG with everything filled, distinct per seed. */
function makeCheckpoint(seed = 1, cfg = CFG, vocab = VOCAB): Checkpoint {
  return {
    config: cfg,
    vocab,
    params: initParams(cfg, seed),
    optimizer: { m: randomFlat(cfg, seed + 10), v: randomFlat(cfg, seed + 20, 0), adamStep: 40 + seed },
    progress: {
      step: 40 + seed,
      epoch: 3,
      batchInEpoch: 7,
      rng: Uint32Array.of(seed, 2, 3, 0xffffffff),
      bestVal: 4.25,
    },
    train: { lr: 0.001, batch: 64, shuffle: true, data: "data/x.csv" },
  };
}

const withTempDir = makeWithTempDir("io_checkpoint_test_");

/** Fails unless `p` rejects with a one-line UserError matching every pattern. */
async function rejectsUser(p: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert(e instanceof UserError, `expected a UserError, got ${(e as Error).stack}`);
    assert(!e.message.includes("\n"), `not one line: ${e.message}`);
    for (const re of patterns) {
      assert(re.test(e.message), `${JSON.stringify(e.message)} does not match ${re}`);
    }
    return e.message;
  }
  throw new Error(`expected a rejection matching ${patterns.join(" ")}`);
}

/** Header and data of a safetensors file, and a writer that re-frames a changed header. */
async function editHeader(file: string, edit: (h: Record<string, Record<string, unknown>>) => void) {
  const bytes = await Deno.readFile(file);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(bytes.subarray(8 + n), 8 + json.length);
  await Deno.writeFile(file, out);
}

function assertSameCheckpoint(got: Checkpoint, want: Checkpoint): void {
  assertEquals(got.config, want.config);
  assertEquals(got.vocab, want.vocab);
  assertEquals(got.params, want.params);
  assertEquals(got.optimizer, want.optimizer);
  assertEquals(got.progress, want.progress);
  assertEquals(got.train, want.train);
}

Deno.test("checkpoint: save then load gives back config, vocab, params, Adam state, progress and flags", async () => {
  await withTempDir(async (root) => {
    const ck = makeCheckpoint();
    const dir = join(root, "run", "checkpoint");
    await saveCheckpoint(dir, ck);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "config.json",
      "model.safetensors",
      "optimizer.safetensors",
      "vocab.json",
    ]);
    assertSameCheckpoint(await loadCheckpoint(dir, { expectVocab: [...VOCAB] }), ck);
    const config = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
    assertEquals(config.model, CFG);
    assertEquals(config.vocab_sha256, await vocabHash(VOCAB));
    assertEquals(config.progress, { step: 41, epoch: 3, batchInEpoch: 7, bestVal: 4.25 });

    // A model-only checkpoint (predict's needs) loads without training state.
    const bare: Checkpoint = { config: CFG, vocab: VOCAB, params: initParams(CFG, 5) };
    await saveCheckpoint(dir, bare);
    assertSameCheckpoint(await loadCheckpoint(dir), bare);
    assert(!(await Deno.stat(join(dir, "optimizer.safetensors")).catch(() => null)));
  });
});

Deno.test("checkpoint: save refuses what it could not load back", async () => {
  await withTempDir(async (root) => {
    const ck = makeCheckpoint();
    ck.params[paramLayout(CFG).get("fc1.bias").offset + 2] = NaN;
    await rejectsNot(saveCheckpoint(join(root, "a"), ck), /params fc1\.bias\[2\] is NaN/);
    await rejectsNot(
      saveCheckpoint(join(root, "b"), { ...makeCheckpoint(), vocab: VOCAB.slice(1) }),
      /6 words/,
    );
    await rejectsNot(
      saveCheckpoint(join(root, "c"), { ...makeCheckpoint(), params: new Float32Array(3) }),
      /params has 3 floats/,
    );
    const noBest = makeCheckpoint();
    noBest.progress!.bestVal = Infinity;
    await rejectsNot(
      saveCheckpoint(join(root, "d"), noBest),
      /bestVal must be finite or absent, got Infinity/,
    );
    assertEquals([...Deno.readDirSync(root)], []);
  });
});

async function rejectsNot(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert(re.test((e as Error).message), `${(e as Error).message} does not match ${re}`);
    return;
  }
  throw new Error(`expected a rejection matching ${re}`);
}

Deno.test("checkpoint: inferConfig reads V, E, H, layers and window from shapes", () => {
  const shapes = new Map(paramLayout(CFG).tensors.map((t) => [t.name, t.shape]));
  assertEquals(inferConfig(shapes), CFG);
  const big = { vocab: 2482, embed: 16, hidden: 64, layers: 5, window: 3 };
  assertEquals(inferConfig(new Map(paramLayout(big).tensors.map((t) => [t.name, t.shape]))), big);
  // Without fc1 the head is direct: fc2 reads the window's LSTM outputs, and its width tells the window.
  const heads = { ...CFG, head: 9 };
  assertEquals(inferConfig(new Map(paramLayout(heads).tensors.map((t) => [t.name, t.shape]))), heads);
  const direct = { ...CFG, head: 0 };
  assertEquals(inferConfig(new Map(paramLayout(direct).tensors.map((t) => [t.name, t.shape]))), direct);
  assertThrows(
    () => inferConfig(new Map([...shapes].filter(([n]) => n !== "fc1.weight"))),
    /fc2\.weight has 7 inputs, not a multiple of the LSTM hidden size 5/,
  );
  assertThrows(
    () => inferConfig(new Map([...shapes].filter(([n]) => n !== "fc1.weight" && n !== "fc2.weight"))),
    /missing tensor fc2\.weight/,
  );
  assertThrows(
    () => inferConfig(new Map([...shapes, ["fc1.weight", [7, 11]]])),
    /fc1\.weight has 11 inputs, not a multiple of the LSTM hidden size 5/,
  );
  assertThrows(
    () => inferConfig(new Map([...shapes, ["embed.weight", [7]]])),
    /embed\.weight has shape \[7\], expected rank 2/,
  );
});

Deno.test("checkpoint: a directory of model.safetensors + vocab.json alone is a model (config inferred)", async () => {
  await withTempDir(async (dir) => {
    const params = initParams(CFG, 3);
    const layout = paramLayout(CFG);
    // As safetensors.torch.save_file(model.state_dict()) writes it: no metadata of ours.
    await Deno.writeFile(
      join(dir, "model.safetensors"),
      encodeSafetensors(
        layout.tensors.map((t) => [t.name, { dtype: "F32", shape: t.shape, data: view(params, t) }]),
      ),
    );
    await Deno.writeTextFile(join(dir, "vocab.json"), JSON.stringify(VOCAB));
    const ck = await loadCheckpoint(dir);
    assertSameCheckpoint(ck, { config: CFG, vocab: VOCAB, params });
  });
});

Deno.test({
  name: "checkpoint: the PyTorch-exported parity model loads as a checkpoint directory",
  ignore: !hasParity,
  async fn() {
    await withTempDir(async (dir) => {
      await Deno.symlink(join(PARITY, "init.safetensors"), join(dir, "model.safetensors"));
      await Deno.symlink(join(PARITY, "vocab.json"), join(dir, "vocab.json"));
      const ck = await loadCheckpoint(dir);
      assertEquals(ck.config, { vocab: 2482, embed: 16, hidden: 64, layers: 5, window: 2 });
      assertEquals(ck.params.length, paramLayout(ck.config).total);
      assertEquals(ck.vocab.length, 2482);
      const file = await loadModelFile(join(PARITY, "init.safetensors"), ck.config);
      assertEquals(file.params, ck.params);
      await rejectsUser(
        loadModelFile(join(PARITY, "init.safetensors"), { ...ck.config, hidden: 32 }),
        /init\.safetensors: lstm\.weight_ih_l0 has shape \[256,16\], expected \[128,16\]$/,
      );
    });
  },
});

Deno.test("checkpoint: loadModelFile names the first tensor that does not fit the config", async () => {
  await withTempDir(async (dir) => {
    const small = { vocab: 10, embed: 3, hidden: 5, layers: 2, window: 2 };
    await saveCheckpoint(join(dir, "ck"), {
      config: small,
      vocab: [..."abcdefghij"],
      params: initParams(small, 1),
    });
    const file = join(dir, "ck", "model.safetensors");
    assertEquals((await loadModelFile(file)).config, small);
    await rejectsUser(
      loadModelFile(file, { ...small, vocab: 2482 }),
      /model\.safetensors: embed\.weight has shape \[10,3\], expected \[2482,3\]$/,
    );
    await rejectsUser(loadModelFile(file, { ...small, layers: 3 }), /missing tensor lstm\.weight_ih_l2$/);
    await rejectsUser(loadModelFile(file, { ...small, layers: 1 }), /unexpected tensor lstm\.weight_ih_l1 /);
    await rejectsUser(loadModelFile(join(dir, "nope.safetensors")), /nope\.safetensors: no such file$/);
  });
});

Deno.test("checkpoint: missing files, mismatched vocab, tensors or config are one-line errors", async () => {
  await withTempDir(async (root) => {
    const dir = join(root, "ck");
    const reset = async () => await saveCheckpoint(dir, makeCheckpoint());
    await rejectsUser(loadCheckpoint(join(root, "none")), /checkpoint .*none: no such directory/);

    const cases: Array<[string, () => Promise<unknown>, RegExp[]]> = [
      ["no model", () => Deno.remove(join(dir, "model.safetensors")), [/missing model\.safetensors/]],
      ["no vocab", () => Deno.remove(join(dir, "vocab.json")), [/missing vocab\.json/]],
      ["vocab size", () => Deno.writeTextFile(join(dir, "vocab.json"), JSON.stringify(VOCAB.slice(1))), [
        /vocab\.json: 6 words but embed\.weight has 7 rows/,
      ]],
      [
        "vocab hash",
        () => Deno.writeTextFile(join(dir, "vocab.json"), JSON.stringify([...VOCAB].reverse())),
        [
          /vocab\.json: vocabulary hash \w+ does not match/,
        ],
      ],
      [
        "vocab dup",
        () => Deno.writeTextFile(join(dir, "vocab.json"), JSON.stringify([...VOCAB.slice(1), "cat"])),
        [
          /word "cat" appears twice/,
        ],
      ],
      ["vocab json", () => Deno.writeTextFile(join(dir, "vocab.json"), `["the",`), [
        /vocab\.json: not valid JSON/,
      ]],
      ["missing tensor", () => rewriteModel(dir, (t) => t.delete("fc2.bias")), [
        /model\.safetensors: missing tensor fc2\.bias$/,
      ]],
      ["extra tensor", () => rewriteModel(dir, (t) => t.set("fc3.weight", [1])), [
        /unexpected tensor fc3\.weight/,
      ]],
      ["wrong shape", () => rewriteModel(dir, (t) => t.set("lstm.bias_hh_l1", [19])), [
        /model\.safetensors: lstm\.bias_hh_l1 has shape \[19\], expected \[20\]/,
      ]],
      ["nan weight", () => poke(join(dir, "model.safetensors"), "lstm.weight_hh_l1", NaN), [
        /model\.safetensors: tensor lstm\.weight_hh_l1: value NaN/,
      ]],
      ["nan moment", () => poke(join(dir, "optimizer.safetensors"), "v.fc1.weight", Infinity), [
        /optimizer\.safetensors: tensor v\.fc1\.weight: value Infinity/,
      ]],
      ["metadata config", () => setMetadata(dir, { config: JSON.stringify({ ...CFG, hidden: 6 }) }), [
        /__metadata__\.config .* does not match the tensor shapes/,
      ]],
      ["config.json model", () => editJson(join(dir, "config.json"), (c) => (c.model.layers = 3)), [
        /config\.json: model .* does not match the tensor shapes/,
      ]],
      ["config.json progress", () => editJson(join(dir, "config.json"), (c) => (c.progress.step = 5)), [
        /config\.json: progress\.step 5 differs from 41 in optimizer\.safetensors/,
      ]],
      ["no optimizer", () => Deno.remove(join(dir, "optimizer.safetensors")), [
        /config\.json has progress but/,
      ]],
      ["optimizer extra", () => rewriteTensors(join(dir, "optimizer.safetensors"), (t) => t.set("lr", [])), [
        /optimizer\.safetensors: unexpected tensor lr/,
      ]],
      ["adam_step dtype", () =>
        editHeader(join(dir, "optimizer.safetensors"), (h) => {
          h.adam_step.dtype = "F64";
        }), [/adam_step is F64 \[\], expected an I64 scalar/]],
    ];
    for (const [what, breakIt, patterns] of cases) {
      await reset();
      await breakIt();
      try {
        await rejectsUser(loadCheckpoint(dir), ...patterns);
      } catch (e) {
        throw new Error(`${what}: ${(e as Error).message}`);
      }
    }

    await reset();
    await rejectsUser(
      loadCheckpoint(dir, { expectVocab: ["other", "words"] }),
      /is from another corpus: its vocabulary has 7 words .* this data's has 2/,
    );
  });
});

/** Rewrites a safetensors file with the same data but tensor shapes changed by `edit` (zeros for new). */
async function rewriteTensors(file: string, edit: (shapes: Map<string, number[]>) => void): Promise<void> {
  const { decodeSafetensors } = await import("../src/io/safetensors.ts");
  const st = decodeSafetensors(await Deno.readFile(file), file);
  const shapes = new Map([...st.tensors].map(([n, t]) => [n, t.shape]));
  edit(shapes);
  await Deno.writeFile(
    file,
    encodeSafetensors(
      [...shapes].map(([n, shape]) => {
        const old = st.tensors.get(n);
        const size = shape.reduce((a, b) => a * b, 1);
        if (old && old.data.length === size) return [n, old];
        return [n, { dtype: "F32", shape, data: new Float32Array(size) }];
      }),
      st.metadata,
    ),
  );
}

const rewriteModel = (dir: string, edit: (shapes: Map<string, number[]>) => void) =>
  rewriteTensors(join(dir, "model.safetensors"), edit);

async function setMetadata(dir: string, meta: Record<string, string>): Promise<void> {
  await editHeader(join(dir, "model.safetensors"), (h) => Object.assign(h.__metadata__, meta));
}

/** Overwrites element 1 of tensor `name` in place. */
async function poke(file: string, name: string, value: number): Promise<void> {
  const bytes = await Deno.readFile(file);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  new DataView(bytes.buffer).setFloat32(8 + n + header[name].data_offsets[0] + 4, value, true);
  await Deno.writeFile(file, bytes);
}

// deno-lint-ignore no-explicit-any
async function editJson(file: string, edit: (o: any) => void): Promise<void> {
  const o = JSON.parse(await Deno.readTextFile(file));
  edit(o);
  await Deno.writeTextFile(file, JSON.stringify(o));
}

Deno.test("checkpoint fuzz: every header field of every tensor corrupted in turn is rejected", async () => {
  await withTempDir(async (root) => {
    const dir = join(root, "ck");
    await saveCheckpoint(dir, makeCheckpoint());
    const pristine = {
      model: await Deno.readFile(join(dir, "model.safetensors")),
      optimizer: await Deno.readFile(join(dir, "optimizer.safetensors")),
    };
    const corruptions: Array<[string, (e: Record<string, unknown>) => void]> = [
      ["dtype removed", (e) => delete e.dtype],
      ["dtype unknown", (e) => (e.dtype = "F16")],
      ["dtype of equal width", (e) => (e.dtype = e.dtype === "F32" ? "I32" : "F32")],
      ["shape removed", (e) => delete e.shape],
      ["shape reversed", (e) => (e.shape = [...(e.shape as number[])].reverse().concat([1, 1]))],
      ["shape grown", (e) => (e.shape = [...(e.shape as number[]), 2])],
      ["offsets removed", (e) => delete e.data_offsets],
      ["offsets shifted", (e) => (e.data_offsets = (e.data_offsets as number[]).map((o) => o + 4))],
      [
        "offsets shifted back",
        (e) => (e.data_offsets = (e.data_offsets as number[]).map((o) => Math.max(0, o - 4))),
      ],
    ];
    let checked = 0;
    for (const [file, bytes] of Object.entries(pristine)) {
      const path = join(dir, `${file}.safetensors`);
      const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      const names = Object.keys(JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))))
        .filter((k) => k !== "__metadata__");
      for (const name of names) {
        for (const [what, corrupt] of corruptions) {
          await Deno.writeFile(path, bytes);
          await editHeader(path, (h) => corrupt(h[name]));
          const msg = await rejectsUser(loadCheckpoint(dir), new RegExp(`${file}\\.safetensors: `)).catch(
            (e) => {
              throw new Error(`${file} ${name} ${what}: ${e.message}`);
            },
          );
          assert(msg.includes(name), `${file} ${name} ${what}: message does not name the tensor: ${msg}`);
          checked++;
        }
      }
      await Deno.writeFile(path, bytes);
    }
    // Model tensors, m.* and v.* of each, and 5 optimizer scalars.
    assertEquals(checked, (3 * paramLayout(CFG).tensors.length + 5) * corruptions.length);
    assertSameCheckpoint(await loadCheckpoint(dir), makeCheckpoint());
  });
});

Deno.test("checkpoint fuzz: every file truncated at each 1/16 of its length is rejected", async () => {
  await withTempDir(async (root) => {
    const dir = join(root, "ck");
    await saveCheckpoint(dir, makeCheckpoint());
    for (const file of ["model.safetensors", "optimizer.safetensors", "vocab.json", "config.json"]) {
      const path = join(dir, file);
      const bytes = await Deno.readFile(path);
      for (let k = 0; k < 16; k++) {
        await Deno.writeFile(path, bytes.subarray(0, Math.floor((bytes.length * k) / 16)));
        await rejectsUser(loadCheckpoint(dir), new RegExp(file.replace(".", "\\.")));
      }
      await Deno.writeFile(path, bytes);
    }
    assertSameCheckpoint(await loadCheckpoint(dir), makeCheckpoint());
  });
});

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to);
  for await (const e of Deno.readDir(from)) await Deno.copyFile(join(from, e.name), join(to, e.name));
}

Deno.test("checkpoint atomicity: a save killed at any stage leaves a complete checkpoint; the next save cleans up", async () => {
  await withTempDir(async (root) => {
    const dir = join(root, "checkpoint");
    const { fresh, previous } = swapPaths(dir);
    const older = makeCheckpoint(1);
    const newer = makeCheckpoint(2);
    await saveCheckpoint(join(root, "newer"), newer);
    const siblings = () => [...Deno.readDirSync(root)].map((e) => e.name).sort();

    // Killed while writing the new directory: a partial .checkpoint.new beside the old one.
    await saveCheckpoint(dir, older);
    await copyDir(join(root, "newer"), fresh);
    await Deno.truncate(join(fresh, "optimizer.safetensors"), 100);
    assertSameCheckpoint(await loadCheckpoint(dir), older);

    // Killed between the two renames: no checkpoint/, the old one whole as .checkpoint.old.
    await Deno.remove(fresh, { recursive: true });
    await copyDir(join(root, "newer"), fresh);
    await Deno.rename(dir, previous);
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (m: string) => warnings.push(m);
    try {
      assertSameCheckpoint(await loadCheckpoint(dir), older);
    } finally {
      console.warn = warn;
    }
    assert(
      /missing after an interrupted save; loading the previous checkpoint/.test(warnings.join()),
      warnings.join(),
    );
    // The next save restores and replaces it, leaving no leftovers.
    await saveCheckpoint(dir, newer);
    assertEquals(siblings(), ["checkpoint", "newer"]);
    assertSameCheckpoint(await loadCheckpoint(dir), newer);

    // Killed while deleting the replaced one: the new one is in place, a partial .checkpoint.old beside it.
    await copyDir(join(root, "newer"), previous);
    await Deno.remove(join(previous, "model.safetensors"));
    assertSameCheckpoint(await loadCheckpoint(dir), newer);
    await saveCheckpoint(dir, older);
    assertEquals(siblings(), ["checkpoint", "newer"]);
    assertSameCheckpoint(await loadCheckpoint(dir), older);
  });
});

Deno.test("checkpoint atomicity: SIGKILL during repeated saves always leaves a complete, consistent checkpoint", async () => {
  await withTempDir(async (root) => {
    const dir = join(root, "checkpoint");
    const cfg = { vocab: 60, embed: 8, hidden: 16, layers: 2, window: 2 };
    const vocab = Array.from({ length: cfg.vocab }, (_, i) => `w${i}`);
    // Every number in save i is i, so a checkpoint mixing two saves shows up as unequal values.
    const child = `
      import { saveCheckpoint } from ${
      JSON.stringify(new URL("../src/deno/checkpoint_files.ts", import.meta.url).href)
    };
      import { paramLayout } from ${JSON.stringify(new URL("../src/model/layout.ts", import.meta.url).href)};
      const cfg = ${JSON.stringify(cfg)};
      const vocab = ${JSON.stringify(vocab)};
      const total = paramLayout(cfg).total;
      for (let i = 1; ; i++) {
        const fill = () => new Float32Array(total).fill(i);
        await saveCheckpoint(${JSON.stringify(dir)}, {
          config: cfg, vocab, params: fill(), optimizer: { m: fill(), v: fill(), adamStep: i },
          progress: { step: i, epoch: i, batchInEpoch: i, rng: Uint32Array.of(i, i, i, i) },
        });
        console.log(i);
      }`;
    const layout = paramLayout(cfg);
    for (const [minSaves, delayMs] of [[1, 0], [2, 3], [3, 11], [5, 1], [1, 2], [4, 6]]) {
      const proc = new Deno.Command(Deno.execPath(), {
        args: ["eval", child],
        stdout: "piped",
        stderr: "inherit",
      })
        .spawn();
      let lastDone = 0;
      const lines = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      while (lastDone < minSaves) {
        const { value, done } = await lines.read();
        if (done) throw new Error("child exited early");
        buffered += value;
        const complete = buffered.split("\n").slice(0, -1);
        if (complete.length) lastDone = Number(complete.at(-1));
      }
      await new Promise((r) => setTimeout(r, delayMs));
      proc.kill("SIGKILL");
      await proc.status;
      await lines.cancel();

      const ck = await loadCheckpoint(dir);
      const i = ck.progress!.step;
      assert(i >= lastDone, `loaded save ${i}, but save ${lastDone} had completed`);
      for (const flat of [ck.params, ck.optimizer!.m, ck.optimizer!.v]) {
        for (const t of layout.tensors) {
          assert(view(flat, t).every((x) => x === i), `${t.name} is not all ${i}`);
        }
      }
      assertEquals([ck.optimizer!.adamStep, ck.progress!.epoch, ck.progress!.batchInEpoch], [i, i, i]);
      assertEquals(ck.progress!.rng, Uint32Array.of(i, i, i, i));
    }
  });
});

const TORCH_READER = `
import json, struct, sys, torch
DTYPES = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32, "I64": torch.int64, "U32": torch.int32}
def read(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(raw[8 + n + begin:8 + n + end]), dtype=DTYPES[info["dtype"]])
        if info["dtype"] == "U32":
            t = t.to(torch.int64) & 0xFFFFFFFF
        out[name] = t.reshape(info["shape"])
    return out, meta
model, meta = read(sys.argv[1] + "/model.safetensors")
cfg = json.loads(meta["config"])
net = torch.nn.Module()
net.embed = torch.nn.Embedding(cfg["vocab"], cfg["embed"])
net.lstm = torch.nn.LSTM(cfg["embed"], cfg["hidden"], cfg["layers"], batch_first=True)
net.fc1 = torch.nn.Linear(cfg["window"] * cfg["hidden"], cfg["vocab"])
net.fc2 = torch.nn.Linear(cfg["vocab"], cfg["vocab"])
net.load_state_dict(model, strict=True)
opt, _ = read(sys.argv[1] + "/optimizer.safetensors")
tensors = {**net.state_dict(), **opt}
print(json.dumps({"meta": meta, "tensors": {k: [list(v.shape), v.flatten().tolist()] for k, v in tensors.items()}}))
`;

Deno.test({
  name: "checkpoint: PyTorch reads what we write (stdlib + torch.frombuffer reader, load_state_dict strict)",
  ignore: !hasTorch,
  async fn() {
    await withTempDir(async (root) => {
      const ck = makeCheckpoint(7);
      await saveCheckpoint(root + "/ck", ck);
      const out = await new Deno.Command("/usr/bin/python3", { args: ["-c", TORCH_READER, root + "/ck"] })
        .output();
      assert(out.success, new TextDecoder().decode(out.stderr));
      const py = JSON.parse(new TextDecoder().decode(out.stdout));
      assertEquals(JSON.parse(py.meta.config), CFG);
      assertEquals(py.meta.vocab_sha256, await vocabHash(VOCAB));
      const layout = paramLayout(CFG);
      const expected: Record<string, [number[], number[]]> = {};
      for (const t of layout.tensors) {
        expected[t.name] = [t.shape, Array.from(view(ck.params, t))];
        expected[`m.${t.name}`] = [t.shape, Array.from(view(ck.optimizer!.m, t))];
        expected[`v.${t.name}`] = [t.shape, Array.from(view(ck.optimizer!.v, t))];
      }
      const p = ck.progress!;
      Object.assign(expected, {
        adam_step: [[], [ck.optimizer!.adamStep]],
        step: [[], [p.step]],
        epoch: [[], [p.epoch]],
        batch_in_epoch: [[], [p.batchInEpoch]],
        rng_state: [[4], Array.from(p.rng)],
      });
      assertEquals(py.tensors, expected);
    });
  },
});

/**
 * A headline model with a tied direct head, read by bench/torch_reference.py's HeadlineModel (its fc2 tied to
 * its embedding, load_state_dict strict): the logits of a headline at every position, as JSON.
 */
const TORCH_HEADLINE = TORCH_READER.split("model, meta = read")[0] + `
sys.path.insert(0, sys.argv[2])
from torch_reference import HeadlineModel
model, meta = read(sys.argv[1] + "/model.safetensors")
cfg = json.loads(meta["config"])
net = HeadlineModel(cfg["vocab"], cfg["embed"], cfg["hidden"], cfg["layers"], cfg["head"])
if cfg.get("tie"):
    net.fc2.weight = net.embed.weight
net.load_state_dict(model, strict=True)
net.eval()
with torch.no_grad():
    logits = net(torch.tensor([json.loads(sys.argv[3])]))
print(json.dumps(logits.flatten().tolist()))
`;

Deno.test({
  name: "checkpoint: PyTorch's HeadlineModel, tied, loads a tied headline model and computes our logits",
  ignore: !hasTorch,
  async fn() {
    await withTempDir(async (root) => {
      const cfg: ModelConfig = {
        kind: "headline",
        vocab: 7,
        embed: 5,
        hidden: 5,
        layers: 2,
        window: 1,
        head: 0,
        tie: true,
      };
      const params = initParams(cfg, 4);
      await saveCheckpoint(root + "/ck", { config: cfg, vocab: VOCAB, params });
      const back = await loadCheckpoint(root + "/ck");
      assertEquals(back.config, cfg);
      assertEquals(back.params, params);
      const row = [0, 3, 1, 4];
      const bench = new URL("../bench/", import.meta.url).pathname;
      const out = await new Deno.Command("/usr/bin/python3", {
        args: ["-c", TORCH_HEADLINE, root + "/ck", bench, JSON.stringify(row)],
      }).output();
      assert(out.success, new TextDecoder().decode(out.stderr));
      const theirs: number[] = JSON.parse(new TextDecoder().decode(out.stdout));
      const ours = modelForward(cfg, params, Int32Array.from(row), 1, { steps: row.length }).logits;
      // float32 in both, the sums in different orders: a few units in the last place of logits near 1.
      assertAllClose(ours, theirs, { atol: 1e-5, rtol: 1e-5, what: "logits" });
    });
  },
});

Deno.test("checkpoint: a tied weight is written under both names; a file whose two differ is refused", async () => {
  await withTempDir(async (root) => {
    const cfg: ModelConfig = { ...CFG, embed: 6, head: 6, tie: true };
    const params = initParams(cfg, 2);
    await saveCheckpoint(root + "/ck", { config: cfg, vocab: VOCAB, params });
    const file = await Deno.readFile(root + "/ck/model.safetensors");
    const { tensors } = decodeSafetensors(file, "model.safetensors");
    assertEquals(tensors.get("fc2.weight")!.data, tensors.get("embed.weight")!.data);
    assertEquals((await loadCheckpoint(root + "/ck")).config, cfg);
    const changed = new Map(tensors);
    const other = Float32Array.from(tensors.get("fc2.weight")!.data as Float32Array, (x) => x + 1);
    changed.set("fc2.weight", { ...tensors.get("fc2.weight")!, data: other });
    const { metadata } = decodeSafetensors(file, "model.safetensors");
    await Deno.writeFile(root + "/ck/model.safetensors", encodeSafetensors([...changed], metadata));
    await rejectsUser(
      loadCheckpoint(root + "/ck"),
      /fc2\.weight differs from embed\.weight, which it is tied to/,
    );
  });
});

Deno.test("checkpoint: the learning-rate schedule's state round-trips through config.json; bad ones are refused", async () => {
  await withTempDir(async (root) => {
    const dir = join(root, "checkpoint");
    for (
      const schedule of [
        { lr: 1.0000000000000002e-6, plateauBest: 4.125, badEpochs: 2, sinceBest: 3 },
        { lr: 0.001, plateauBest: Infinity, badEpochs: 0, sinceBest: 0 }, // before the first validation loss
      ]
    ) {
      const ck = makeCheckpoint();
      ck.progress!.schedule = schedule;
      await saveCheckpoint(dir, ck);
      assertSameCheckpoint(await loadCheckpoint(dir), ck);
    }
    const config = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
    assertEquals(config.progress.schedule, { lr: 0.001, badEpochs: 0, sinceBest: 0 }, "Infinity left out");
    for (
      const [bad, re] of [
        [{ lr: 0, badEpochs: 0, sinceBest: 0 }, /progress\.schedule: lr 0 is not a positive number$/],
        [{ lr: 1e-3, badEpochs: -1, sinceBest: 0 }, /badEpochs -1 is not a non-negative integer$/],
        [{ lr: 1e-3, badEpochs: 0, sinceBest: 1.5 }, /sinceBest 1\.5 is not a non-negative integer$/],
        [{ lr: 1e-3, plateauBest: "x", badEpochs: 0, sinceBest: 0 }, /plateauBest "x" is not a number$/],
        ["fast", /progress\.schedule is not an object$/],
      ] as const
    ) {
      await Deno.writeTextFile(
        join(dir, "config.json"),
        JSON.stringify({ ...config, progress: { ...config.progress, schedule: bad } }),
      );
      await rejectsUser(loadCheckpoint(dir), /config\.json: /, re);
    }
    const nan = makeCheckpoint();
    nan.progress!.schedule = { lr: 1e-3, plateauBest: NaN, badEpochs: 0, sinceBest: 0 };
    await rejectsNot(saveCheckpoint(join(root, "nan"), nan), /schedule plateauBest null is not a number/);
  });
});
