/**
 * What the page's browser tests share: the page bundled once per process and served as `deno task serve`
 * serves it (the same functions, in this process), tiny models trained by the CLI, the CLI's predictions
 * to compare with, and reading the page's state (sections carry data-state attributes; see web/main.ts).
 *
 * Chromium's lavapipe compiles each kernel on its first dispatch (seconds each: 20-60 s for a model's
 * pipelines on these machines). The harness points XDG_CACHE_HOME at its temp folder, which would make every
 * launch compile everything again, so these tests hand Chromium Mesa's own cache location (where Deno's
 * lavapipe and a person's browser keep it): only the first run on a machine pays the compile.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { type Run, runDeno, taskRun } from "./cli_harness.ts";
import type { Page, PageGlobal } from "./browser_harness.ts";
import { buildPageBundle, type PageServer, startServer } from "../src/cli/serve.ts";

let bundle: Promise<string> | null = null;

/** The page served on 127.0.0.1 at a free port (the bundle is built once per process). */
export async function servePage(modelDir?: string): Promise<PageServer> {
  const js = await (bundle ??= buildPageBundle());
  return startServer({ hostname: "127.0.0.1", port: 0, bundle: js, modelDir });
}

/** Mesa's default shader cache location for this user (MESA_SHADER_CACHE_DIR holds its *_db folder). */
function mesaCacheHome(): Record<string, string> {
  const home = Deno.env.get("XDG_CACHE_HOME") || (Deno.env.get("HOME") && `${Deno.env.get("HOME")}/.cache`);
  return home ? { MESA_SHADER_CACHE_DIR: home } : {};
}

/** Environment for every browser these tests launch. */
export const BROWSER_ENV: Record<string, string> = mesaCacheHome();

/** The model size browser tests train and load: small, because the browser's GEMM is slow. */
export const TINY_MODEL = ["--embed", "8", "--hidden", "16", "--layers", "2"];

/** stdout of a CLI run that must succeed. */
export function ok(r: Run, what: string): string {
  assertEquals(r.code, 0, `${what} failed:\n${r.stderr}`);
  return r.stdout;
}

/**
 * Trains a tiny model on the built-in corpus with the CLI's CPU reference (a few steps, seeded: the same
 * model on every machine) into `dir`; returns its checkpoint directory.
 */
export async function trainTinyModel(dir: string, steps = 20): Promise<string> {
  ok(
    await runDeno([
      ...taskRun("train"),
      ...TINY_MODEL,
      "--backend",
      "cpu",
      "--batch",
      "32",
      "--max-steps",
      String(steps),
      "--out",
      dir,
      "--quiet",
    ]),
    "deno task train",
  );
  return join(dir, "checkpoint");
}

/** One prompt's next words as `predict --json` prints them. */
export interface TopK {
  prompt: string;
  words: string[];
  probabilities: number[];
}

/** A seeded generation's settings, as predict's flags and as the page's link parameters. */
export const GENERATION = { generate: "6", count: "3", temperature: "0.8", "top-p": "0.9", seed: "7" };

/** What `deno task predict --backend cpu --json` generates from `prompt` with GENERATION's flags. */
export async function cliGenerated(model: string, prompt: string): Promise<string[]> {
  const flags = Object.entries(GENERATION).flatMap(([k, v]) => [`--${k}`, v]);
  const out = ok(
    await runDeno([...taskRun("predict"), "--model", model, "--backend", "cpu", "--json", ...flags, prompt]),
    "predict --generate",
  );
  return JSON.parse(out).generated as string[];
}

/** `deno task predict --json --top-k K` for each prompt (extra: e.g. ["--backend", "cpu"]). */
export async function cliTopK(
  model: string,
  prompts: string[],
  k: number,
  extra: string[] = [],
): Promise<TopK[]> {
  const out = ok(
    await runDeno([
      ...taskRun("predict"),
      "--model",
      model,
      "--json",
      "--top-k",
      String(k),
      ...extra,
      ...prompts,
    ]),
    "deno task predict --json",
  );
  return out.trim().split("\n").map((line) => JSON.parse(line));
}

/** Same words in the same order, probabilities within `tol`. */
export function assertSameTopK(got: TopK, want: TopK, tol: number, what: string): void {
  assertEquals(got.words, want.words, `${what}: "${want.prompt}" words`);
  for (let i = 0; i < want.words.length; i++) {
    const d = Math.abs(got.probabilities[i] - want.probabilities[i]);
    assert(
      d <= tol,
      `${what}: "${want.prompt}" ${want.words[i]}: ${got.probabilities[i]} vs ${want.probabilities[i]}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// The page

/** Sets an input's value and fires `input` (and `change`), as typing and leaving it would. */
export function setField(page: Page, id: string, value: string | boolean): Promise<void> {
  return page.evaluate(
    (id: string, value: string | boolean) => {
      const input = (globalThis as PageGlobal).document.getElementById(id);
      if (!input) throw new Error(`no #${id}`);
      if (typeof value === "boolean") input.checked = value;
      else input.value = value;
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
    },
    id,
    value,
  );
}

/** Waits until `section`'s data-state is one of `states` (failing on "error" unless it is one). */
export async function waitForState(
  page: Page,
  section: string,
  states: string[],
  timeoutMs = 120_000,
): Promise<string> {
  await page.evaluate(
    (s: string, w: string[]) => {
      (globalThis as PageGlobal).__wait = { section: s, states: w };
    },
    section,
    states,
  );
  const state = await page.waitFor(() => {
    const g = globalThis as PageGlobal;
    const s = g.document.getElementById(g.__wait.section).dataset.state;
    if (s === "error" && !g.__wait.states.includes("error")) {
      return `error: ${g.document.getElementById("error").innerText}`;
    }
    return g.__wait.states.includes(s) ? s : "";
  }, { timeoutMs, what: `#${section} to be ${states.join(" or ")}` });
  assert(!state.startsWith("error:"), `#${section}: ${state}`);
  return state;
}

/**
 * Clicks `selector` and waits until `section`'s data-state is one of `states`; returns it, or the error line
 * ("error: ...") if one is shown meanwhile. The state is marked "clicked" first, so an earlier result in the
 * same state cannot pass for this one, and a run that starts and ends between two polls is not missed.
 */
export async function clickAndWait(
  page: Page,
  selector: string,
  section: string,
  states: string[],
  timeoutMs = 240_000,
): Promise<string> {
  await page.evaluate(
    (s: string, w: string[]) => {
      const g = globalThis as PageGlobal;
      g.document.getElementById(s).dataset.state = "clicked";
      g.__wait = { section: s, states: w };
    },
    section,
    states,
  );
  await page.click(selector);
  return await page.waitFor(() => {
    const g = globalThis as PageGlobal;
    const error = g.document.getElementById("error");
    if (!error.hidden) return `error: ${error.innerText}`;
    const state = g.document.getElementById(g.__wait.section).dataset.state;
    return g.__wait.states.includes(state) ? state : "";
  }, { timeoutMs, what: `#${section} to be ${states.join(" or ")} after clicking ${selector}` });
}

/** The next words the page shows, read from the list's data attributes (full precision). */
export function shownTopK(page: Page): Promise<TopK> {
  return page.evaluate(() => {
    const d = (globalThis as PageGlobal).document;
    const items = [...d.querySelectorAll("#predict-list li")] as PageGlobal[];
    return {
      prompt: d.getElementById("predict").dataset.for as string,
      words: items.map((li) => li.dataset.word as string),
      probabilities: items.map((li) => Number(li.dataset.prob)),
    };
  });
}

/**
 * Types a prompt into the box (replacing what is there) and waits until the page has answered it: "done"
 * (next words shown) or "note" (an explanation under the box).
 */
export async function enterPrompt(page: Page, prompt: string): Promise<string> {
  await setField(page, "prompt", prompt);
  await page.evaluate((p: string) => (globalThis as PageGlobal).__prompt = p, prompt);
  const state = await page.waitFor(() => {
    const g = globalThis as PageGlobal;
    const s = g.document.getElementById("predict").dataset;
    if (s.state === "error") return `error: ${g.document.getElementById("error").innerText}`;
    return s.for === g.__prompt && (s.state === "done" || s.state === "note") ? s.state : "";
  }, { timeoutMs: 120_000, what: `the page's answer to "${prompt}"` });
  assert(!state.startsWith("error"), `"${prompt}": ${state}`);
  return state;
}

/** Types a prompt and returns the page's top-k once shown. */
export async function predictInPage(page: Page, prompt: string): Promise<TopK> {
  const state = await enterPrompt(page, prompt);
  assertEquals(state, "done", `prediction for "${prompt}": ${await text(page, "predict-note")}`);
  return shownTopK(page);
}

/** An element's visible text. */
export function text(page: Page, id: string): Promise<string> {
  return page.evaluate(
    (id: string) => (globalThis as PageGlobal).document.getElementById(id).innerText as string,
    id,
  );
}

/** The error line's text ("" when hidden). */
export function errorLine(page: Page): Promise<string> {
  return page.evaluate(() => {
    const e = (globalThis as PageGlobal).document.getElementById("error");
    return e.hidden ? "" : e.innerText as string;
  });
}
