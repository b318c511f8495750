/**
 * One trainer per output directory: `DIR/.lock` names the holder (pid, host, start time) and the holder
 * keeps an exclusive flock on it for as long as it runs. The kernel drops a flock when its process dies,
 * however it dies, so a lock file whose flock is free is stale by definition (a killed trainer, or a pid
 * since reused by something else): it is taken over with a warning. Where flock is unsupported (some network
 * file systems) the fallback is the pid: stale when that pid is not alive on this host.
 * A lock written on another host is never judged stale: that pid cannot be checked from here.
 */
import { join } from "node:path";
import { errorLine, UserError } from "../errors.ts";

interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

export interface Lock {
  /** Removes the lock file and drops the flock; safe to call twice. */
  release(): Promise<void>;
}

/** Whether a process with this pid exists on this host (via /proc; assumes alive where there is none). */
export async function processAlive(pid: number): Promise<boolean> {
  try {
    await Deno.stat(`/proc/${pid}`);
    return true;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return true;
    try {
      await Deno.stat("/proc/self");
    } catch {
      return true; // no /proc: cannot tell, so do not break a lock that may be live
    }
    return false;
  }
}

/** This machine's name without needing --allow-sys (read from /proc where it can be). */
function hostName(): string {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/hostname").trim();
  } catch {
    try {
      return Deno.hostname();
    } catch {
      return "unknown-host";
    }
  }
}

function parseInfo(text: string): LockInfo | null {
  try {
    const o = JSON.parse(text);
    if (Number.isInteger(o?.pid) && typeof o.host === "string" && typeof o.started === "string") return o;
  } catch {
    // a lock file being written, or not ours: treated as holding no information
  }
  return null;
}

function describe(info: LockInfo | null): string {
  return info
    ? `pid ${info.pid} on ${info.host} (started ${info.started})`
    : "a process that left no details";
}

async function readAll(f: Deno.FsFile): Promise<string> {
  await f.seek(0, Deno.SeekMode.Start);
  const decoder = new TextDecoder();
  const buf = new Uint8Array(4096);
  let text = "";
  for (let n; (n = await f.read(buf)) !== null;) text += decoder.decode(buf.subarray(0, n), { stream: true });
  return text + decoder.decode();
}

/** Takes `dir/.lock` or throws a one-line UserError naming the live holder. */
export async function acquireLock(dir: string): Promise<Lock> {
  const path = join(dir, ".lock");
  const host = hostName();
  // Retried when the file we locked was unlinked or replaced by its releasing holder meanwhile.
  for (let attempt = 0; attempt < 5; attempt++) {
    const f = await Deno.open(path, { read: true, write: true, create: true }).catch((e) => {
      throw new UserError(`cannot create ${path}: ${errorLine(e)}`);
    });
    let ok = false;
    try {
      let flock: "held" | "busy" | "unsupported";
      try {
        flock = (await f.tryLock(true)) ? "held" : "busy";
      } catch {
        flock = "unsupported";
      }
      const previous = parseInfo(await readAll(f));
      if (flock === "busy") {
        throw new UserError(
          `${dir} is in use by another trainer: ${describe(previous)}; wait for it or use another --out`,
        );
      }
      if (previous && previous.host !== host) {
        throw new UserError(
          `${dir} is locked by ${describe(previous)}: if no trainer runs there, delete ${path}`,
        );
      }
      if (
        flock === "unsupported" && previous &&
        (previous.pid === Deno.pid || (await processAlive(previous.pid)))
      ) {
        throw new UserError(
          `${dir} is in use by another trainer: ${describe(previous)}; wait for it or use another --out`,
        );
      }
      // The path must still name the file we hold: a releasing holder unlinks it before dropping its flock.
      const [held, named] = await Promise.all([f.stat(), Deno.stat(path).catch(() => null)]);
      if (!named || named.ino !== held.ino || named.dev !== held.dev) continue;
      if (previous) {
        console.warn(
          `warning: cleared a stale lock in ${dir} left by ${describe(previous)}: that process is gone`,
        );
      }
      const mine: LockInfo = { pid: Deno.pid, host, started: new Date().toISOString() };
      const text = new TextEncoder().encode(JSON.stringify(mine) + "\n");
      await f.truncate(0);
      await f.seek(0, Deno.SeekMode.Start);
      for (let off = 0; off < text.length;) off += await f.write(text.subarray(off));
      await f.sync();
      ok = true;
      return makeLock(path, f, held.ino);
    } finally {
      if (!ok) f.close();
    }
  }
  throw new UserError(
    `${dir}: could not take ${path}: it keeps changing under us (another trainer starting?)`,
  );
}

function makeLock(path: string, f: Deno.FsFile, ino: number | null): Lock {
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      try {
        // Unlink only our own file (never a successor's), then drop the flock by closing.
        const named = await Deno.stat(path).catch(() => null);
        if (named && named.ino === ino) await Deno.remove(path);
      } finally {
        f.close();
      }
    },
  };
}
