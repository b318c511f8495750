/// <reference lib="dom" />
/**
 * The page's two message lines: the error line (one line for whatever went wrong: a bad file, a bad field,
 * a failed run; the page keeps working) and the notice line (how the page runs, e.g. on the CPU reference
 * for want of WebGPU).
 */
import { errorLine } from "../core.ts";
import { byId } from "./dom.ts";

export function showError(e: unknown): void {
  const line = byId("error");
  line.textContent = errorLine(e);
  line.hidden = false;
  // The whole error, stack included, for whoever opens the console.
  console.error(e);
}

export function clearError(): void {
  const line = byId("error");
  line.textContent = "";
  line.hidden = true;
}

export function showNotice(text: string): void {
  const line = byId("notice");
  line.textContent = text;
  line.hidden = false;
}

/**
 * Runs `action`, showing any error it throws on the error line instead; clears the line first, so it only
 * ever shows the latest problem. Resolves to whether it succeeded.
 */
export async function reporting(action: () => Promise<void> | void): Promise<boolean> {
  clearError();
  try {
    await action();
    return true;
  } catch (e) {
    showError(e);
    return false;
  }
}
