/** The train/validation split of headlines, drawn with the project's seeded Rng so a seed repeats it. */
import { Rng } from "../model/rng.ts";

/**
 * Marks round(valFraction * count) headlines, chosen uniformly by a seeded shuffle, as validation.
 * Whole headlines are held out (not pairs), so no validation pair shares a headline with training.
 */
export function chooseValidation(count: number, valFraction: number, seed: number): boolean[] {
  const isVal = new Array<boolean>(count).fill(false);
  const valCount = Math.round(valFraction * count);
  if (valCount === 0) return isVal;
  const order = new Rng(seed).shuffle(Array.from({ length: count }, (_, i) => i));
  for (const i of order.slice(0, valCount)) isVal[i] = true;
  return isVal;
}
