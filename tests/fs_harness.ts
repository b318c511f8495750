/** Temporary directories for tests, and the shared data that lives outside the repository. */
import { fileURLToPath } from "node:url";

/**
 * A `withTempDir(fn)` for one test file: runs `fn` in a fresh directory named `prefix...` under the system
 * temp folder, removes it afterwards whether `fn` succeeds or throws, and resolves to what `fn` returned.
 */
export function makeWithTempDir(prefix: string): <T>(fn: (dir: string) => Promise<T>) => Promise<T> {
  return async <T>(fn: (dir: string) => Promise<T>): Promise<T> => {
    const dir = await Deno.makeTempDir({ prefix });
    try {
      return await fn(dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  };
}

/** The shared data beside the repository (the NYT CSVs, the PyTorch parity run); it may be absent. */
export const SHARED_DATA = fileURLToPath(new URL("../../shared/data/", import.meta.url));

/**
 * Whether every one of `paths` is a file (links followed). When some are not, warns "WHAT ignored: missing
 * ..." naming them, so that tests which pass `ignore: !haveFiles(...)` are skipped visibly, never silently.
 */
export function haveFiles(what: string, paths: string[]): boolean {
  const missing = paths.filter((path) => {
    try {
      return !Deno.statSync(path).isFile;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) console.warn(`${what} ignored: missing ${missing.join(", ")}`);
  return missing.length === 0;
}
