/**
 * Dropout masks from a counter-based hash (docs/headline-model.md): whether an element is kept depends only
 * on the run's seed, the optimizer step, the site and the element's index, so the CPU reference, the WGSL
 * kernels and the PyTorch parity fixture draw identical masks without sharing a stream, and a resumed run
 * draws the masks the uninterrupted run would have.
 */

/** Training-time dropout: drop with probability `rate`, keep and scale by 1 / (1 - rate) otherwise. */
export interface DropoutSettings {
  /** In [0, 1); 0 is off. */
  rate: number;
  /** The run's seed (u32). */
  seed: number;
}

/** Chris Wellons' lowbias32: a u32 -> u32 hash with low bias, in wrapping u32 arithmetic. */
export function lowbias32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The key of one site's mask at one optimizer step (1-based); computed on the host, once per site and step. */
export function dropoutKey(seed: number, step: number, site: number): number {
  return lowbias32((seed ^ lowbias32((step ^ lowbias32(site)) >>> 0)) >>> 0);
}

/** Hash values below this are dropped: floor(rate * 2^32). */
export function dropThreshold(rate: number): number {
  return Math.floor(rate * 4294967296);
}

/** The scale kept elements get, as float32 (what the GPU multiplies by). */
export function keepScale(rate: number): number {
  return Math.fround(1 / (1 - rate));
}

/** Whether element `i` of the site whose key is `key` is kept. */
export function isKept(key: number, i: number, threshold: number): boolean {
  return lowbias32((key ^ lowbias32(i >>> 0)) >>> 0) >= threshold;
}

/**
 * The sites of a model with `layers` LSTM layers: the embedding output, the input of each LSTM layer after
 * the first, before fc1, and before fc2 (after its ReLU), as PyTorch's nn.Dropout and nn.LSTM(dropout=)
 * place them.
 */
export const dropoutSite = {
  embedding: 0,
  /** The input of LSTM layer k, 1 <= k < layers. */
  lstmInput: (k: number) => k,
  fc1Input: (layers: number) => layers,
  fc2Input: (layers: number) => layers + 1,
} as const;

/** The mask (0 or the keep scale) of `n` elements of one site at one step: what the CPU reference multiplies by. */
export function dropoutMask(settings: DropoutSettings, step: number, site: number, n: number): Float32Array {
  const key = dropoutKey(settings.seed, step, site);
  const threshold = dropThreshold(settings.rate);
  const scale = keepScale(settings.rate);
  const mask = new Float32Array(n);
  for (let i = 0; i < n; i++) mask[i] = isKept(key, i, threshold) ? scale : 0;
  return mask;
}
