/// <reference lib="dom" />
/**
 * The live loss chart: the core's lossPlotSvg (the loss.svg `deno task train` writes), redrawn as records
 * arrive, at most a few times a second (a long run's redraws would otherwise cost more than its steps).
 */
import { lossPlotSvg, type MetricRecord } from "../core.ts";

const MIN_INTERVAL_MS = 300;

export function liveLossChart(
  container: HTMLElement,
): { draw(records: readonly MetricRecord[], now?: boolean): void } {
  let last = 0;
  let pending: ReturnType<typeof setTimeout> | undefined;
  let latest: readonly MetricRecord[] = [];
  const render = () => {
    pending = undefined;
    last = performance.now();
    container.innerHTML = lossPlotSvg([...latest], "Training loss");
  };
  return {
    draw(records, now = false) {
      latest = records;
      if (now) {
        clearTimeout(pending);
        return render();
      }
      if (pending !== undefined) return;
      pending = setTimeout(render, Math.max(0, MIN_INTERVAL_MS - (performance.now() - last)));
    },
  };
}
