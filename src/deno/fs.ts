/** File-system helpers shared by the scripts: failures read well as one-line user errors. */
import { errorLine, UserError } from "../errors.ts";

/** Deno's errors read "No such file or directory (os error 2): stat '/x'"; users need the reason. */
export function osReason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  return e.message.split(":")[0].replace(/ \(os error \d+\)$/, "").toLowerCase();
}

/** Deno.stat, with null for a path that does not exist and a UserError for any other failure. */
export async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new UserError(`cannot read ${path}: ${osReason(e)}`);
  }
}

/** A file's bytes, with null for a file that does not exist and a UserError for any other failure. */
export async function readFileOrNull(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new UserError(`${path}: cannot read: ${errorLine(e)}`);
  }
}

/**
 * Whether something is at `path` (Deno.lstat: a link counts, even one whose target is gone); false only
 * for NotFound, any other failure is thrown.
 */
export async function exists(path: string | URL): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
