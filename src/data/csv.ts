/** Reads the `headline` column of one CSV file, with one-line UserErrors naming the file and line. */
import { parse } from "csv-parse/sync";
import { basename } from "node:path";
import { UserError } from "../errors.ts";
import { osReason } from "./fs.ts";

/** The column the headlines are in, found by name because column order differs between files. */
export const HEADLINE_COLUMN = "headline";

/** Every raw `headline` field of `path`, in file order (the "Unknown" placeholder included). */
export async function readHeadlineColumn(path: string): Promise<string[]> {
  const name = basename(path);
  const text = decodeUtf8(await readFileBytes(path), name);
  if (text.trim() === "") throw new UserError(`${name} is empty`);
  const rows = parseCsv(text, name);
  const column = rows[0].findIndex((h) => h.trim() === HEADLINE_COLUMN);
  if (column < 0) {
    throw new UserError(`${name} has no "${HEADLINE_COLUMN}" column (columns: ${rows[0].join(", ")})`);
  }
  return rows.slice(1).map((row) => row[column]);
}

async function readFileBytes(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${osReason(e)}`);
  }
}

function decodeUtf8(bytes: Uint8Array, name: string): string {
  try {
    // The decoder drops a leading BOM, so the first header name comes out clean.
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UserError(`${name} is not UTF-8 text`);
  }
}

/** Error details csv-parse attaches to its CsvError. */
interface CsvParseError {
  code?: string;
  lines?: number;
  message: string;
}

function parseCsv(text: string, name: string): string[][] {
  // Line on which the last complete record ended: an unterminated quote is only noticed at end of file,
  // but the record holding it starts right after this line.
  let lastRecordEnd = 0;
  try {
    return parse(text, {
      bom: true,
      // Python's csv module and pandas skip blank lines and take a stray quote inside an unquoted field
      // literally; do the same so every file the notebook read reads here too.
      skip_empty_lines: true,
      relax_quotes: true,
      on_record: (record: string[], context: { lines: number }) => {
        lastRecordEnd = context.lines;
        return record;
      },
    }) as string[][];
  } catch (e) {
    const err = e as CsvParseError;
    if (err.code === "CSV_QUOTE_NOT_CLOSED") {
      throw new UserError(`${name} line ${lastRecordEnd + 1}: malformed CSV: quoted field never closed`);
    }
    if (err.code?.startsWith("CSV_") || err.code?.startsWith("INVALID_")) {
      // csv-parse's messages read "Invalid Record Length: expect 16, got 15 on line 7"; the line is ours.
      const reason = err.message.replace(/,? (on|at) line \d+.*$/s, "");
      throw new UserError(`${name} line ${err.lines ?? "?"}: malformed CSV: ${reason}`);
    }
    throw e;
  }
}
