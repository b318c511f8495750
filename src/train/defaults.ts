/**
 * Training's defaults, shared by `deno task train`'s flags and the web page's fields (each names the flag
 * that sets it).
 */

/** The notebook's epochs on real data. */
export const DEFAULT_EPOCHS = 200;
/** Epochs by default on the built-in corpus: enough to learn its rules (loss ~0.45 from 4.6). */
export const BUILTIN_EPOCHS = 40;
/** Pairs (or headline rows) per optimizer step. */
export const DEFAULT_BATCH = 64;
/** Seeds initialisation, the shuffle, the validation split and dropout. */
export const DEFAULT_SEED = 0;
/** Save a checkpoint every this many epochs. */
export const DEFAULT_SAVE_EVERY = 1;
/** Read losses back every this many steps. */
export const DEFAULT_LOG_EVERY = 10;
/** Steps between loss readbacks at most: the GPU backend keeps 4096 steps' losses between readbacks. */
export const MAX_LOG_EVERY = 1000;
