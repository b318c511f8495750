/// <reference lib="dom" />
/**
 * The Model section: what is loaded (where from, its sizes), and loading another from picked or dropped
 * files or from a served path. A file that fails to load (corrupt, truncated, a vocabulary that does not fit
 * the weights) is one line on the error line, and the loaded model stays.
 */
import { describeConfig, MODEL_FILE, paramLayout } from "../core.ts";
import { byId } from "./dom.ts";
import { reporting } from "./messages.ts";
import { type LoadedModel, loadModel, pickedFiles, servedFiles } from "./model_files.ts";

export interface ModelView {
  /** Shows `model` as the loaded one. */
  show(model: LoadedModel): void;
  /**
   * Loads the checkpoint served at `path`. With `quietIfAbsent`, a path that lists no model.safetensors is
   * no error (serve started without --model).
   */
  loadServed(path: string, quietIfAbsent: boolean): Promise<boolean>;
}

/** `onLoaded` receives each model that loaded, after it is shown. */
export function setupModel(onLoaded: (model: LoadedModel) => Promise<void>): ModelView {
  const summary = byId("model-summary");
  const input = byId<HTMLInputElement>("model-files");
  const zone = byId("drop-zone");

  const show = (model: LoadedModel) => {
    const c = model.checkpoint.config;
    const progress = model.checkpoint.progress;
    summary.textContent = `${model.source}: ${describeConfig(c)}; ` +
      `${paramLayout(c).count.toLocaleString("en")} parameters` +
      (progress ? `; trained ${progress.step} steps (${progress.epoch} epochs)` : "");
    summary.classList.remove("muted");
    summary.dataset.loaded = model.source;
  };

  const load = (files: File[]) =>
    reporting(async () => {
      if (files.length === 0) return;
      const model = await loadModel(pickedFiles(files));
      show(model);
      await onLoaded(model);
    });

  input.addEventListener("change", () => {
    void load([...input.files ?? []]).then(() => input.value = ""); // the same files can be picked again
  });
  // Dropping anywhere on the page loads; the zone lights up while files are over the page.
  document.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  document.addEventListener("dragleave", () => zone.classList.remove("over"));
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    void load([...e.dataTransfer?.files ?? []]);
  });

  return {
    show,
    loadServed: (path, quietIfAbsent) =>
      reporting(async () => {
        const files = servedFiles(path);
        if (quietIfAbsent && !(await servesModel(path))) {
          summary.textContent = "no model served: open model files (or drop them here), or train one below";
          return;
        }
        const model = await loadModel(files);
        show(model);
        await onLoaded(model);
      }),
  };
}

/** Whether the server lists a model.safetensors at `path` (serve lists its --model directory's files there). */
async function servesModel(path: string): Promise<boolean> {
  try {
    const response = await fetch(new URL(path, location.href));
    const listing = response.ok ? await response.json() : null;
    return Array.isArray(listing?.files) && listing.files.includes(MODEL_FILE);
  } catch {
    return false;
  }
}
