/// <reference lib="dom" />
/**
 * Links that open straight to a result: the page's state as URL parameters, read at start and written
 * back as the person types (the address bar always holds the link to what is shown). Parameters carry the
 * CLI flags' names where there is one:
 *
 *   prompt=TEXT  k=N (next-word list)  model=PATH (a served checkpoint directory)  backend=cpu|webgpu
 *   generate=N count=M temperature=T top-p=P top-k=K seed=S stop-at-unk=1 (a generation)
 */

/** Link parameters as text, exactly as given (fields parse them with the CLI's rules). */
export interface LinkState {
  prompt?: string;
  k?: string;
  model?: string;
  backend?: string;
  generate?: string;
  count?: string;
  temperature?: string;
  "top-p"?: string;
  "top-k"?: string;
  seed?: string;
  "stop-at-unk"?: string;
}

const KEYS: Array<keyof LinkState> = [
  "prompt",
  "k",
  "model",
  "backend",
  "generate",
  "count",
  "temperature",
  "top-p",
  "top-k",
  "seed",
  "stop-at-unk",
];

export function readLink(search: string): LinkState {
  const params = new URLSearchParams(search);
  const state: LinkState = {};
  for (const key of KEYS) {
    const value = params.get(key);
    if (value !== null) state[key] = value;
  }
  return state;
}

/** "?prompt=...&k=..." with the parameters that are set, in a fixed order. */
export function linkSearch(state: LinkState): string {
  const params = new URLSearchParams();
  for (const key of KEYS) {
    const value = state[key];
    if (value !== undefined && value !== "") params.set(key, value);
  }
  const text = params.toString();
  return text ? `?${text}` : location.pathname;
}

/** Shows `state` in the address bar without a new history entry, and returns the link. */
export function publishLink(state: LinkState): string {
  const search = linkSearch(state);
  history.replaceState(null, "", search);
  return location.href;
}
