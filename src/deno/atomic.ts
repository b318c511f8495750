/**
 * Writes that a crash (SIGKILL, power loss) cannot leave half done.
 *
 * Files: writeFileAtomic writes `.NAME.tmp-PID-RAND` beside the target, fsyncs it, renames it over the target
 * (rename(2) is atomic) and fsyncs the directory, so readers see the old file or the new one, never a mix.
 * A temp file left by a killed writer is removed by the next write of the same file once its pid is gone.
 *
 * Directories (checkpoints): rename(2) cannot replace a non-empty directory, so replaceDirAtomic swaps with
 * two renames and two fixed siblings of DIR:
 *
 *   1. recover from an earlier crash (below), then fill `.DIR.new` completely and fsync every file and it;
 *   2. rename DIR -> `.DIR.old`     (skipped on the first save);
 *   3. rename `.DIR.new` -> DIR, fsync the parent;
 *   4. delete `.DIR.old`.
 *
 * Invariant: DIR, whenever it exists, is complete (it only ever appears by a rename of a finished
 * directory), and when DIR is missing while `.DIR.old` exists, `.DIR.old` is complete (a kill between steps
 * 2 and 3; step 4 only starts once DIR exists again). So a kill at any point leaves the previous or the new
 * checkpoint whole, and committedDir tells a reader which one to use: DIR if it exists, else `.DIR.old`.
 * The next save first renames a lone `.DIR.old` back to DIR, then deletes leftovers: a `.DIR.new` (partial,
 * or finished but never committed) and a `.DIR.old` that step 4 did not finish deleting.
 *
 * One writer per DIR at a time (the trainer holds the run directory's lock, see lock.ts).
 */
import { basename, dirname, join } from "node:path";
import { exists } from "./fs.ts";
import { processAlive } from "./lock.ts";

/** Writes `data` to `path` and fsyncs it (no rename: for files inside a directory not yet committed). */
export async function writeFileDurable(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    for (let off = 0; off < bytes.length;) off += await f.write(bytes.subarray(off));
    await f.sync();
  } finally {
    f.close();
  }
}

/** fsync of a directory makes the renames and creations inside it durable. */
async function syncDir(dir: string): Promise<void> {
  const d = await Deno.open(dir, { read: true });
  try {
    await d.sync();
  } finally {
    d.close();
  }
}

/** Replaces `path` with `data` atomically (see the top comment). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.tmp-`;
  await removeDeadTemps(dir, prefix);
  const tmp = join(dir, `${prefix}${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
  try {
    await writeFileDurable(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dir);
}

/** Removes `PREFIX<pid>-<rand>` temp files whose writer process no longer exists. */
async function removeDeadTemps(dir: string, prefix: string): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return; // the directory does not exist: the write itself will report that
  }
  for (const e of entries) {
    if (!e.name.startsWith(prefix)) continue;
    const pid = Number(e.name.slice(prefix.length).split("-")[0]);
    if (Number.isInteger(pid) && pid !== Deno.pid && !(await processAlive(pid))) {
      await Deno.remove(join(dir, e.name)).catch(() => {});
    }
  }
}

/** The sibling paths replaceDirAtomic uses for `dir`. */
export function swapPaths(dir: string): { fresh: string; previous: string } {
  const parent = dirname(dir);
  const name = basename(dir);
  return { fresh: join(parent, `.${name}.new`), previous: join(parent, `.${name}.old`) };
}

/**
 * The directory holding the latest complete version of `dir`: `dir` itself, or its `.old` sibling after a
 * kill mid-swap; null when neither exists.
 */
export async function committedDir(dir: string): Promise<string | null> {
  if (await exists(dir)) return dir;
  const { previous } = swapPaths(dir);
  return (await exists(previous)) ? previous : null;
}

/**
 * Replaces directory `dir` by one that `fill` writes (into the temp directory it is given, with
 * writeFileDurable), atomically as the top comment describes.
 */
export async function replaceDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const parent = dirname(dir);
  const { fresh, previous } = swapPaths(dir);
  await Deno.mkdir(parent, { recursive: true });

  // Recover from an interrupted earlier save.
  if (!(await exists(dir)) && (await exists(previous))) await Deno.rename(previous, dir);
  await Deno.remove(fresh, { recursive: true }).catch(ignoreNotFound);
  await Deno.remove(previous, { recursive: true }).catch(ignoreNotFound);

  await Deno.mkdir(fresh);
  try {
    await fill(fresh);
    await syncDir(fresh);
  } catch (e) {
    await Deno.remove(fresh, { recursive: true }).catch(() => {}); // the next save would, but why wait
    throw e;
  }
  const hadPrevious = await exists(dir);
  if (hadPrevious) await Deno.rename(dir, previous);
  await Deno.rename(fresh, dir);
  await syncDir(parent);
  if (hadPrevious) await Deno.remove(previous, { recursive: true });
}

function ignoreNotFound(e: unknown): void {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
}
