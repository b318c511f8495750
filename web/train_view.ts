/// <reference lib="dom" />
/**
 * Train: the section's buttons, status line, live chart, log and downloads around a TrainingRun. The run
 * uses its own backend (the one chosen when it starts), wrapped so the page stays responsive; pause stops
 * it at a step boundary with a checkpoint saved, resume continues from that checkpoint, and the latest
 * checkpoint's files (and metrics.jsonl) can be downloaded or loaded into Predict.
 */
import {
  type BackendKind,
  type CheckpointKind,
  formatProgress,
  type Gpu,
  type GpuBackendOptions,
  longestRow,
  metricLine,
  modelKind,
  type TrainResult,
} from "../core.ts";
import { openBackend } from "./backends.ts";
import { byId, el } from "./dom.ts";
import { downloadAll, downloadLinks } from "./downloads.ts";
import { liveLossChart } from "./loss_chart.ts";
import { reporting } from "./messages.ts";
import type { LoadedModel } from "./model_files.ts";
import { readTrainRun, type TrainSetup } from "./train_form.ts";
import { type CheckpointFileList, TrainingRun } from "./training.ts";
import { yieldingBackend } from "./yielding_backend.ts";

export interface TrainDeps {
  gpu: Gpu | null;
  kind(): BackendKind;
  /** Hands a trained model to Predict and Generate. */
  useModel(model: LoadedModel): Promise<void>;
}

export function setupTrain(deps: TrainDeps): void {
  const section = byId("train");
  const start = byId<HTMLButtonElement>("train-start");
  const pause = byId<HTMLButtonElement>("train-pause");
  const resume = byId<HTMLButtonElement>("train-resume");
  const use = byId<HTMLButtonElement>("train-use");
  const progress = byId("train-progress");
  const log = byId("train-log");
  const downloads = byId("train-downloads");
  const links = byId("download-links");
  const chart = liveLossChart(byId("train-chart"));
  let run: TrainingRun | null = null;
  let latest: CheckpointFileList | null = null;

  /** data-state on #train (tests wait on it): idle, running, paused, done, failed. */
  const setState = (state: string) => {
    section.dataset.state = state;
    start.disabled = state === "running";
    pause.disabled = state !== "running";
    resume.disabled = state !== "paused";
    use.disabled = latest === null || state === "running";
  };
  setState("idle");

  const showLinks = () => {
    if (!run || !latest) return;
    const metrics = new TextEncoder().encode(run.records.map(metricLine).join(""));
    links.replaceChildren(...downloadLinks([...latest, ["metrics.jsonl", metrics]]).flatMap((a) => [" ", a]));
    downloads.hidden = false;
  };

  const finished = (result: TrainResult) => {
    const r = run!;
    chart.draw(r.records, true);
    showLinks();
    const loss = Number.isFinite(result.lastLoss) ? `, last loss ${result.lastLoss.toFixed(4)}` : "";
    const summary = `${result.steps} steps, ${result.epochs} epochs${loss}, ` +
      `${result.pairsPerSecond.toFixed(0)} pairs/s, ${result.seconds.toFixed(1)} s`;
    progress.textContent = result.stopped === "interrupted"
      ? `paused after ${summary}: Resume continues exactly there`
      : `done: ${summary}`;
    if (result.stopped === "interrupted") {
      log.append(el("li", {}, `paused after step ${result.steps}: checkpoint saved`));
    }
    progress.dataset.steps = String(result.steps);
    progress.dataset.pairsPerSecond = String(result.pairsPerSecond);
    setState(r.state);
  };

  const drive = async (go: (r: TrainingRun) => Promise<TrainResult>) => {
    const r = run!;
    setState("running");
    try {
      finished(await go(r));
    } catch (e) {
      setState("failed");
      progress.textContent = "failed (see the error above)";
      throw e;
    }
  };

  start.addEventListener("click", () =>
    void reporting(async () => {
      if (run?.state === "running") return;
      const kind = deps.kind();
      const setup = await readTrainRun(kind);
      const { config } = setup.plan;
      const backend = yieldingBackend(await openBackend(kind, deps.gpu, config, backendOptions(setup)));
      run?.destroy();
      latest = null;
      downloads.hidden = true;
      log.replaceChildren();
      progress.textContent = "starting";
      run = new TrainingRun(setup, backend, {
        progress: (s) => {
          progress.textContent = formatProgress(s);
          progress.dataset.step = String(s.step);
        },
        status: (text) => progress.textContent = text,
        line: (text) => log.append(el("li", {}, text)),
        record: (records) => chart.draw(records),
        saved: (kind: CheckpointKind, files) => {
          if (kind !== "checkpoint") return;
          latest = files;
          showLinks();
        },
      });
      const d = setup.data;
      log.append(el(
        "li",
        {},
        `data: ${d.source}: ${d.headlines} headlines, vocab ${d.vocab.length}, ${d.train.count} training pairs` +
          (d.val.count ? `, ${d.val.count} validation pairs` : "") + `; backend: ${backend.name}`,
      ));
      await drive((r) => r.start());
    }));
  pause.addEventListener("click", () => {
    run?.pause();
    progress.textContent += " (pausing after this step)";
  });
  resume.addEventListener("click", () =>
    void reporting(() =>
      drive((r) => {
        log.append(el("li", {}, "resumed from the saved checkpoint"));
        return r.resume();
      })
    ));
  use.addEventListener("click", () =>
    void reporting(async () => {
      const checkpoint = await run?.checkpoint("checkpoint");
      if (!checkpoint) return;
      const step = checkpoint.progress?.step ?? 0;
      await deps.useModel({ checkpoint, source: `the page's training run (step ${step})` });
    }));
  byId("download-all").addEventListener("click", () => void downloadAll([...links.querySelectorAll("a")]));
}

/** What a run's backend must hold: its batch, its data's longest row, and dropout's passes when it drops. */
function backendOptions(setup: TrainSetup): GpuBackendOptions {
  const { config, options } = setup.plan;
  return {
    maxBatch: options.batch,
    maxSteps: longestRow(setup.data, modelKind(config)),
    dropout: (options.dropout ?? 0) > 0,
  };
}
