/**
 * One column (`headline` unless told otherwise) of one CSV file's bytes, with one-line UserErrors naming the
 * file and line.
 */
import { parse } from "csv-parse/sync";
import { UserError } from "../errors.ts";
import { CR, decodeText, LF, lineAt } from "./text.ts";

/** The column the headlines are in by default, found by name because column order differs between files. */
export const HEADLINE_COLUMN = "headline";

/**
 * Every raw field of column `column` of a CSV file's bytes, in file order (the "Unknown" placeholder
 * included); `name` (the file's name) is how errors name it.
 */
export function headlineColumn(bytes: Uint8Array, name: string, column = HEADLINE_COLUMN): string[] {
  const rows = parseCsv(decodeText(bytes, name), name);
  const header = rows[0] ?? [];
  const columns = header.flatMap((h, i) => (h.trim() === column ? [i + 1] : []));
  if (columns.length === 0) {
    // Quoted, shortened names: a header may hold newlines or a megabyte, and the message is one line.
    const shown = header.slice(0, 8).map((h) => JSON.stringify(h))
      .map((q) => (q.length > 42 ? `${q.slice(0, 40)}..."` : q));
    throw new UserError(
      `${name} has no ${JSON.stringify(column)} column (columns: ${shown.join(", ")}` +
        `${header.length > 8 ? `, ... ${header.length} in all` : ""})`,
    );
  }
  if (columns.length > 1) {
    // pandas would silently read the first one; which one holds the headlines is the user's call.
    throw new UserError(
      `${name} has ${columns.length} ${JSON.stringify(column)} columns (columns ${columns.join(" and ")}): ` +
        `rename or remove all but one`,
    );
  }
  return rows.slice(1).map((row) => row[columns[0] - 1]);
}

/** Error details csv-parse attaches to its CsvError. */
interface CsvParseError {
  code?: string;
  message: string;
}

function parseCsv(text: string, name: string): string[][] {
  // Byte offset (csv-parse counts UTF-8 bytes) just past the last complete record: the failing record starts
  // at the first non-blank line after it. csv-parse's own line count is not used: it counts a quoted "\r\n"
  // as two lines, and reports the line where it noticed the problem, e.g. the end of the file for a quote
  // that never closes.
  let lastRecordEnd = 0;
  try {
    return parse(text, {
      bom: true,
      // Python's csv module and pandas skip blank lines, take a stray quote inside an unquoted field
      // literally and end lines at "\r\n", "\n" or "\r", even mixed in one file; do the same so every file
      // the notebook read reads here too.
      skip_empty_lines: true,
      relax_quotes: true,
      record_delimiter: ["\r\n", "\n", "\r"],
      on_record: (record: string[], context: { bytes: number }) => {
        lastRecordEnd = context.bytes;
        return record;
      },
    }) as string[][];
  } catch (e) {
    const err = e as CsvParseError;
    if (!err.code?.startsWith("CSV_") && !err.code?.startsWith("INVALID_")) throw e;
    const bytes = new TextEncoder().encode(text);
    let start = lastRecordEnd;
    while (bytes[start] === LF || bytes[start] === CR) start++;
    const where = `${name} line ${lineAt(bytes, start)}: malformed CSV`;
    if (err.code === "CSV_QUOTE_NOT_CLOSED") throw new UserError(`${where}: quoted field never closed`);
    // csv-parse's messages read "Invalid Record Length: expect 16, got 15 on line 7"; the line is ours.
    const reason = err.message.replace(/,? (on|at) line \d+.*$/s, "").split("\n")[0].slice(0, 200);
    throw new UserError(`${where}: ${reason}`);
  }
}
