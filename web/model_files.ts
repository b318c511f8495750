/// <reference lib="dom" />
/**
 * Where a checkpoint's files come from in the page: a path served beside the page (`deno task serve
 * --model DIR` puts one at model/), or files the person picked or dropped. Both are CheckpointFiles for the
 * core's decodeCheckpoint, which validates everything, so a broken file never replaces the loaded model.
 */
import {
  type Checkpoint,
  type CheckpointFiles,
  CONFIG_FILE,
  decodeCheckpoint,
  errorLine,
  MODEL_FILE,
  OPTIMIZER_FILE,
  UserError,
  VOCAB_FILE,
} from "../core.ts";

/** A model the page holds: the checkpoint and how to name where it came from. */
export interface LoadedModel {
  checkpoint: Checkpoint;
  source: string;
}

/** The checkpoint files under a URL path (a directory URL; a missing trailing slash is added). */
export function servedFiles(path: string): CheckpointFiles {
  const base = new URL(path.endsWith("/") ? path : `${path}/`, location.href);
  return {
    where: base.pathname,
    path: (name) => new URL(name, base).pathname,
    async read(name) {
      const url = new URL(name, base);
      let response: Response;
      try {
        response = await fetch(url);
      } catch (e) {
        throw new UserError(`cannot fetch ${url.pathname}: ${errorLine(e)}`);
      }
      if (response.status === 404) return null; // config.json and optimizer.safetensors are optional
      if (!response.ok) throw new UserError(`cannot fetch ${url.pathname}: HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}

/**
 * Picked or dropped files as a checkpoint. Files keep their checkpoint names, or, renamed by a browser's
 * downloads ("model (1).safetensors"), are recognised by what their names start with.
 */
export function pickedFiles(files: File[]): CheckpointFiles {
  const byRole = new Map<string, File>();
  for (const file of files) {
    const role = roleOf(file.name);
    if (!role) {
      throw new UserError(
        `${file.name} is not a checkpoint file (expected ${MODEL_FILE}, ${VOCAB_FILE}, ${CONFIG_FILE} or ` +
          `${OPTIMIZER_FILE})`,
      );
    }
    if (byRole.has(role)) {
      throw new UserError(`two files for ${role}: ${byRole.get(role)!.name} and ${file.name}`);
    }
    byRole.set(role, file);
  }
  return {
    where: `the picked files (${files.map((f) => f.name).join(", ")})`,
    path: (name) => byRole.get(name)?.name ?? name,
    async read(name) {
      const file = byRole.get(name);
      return file ? new Uint8Array(await file.arrayBuffer()) : null;
    },
  };
}

const ROLES = [OPTIMIZER_FILE, MODEL_FILE, VOCAB_FILE, CONFIG_FILE];

function roleOf(name: string): string | undefined {
  if (ROLES.includes(name)) return name;
  // "model (1).safetensors", "vocab(2).json": the stem before any copy suffix, and the same extension.
  return ROLES.find((role) => {
    const dot = role.lastIndexOf(".");
    return name.startsWith(role.slice(0, dot)) && name.endsWith(role.slice(dot));
  });
}

/** Decodes and validates a checkpoint (errors are one-line UserErrors naming the file). */
export async function loadModel(files: CheckpointFiles): Promise<LoadedModel> {
  return { checkpoint: await decodeCheckpoint(files), source: files.where };
}
