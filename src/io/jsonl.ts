/**
 * JSON Lines as the run directory's logs use them (metrics.jsonl, samples.jsonl): one JSON object per line,
 * appended as training goes. A line without its newline is a torn last line (a killed writer's): never a
 * record. Each log checks its own records' fields.
 */
import { UserError } from "../errors.ts";

/** How one log's records are written and checked. */
export interface JsonlFormat<T> {
  /**
   * The record of one parsed line; `where` ("FILE: line N") starts the one-line UserError it throws for a
   * record that is not one of its kind.
   */
  parse(o: Record<string, unknown>, where: string): T;
  /** One record as its line (with the newline). */
  line(record: T): string;
}

export interface JsonlLine<T> {
  record: T;
  /** Byte offset just past this line's newline. */
  end: number;
}

/** The complete records of a log's bytes, in order; `file` names it in errors. Blank lines are skipped. */
export function parseJsonLines<T>(file: string, bytes: Uint8Array, format: JsonlFormat<T>): JsonlLine<T>[] {
  const lines: JsonlLine<T>[] = [];
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let start = 0;
  for (let lineNo = 1;; lineNo++) {
    const nl = bytes.indexOf(0x0a, start);
    if (nl < 0) break; // no newline: a torn last line (or none), never a record
    const where = `${file}: line ${lineNo}`;
    let text: string;
    try {
      text = decoder.decode(bytes.subarray(start, nl));
    } catch {
      throw new UserError(`${where} is not UTF-8`);
    }
    start = nl + 1;
    if (text.trim() === "") continue;
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch {
      throw new UserError(`${where} is not JSON`);
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) {
      throw new UserError(`${where} is not a JSON object`);
    }
    lines.push({ record: format.parse(o as Record<string, unknown>, where), end: start });
  }
  return lines;
}
