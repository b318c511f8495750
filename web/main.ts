/// <reference lib="dom" />
/**
 * The page's entry point (bundled by `deno task serve` into app.js): opens WebGPU (or says why not and
 * runs on the CPU reference), sets up the sections (model, predict, generate, train, adapter), loads the
 * served model, and applies the link's parameters so that a shared URL opens straight to its result.
 * Everything that computes is the core's (../core.ts); web/ only shows it.
 *
 * For tests: `window.__ready` is set once the page is ready (or to { error } if it could not start), and
 * each section carries data-state attributes saying what it shows.
 */
import { type BackendKind, errorLine } from "../core.ts";
import { byId } from "./dom.ts";
import { openPageGpu } from "./gpu.ts";
import { ModelRunner } from "./backends.ts";
import { publishLink, readLink } from "./links.ts";
import { showNotice } from "./messages.ts";
import { setupModel } from "./model_view.ts";
import { DEFAULT_TOP_K, setupPredict } from "./predict_view.ts";
import { setupGenerate } from "./generate_view.ts";
import { buildTrainFields } from "./train_form.ts";
import { setupTrain } from "./train_view.ts";
import { setupAdapter } from "./adapter_view.ts";

/** Where `deno task serve --model DIR` serves the model's files, relative to the page. */
const SERVED_MODEL = "model/";

async function main(): Promise<Record<string, unknown>> {
  const link = readLink(location.search);
  const { gpu, unavailable } = await openPageGpu();
  if (unavailable) showNotice(unavailable);

  const select = byId<HTMLSelectElement>("backend");
  const status = byId("backend-status");
  const webgpuOption = select.querySelector<HTMLOptionElement>("option[value=webgpu]")!;
  if (!gpu) {
    webgpuOption.disabled = true;
    webgpuOption.textContent = "WebGPU (not available)";
  }
  select.value = !gpu || link.backend === "cpu" ? "cpu" : "webgpu";
  const kind = () => select.value as BackendKind;
  const showBackend = () => {
    status.textContent = kind() === "cpu"
      ? "the CPU reference (plain TypeScript)"
      : `WebGPU: ${gpu!.adapter.description}${gpu!.adapter.isFallbackAdapter ? " (software)" : ""}`;
    document.body.dataset.backend = kind();
  };
  showBackend();

  const runner = new ModelRunner(gpu);
  const publish = () => void publishLink(link);
  const predict = setupPredict({ runner, kind, link, publish });
  const generate = setupGenerate({ runner, kind, link, publish });
  const model = setupModel(async (m) => {
    runner.setModel(m);
    await predict.refresh();
  });
  buildTrainFields();
  setupTrain({
    gpu,
    kind,
    async useModel(m) {
      model.show(m);
      runner.setModel(m);
      await predict.refresh();
    },
  });
  setupAdapter(gpu, unavailable);
  select.addEventListener("change", () => {
    link.backend = kind() === "cpu" ? "cpu" : undefined;
    showBackend();
    void predict.refresh();
  });

  // The link's fields first (loading the model predicts from them), then its model (or the served one),
  // then its generation.
  byId<HTMLInputElement>("prompt").value = link.prompt ?? "";
  byId<HTMLInputElement>("top-k").value = link.k ?? String(DEFAULT_TOP_K);
  generate.fromLink(link);
  if (!await model.loadServed(link.model ?? SERVED_MODEL, link.model === undefined)) await predict.refresh();
  if (link.generate !== undefined && link.prompt !== undefined) await generate.generate();
  return { backend: kind(), adapter: gpu?.adapter ?? null, unavailable };
}

main().then((report) => {
  (globalThis as { __ready?: unknown }).__ready = report;
}, (e) => {
  // Only a bug gets here (every user error is shown on the error line); say it where a person looks too.
  showNotice(`the page failed to start: ${errorLine(e)}`);
  (globalThis as { __ready?: unknown }).__ready = { error: errorLine(e) };
});
