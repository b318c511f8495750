/**
 * The records of samples.jsonl: headlines the model generated during training (train --sample-every), one
 * JSON object per line (src/io/jsonl.ts), so a person can read how generation improved epoch by epoch:
 *
 *   {"epoch":E,"prompt":"the mayor","text":"the mayor says he will run"}
 *
 * `prompt` is the prompt's cleaned words ("" asks a boundaries model for a whole headline); `text` is the
 * prompt followed by the generated words, as predict prints them.
 */
import { UserError } from "../errors.ts";
import type { JsonlFormat } from "./jsonl.ts";

/** One line of samples.jsonl: a headline generated at an epoch's end. */
export interface SampleRecord {
  /** The epoch the model had just completed. */
  epoch: number;
  /** The prompt as given. */
  prompt: string;
  /** The prompt and the generated words, as predict prints them. */
  text: string;
}

/** samples.jsonl's lines: each checked as a SampleRecord when read. */
export const SAMPLES_FORMAT: JsonlFormat<SampleRecord> = {
  parse(r, where) {
    if (!Number.isInteger(r.epoch)) throw new UserError(`${where} has no integer "epoch"`);
    if (typeof r.prompt !== "string" || typeof r.text !== "string") {
      throw new UserError(`${where}: a sample needs a string "prompt" and "text"`);
    }
    return { epoch: r.epoch as number, prompt: r.prompt, text: r.text };
  },
  line: (record) => JSON.stringify({ epoch: record.epoch, prompt: record.prompt, text: record.text }) + "\n",
};
