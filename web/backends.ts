/**
 * The page's backends: WebGPU on the page's one device, or the CPU reference; and the runner that holds the
 * loaded model with a backend per kind for prediction, one call at a time (a backend's buffers serve one
 * pass at a time).
 */
import {
  type Backend,
  type BackendKind,
  createCpuBackend,
  createGpuBackend,
  type Gpu,
  type GpuBackendOptions,
  type ModelConfig,
} from "../core.ts";
import type { LoadedModel } from "./model_files.ts";

/** Rows one prediction pass holds: generation runs all its samples together, in passes of this many. */
const PREDICT_BATCH = 64;

/**
 * The backend `kind` names for a model of `config`: `options` as createGpuBackend takes them (a headline
 * model's most positions per row; training's dropout).
 */
export function openBackend(
  kind: BackendKind,
  gpu: Gpu | null,
  config: ModelConfig,
  options: GpuBackendOptions,
) {
  if (kind === "cpu") return createCpuBackend(config);
  if (!gpu) throw new Error("no WebGPU device: choose the CPU reference");
  return createGpuBackend(gpu, config, options);
}

export class ModelRunner {
  readonly gpu: Gpu | null;
  #model: LoadedModel | null = null;
  #backends = new Map<BackendKind, Promise<Backend>>();
  /** The tail of the calls made so far: each starts when the previous one has finished. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(gpu: Gpu | null) {
    this.gpu = gpu;
  }

  get model(): LoadedModel | null {
    return this.#model;
  }

  /** Replaces the model; its old backends are destroyed once the calls already queued are done. */
  setModel(model: LoadedModel): void {
    const old = [...this.#backends.values()];
    this.#backends.clear();
    this.#model = model;
    this.#enqueue(async () => {
      for (const b of old) (await b.catch(() => null))?.destroy();
    }).catch(() => {});
  }

  /**
   * Runs `fn` on the current model's backend of this kind (made on first use), after every earlier call:
   * the model is the one loaded when the call starts, so a call queued before a new model uses the new one.
   */
  run<T>(kind: BackendKind, fn: (backend: Backend, model: LoadedModel) => Promise<T>): Promise<T> {
    return this.#enqueue(async () => {
      const model = this.#model;
      if (!model) throw new Error("no model loaded: open model files, or train one");
      let backend = this.#backends.get(kind);
      if (!backend) {
        // A headline model predicts one position at a time (Backend.advance).
        const options = { maxBatch: PREDICT_BATCH, maxSteps: 1 };
        backend = openBackend(kind, this.gpu, model.checkpoint.config, options).then(async (b) => {
          await b.setParams(model.checkpoint.params);
          return b;
        });
        this.#backends.set(kind, backend);
        // A backend that failed to open is not kept: the next call tries again.
        backend.catch(() => this.#backends.get(kind) === backend && this.#backends.delete(kind));
      }
      return fn(await backend, model);
    });
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(task);
    this.#queue = next.catch(() => {});
    return next;
  }
}
