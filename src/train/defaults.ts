/**
 * Training's defaults, shared by `deno task train`'s flags and the web page's fields (each names the flag
 * that sets it).
 */

/** The notebook's epochs on real data. */
export const DEFAULT_EPOCHS = 200;
/** Epochs by default on the built-in corpus: enough to learn its rules (loss ~0.45 from 4.6). */
export const BUILTIN_EPOCHS = 40;
export const DEFAULT_BATCH = 64;
export const DEFAULT_SEED = 0;
export const DEFAULT_SAVE_EVERY = 1;
export const DEFAULT_LOG_EVERY = 10;
/** Steps between loss readbacks at most: the GPU backend keeps 4096 steps' losses between readbacks. */
export const MAX_LOG_EVERY = 1000;
