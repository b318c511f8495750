/**
 * Plain-text files' bytes -> raw headlines (one a line), and the decoding every text format shares: one-line
 * UserErrors naming the file and line for what is not text.
 */
import { UserError } from "../errors.ts";

/**
 * The lines of a plain-text file's bytes, one headline or sentence each, in file order; lines holding only
 * whitespace are skipped. Lines end at "\r\n", "\n" or "\r". A NUL byte marks binary data (no text file
 * holds one; CSV fields may, as pandas reads them, so the CSV reader does not refuse it).
 */
export function textLines(bytes: Uint8Array, name: string): string[] {
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new UserError(`${name} line ${lineAt(bytes, nul)}: a NUL byte: binary data, not text`);
  return decodeText(bytes, name).split(/\r\n|\n|\r/).filter((line) => line.trim() !== "");
}

/**
 * A text file's bytes as a string, refusing what is not text: bytes that are not UTF-8 (naming the first
 * bad line), or nothing but whitespace (empty).
 */
export function decodeText(bytes: Uint8Array, name: string): string {
  const text = decodeUtf8(bytes, name);
  if (text.trim() === "") throw new UserError(`${name} is empty`);
  return text;
}

function decodeUtf8(bytes: Uint8Array, name: string): string {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  try {
    // The decoder drops a leading BOM, so the first header name or line comes out clean.
    return decoder.decode(bytes);
  } catch {
    // Find the first bad line: a line break byte is never part of a multi-byte sequence.
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i < bytes.length && bytes[i] !== LF && bytes[i] !== CR) continue;
      try {
        decoder.decode(bytes.subarray(start, i));
      } catch {
        throw new UserError(`${name} line ${lineAt(bytes, start)}: not UTF-8 text`);
      }
      start = i + 1;
    }
    throw new UserError(`${name} is not UTF-8 text`);
  }
}

export const LF = 0x0a;
export const CR = 0x0d;

/** The 1-based line of byte `offset`, counting "\r\n", "\n" and "\r" as one line break each (as editors do). */
export function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) {
    if (bytes[i] === LF || (bytes[i] === CR && bytes[i + 1] !== LF)) line++;
  }
  return line;
}
