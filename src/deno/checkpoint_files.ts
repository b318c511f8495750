/**
 * Checkpoints and model files on disk: a checkpoint directory is written atomically as a whole
 * (replaceDirAtomic) from the files src/io/checkpoint.ts encodes, and read back (after a save killed
 * mid-swap, from the previous complete directory beside it) through its decoder.
 */
import { join } from "node:path";
import { type Checkpoint, decodeCheckpoint, decodeModelFile, encodeCheckpoint } from "../io/checkpoint.ts";
import { decodeSafetensors, type ReadOptions, type Safetensors } from "../io/safetensors.ts";
import type { ModelConfig } from "../model/config.ts";
import { committedDir, replaceDirAtomic, writeFileDurable } from "./atomic.ts";
import { errorLine, UserError } from "../errors.ts";
import { CHECKPOINT_DIR } from "../io/file_names.ts";
import { readFileOrNull, statOrNull } from "./fs.ts";

/** Writes checkpoint `ck` as directory `dir`, replacing any previous one atomically. */
export async function saveCheckpoint(dir: string, ck: Checkpoint): Promise<void> {
  const files = await encodeCheckpoint(ck);
  await replaceDirAtomic(dir, async (tmp) => {
    for (const [name, bytes] of files) await writeFileDurable(join(tmp, name), bytes);
  });
}

/**
 * Loads and validates checkpoint directory `dir` (or, after a save was killed mid-swap, the previous
 * complete one beside it). `expectVocab`: the corpus's vocabulary; a different one is an error.
 */
export async function loadCheckpoint(
  dir: string,
  opts: { expectVocab?: string[] } = {},
): Promise<Checkpoint> {
  const found = await committedDir(dir);
  if (!found) throw new UserError(`checkpoint ${dir}: no such directory`);
  if (found !== dir) {
    console.warn(
      `warning: ${dir} is missing after an interrupted save; loading the previous checkpoint ${found}`,
    );
  }
  return await decodeCheckpoint({
    where: found,
    path: (name) => join(found, name),
    read: (name) => readFileOrNull(join(found, name)),
  }, opts);
}

/**
 * The checkpoint directory --model DIR names: a run directory's latest checkpoint (its checkpoint/), else
 * DIR itself (loadCheckpoint then says what is missing if it is not one).
 */
export async function modelCheckpointDir(dir: string): Promise<string> {
  const inner = join(dir, CHECKPOINT_DIR);
  return (await statOrNull(inner))?.isDirectory ? inner : dir;
}

/** The model --model DIR names (modelCheckpointDir). */
export async function loadModel(dir: string): Promise<Checkpoint> {
  return await loadCheckpoint(await modelCheckpointDir(dir));
}

/**
 * Parameters from a bare .safetensors state_dict file (train --init). With `cfg`, every shape must fit it
 * and the first misfit is named; without, the config is inferred from the shapes.
 */
export async function loadModelFile(
  file: string,
  cfg?: ModelConfig,
): Promise<{ config: ModelConfig; params: Float32Array }> {
  return decodeModelFile(file, await readFile(file), cfg);
}

/** Reads and validates a .safetensors file (see decodeSafetensors). */
export async function readSafetensors(file: string, opts: ReadOptions = {}): Promise<Safetensors> {
  return decodeSafetensors(await readFile(file), file, opts);
}

async function readFile(file: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`${file}: no such file`);
    throw new UserError(`${file}: cannot read: ${errorLine(e)}`);
  }
}
