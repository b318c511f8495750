/**
 * metrics.jsonl on disk (records and format: src/io/metrics.ts; writing: src/deno/jsonl_file.ts).
 *
 * On resume the writer keeps the records up to the checkpoint's step: it cuts the file at the first step
 * record past that step. The epoch record that follows the checkpoint's step record is kept, because the
 * trainer writes an epoch's record before it saves the checkpoint that ends the epoch.
 */
import { type MetricRecord, METRICS_FORMAT } from "../io/metrics.ts";
import { JsonlWriter, readJsonl } from "./jsonl_file.ts";

/** Every complete record in `path`, in order ([] when there is no file). */
export function readMetrics(path: string): Promise<MetricRecord[]> {
  return readJsonl(path, METRICS_FORMAT);
}

export const MetricsWriter = {
  /**
   * Opens `path` for appending, creating it if needed. Drops a torn last line, and with `keepThroughStep`
   * every record from the first step record past that step on (see the top comment).
   */
  open(path: string, opts: { keepThroughStep?: number } = {}): Promise<JsonlWriter<MetricRecord>> {
    const through = opts.keepThroughStep;
    return JsonlWriter.open(
      path,
      METRICS_FORMAT,
      (r) => through === undefined || r.step === undefined || r.step <= through,
    );
  },
};
