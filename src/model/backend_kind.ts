/**
 * Which Backend runs the model: WebGPU's kernels or the plain-TypeScript CPU reference. One definition for
 * every command's --backend and the web page's backend choice.
 */
import { choiceFlag } from "../flag_values.ts";
import { setting, type SettingRef } from "../errors.ts";

/** The backends there are: WebGPU's kernels, the CPU reference. */
export const BACKEND_KINDS = ["webgpu", "cpu"] as const;
/** One of {@linkcode BACKEND_KINDS}. */
export type BackendKind = typeof BACKEND_KINDS[number];
/** The backend a run uses unless told otherwise. */
export const DEFAULT_BACKEND: BackendKind = "webgpu";

/** The CPU reference as a message suggests it when WebGPU cannot help (the CLIs: `--backend cpu`). */
export const CPU_BACKEND: SettingRef = setting("backend", "the CPU backend", "cpu");

/** --backend's value (undefined: WebGPU), with the one-line usage error every command gives. */
export function parseBackendKind(value: string | undefined): BackendKind {
  return choiceFlag("backend", value, DEFAULT_BACKEND, BACKEND_KINDS);
}
