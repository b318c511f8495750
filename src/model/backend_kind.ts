/**
 * Which Backend runs the model: WebGPU's kernels or the plain-TypeScript CPU reference. One definition for
 * every command's --backend and the web page's backend choice.
 */
import { choiceFlag } from "../flag_values.ts";

export const BACKEND_KINDS = ["webgpu", "cpu"] as const;
export type BackendKind = typeof BACKEND_KINDS[number];
export const DEFAULT_BACKEND: BackendKind = "webgpu";

/** --backend's value (undefined: WebGPU), with the one-line usage error every command gives. */
export function parseBackendKind(value: string | undefined): BackendKind {
  return choiceFlag("backend", value, DEFAULT_BACKEND, BACKEND_KINDS);
}
