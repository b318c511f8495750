/// <reference lib="dom" />
/**
 * A minimal page on the package's platform-neutral core (`@webgpu-lstm/webgpu-lstm/core`, bundled for the
 * browser): it fetches a checkpoint's files from `model/` beside the page, decodes them, runs the model on
 * WebGPU (or on the CPU reference where the browser has no adapter, or with `?backend=cpu`) and lists the
 * five most likely next words of the prompt typed or given as `?prompt=`. `examples/browser/serve.ts`
 * bundles it and serves it with a model.
 *
 * For tests and scripts it sets `window.__ready` to `{ backend }` once the model is loaded, or `{ error }`,
 * and each listed word carries its probability (`data-word`, `data-prob`).
 */
import {
  type Backend,
  type CheckpointFiles,
  createCpuBackend,
  createGpuBackend,
  decodeCheckpoint,
  encodePrompt,
  errorLine,
  Gpu,
  predictNext,
  specialIds,
} from "@webgpu-lstm/webgpu-lstm/core";

const K = 5;
const params = new URL(location.href).searchParams;
const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = element<HTMLParagraphElement>("status");
const promptBox = element<HTMLInputElement>("prompt");
const list = element<HTMLOListElement>("next");
const page = globalThis as { __ready?: unknown };

/** The checkpoint's files, fetched from `model/` (config.json and optimizer.safetensors may be missing). */
const files: CheckpointFiles = {
  where: "model/",
  path: (name) => `model/${name}`,
  async read(name) {
    const response = await fetch(`model/${name}`);
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`model/${name}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  },
};

try {
  const model = await decodeCheckpoint(files);
  const backend: Backend = params.get("backend") !== "cpu" && navigator.gpu
    ? await createGpuBackend(await Gpu.open({ featureLevel: "compatibility" }), model.config, { maxBatch: 1 })
    : await createCpuBackend(model.config);
  await backend.setParams(model.params);
  const banned = specialIds(model.vocab).banned;

  const predict = async (text: string) => {
    try {
      const prompt = encodePrompt(text, model.vocab, model.config.window);
      const [next] = await predictNext(backend, [prompt.context], K, banned);
      list.replaceChildren(...Array.from(next.ids, (id, i) => {
        const item = document.createElement("li");
        item.textContent = `${model.vocab[id]} (${next.probs[i].toFixed(3)})`;
        item.dataset.word = model.vocab[id];
        item.dataset.prob = String(next.probs[i]);
        return item;
      }));
      status.textContent = `"${text}" on ${backend.name}:`;
    } catch (e) {
      list.replaceChildren();
      status.textContent = errorLine(e);
    }
  };
  element<HTMLFormElement>("ask").addEventListener("submit", (event) => {
    event.preventDefault();
    predict(promptBox.value);
  });
  status.textContent = `model: ${model.vocab.length} words, running on ${backend.name}`;
  const given = params.get("prompt");
  if (given !== null) {
    promptBox.value = given;
    await predict(given);
  }
  page.__ready = { backend: backend.name };
} catch (e) {
  status.textContent = `the model could not be loaded: ${errorLine(e)}`;
  page.__ready = { error: errorLine(e) };
}
