/**
 * The page in headless Chromium with a headline model (tied direct head, trained with dropout by the CLI): on
 * lavapipe its top-k equals `deno task predict --json` (same words and order, probabilities within 1e-4), as
 * for a window model (tests/web_predict_test.ts), and with the CPU reference a seeded generation, which
 * carries the LSTM's state from word to word, is `predict --backend cpu`'s word for word. Trained in the page
 * on lavapipe (buckets, dropout, clipping), its per-step losses are the CPU reference's run of the same
 * settings within float32 rounding.
 */
import { assert, assertEquals } from "./assert.ts";
import { browserTest, type PageGlobal } from "./browser_harness.ts";
import { runDeno, taskRun } from "./cli_harness.ts";
import { gpuAvailable } from "./gpu_harness.ts";
import {
  assertSameTopK,
  BROWSER_ENV,
  clickAndWait,
  cliGenerated,
  cliTopK,
  GENERATION,
  ok,
  predictInPage,
  servePage,
  setField,
  text,
  waitForState,
} from "./web_harness.ts";

const PROMPTS = ["knicks quietly", "three new", "the mayor"];

const tmp = await Deno.makeTempDir({ prefix: "web_headline_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

let trained: Promise<string> | null = null;
/** A tiny headline model, trained once for the file. */
function headlineModel(): Promise<string> {
  return trained ??= (async () => {
    const dir = `${tmp}/run`;
    ok(
      await runDeno([
        ...taskRun("train"),
        ...["--model-kind", "headline", "--embed", "8", "--hidden", "8", "--layers", "1", "--head", "0"],
        ...["--tie", "--init-range", "0.1", "--dropout", "0.1", "--batch", "32", "--max-steps", "30"],
        ...["--backend", "cpu", "--out", dir, "--quiet"],
      ]),
      "deno task train --model-kind headline",
    );
    return `${dir}/checkpoint`;
  })();
}

browserTest(
  "page (lavapipe): a headline model's top-k equals deno task predict --json",
  { adapter: "lavapipe", env: BROWSER_ENV, timeoutMs: 300_000 },
  async ({ page }) => {
    const model = await headlineModel();
    const cli = await cliTopK(model, PROMPTS, 5, gpuAvailable() ? [] : ["--backend", "cpu"]);
    await using server = await servePage(model);
    await page.goto(server.url);
    const ready = await page.waitForReady<{ backend: string }>(60_000);
    assertEquals(ready.backend, "webgpu");
    const summary = await text(page, "model-summary");
    assert(summary.includes("headline model") && summary.includes("direct head, tied"), summary);
    for (const [i, prompt] of PROMPTS.entries()) {
      assertSameTopK(await predictInPage(page, prompt), cli[i], 1e-4, "lavapipe");
    }
    assertEquals(page.errors, []);
  },
);

browserTest(
  "page (CPU reference): a headline model's seeded generation equals deno task predict --backend cpu",
  { timeoutMs: 180_000 },
  async ({ page }) => {
    const model = await headlineModel();
    const prompt = "the mayor";
    const cli = await cliGenerated(model, prompt);
    assertEquals(cli.length, 3);
    await using server = await servePage(model);
    await page.goto(`${server.url}?${new URLSearchParams({ prompt, ...GENERATION, backend: "cpu" })}`);
    await page.waitForReady(60_000);
    await waitForState(page, "generate", ["done"]);
    const shown = await page.evaluate(() =>
      [...(globalThis as PageGlobal).document.querySelectorAll("#gen-output li")].map((li: PageGlobal) =>
        li.textContent
      )
    );
    assertEquals(shown, cli);
    assertEquals(page.errors, []);
  },
);

/** Headline-model training settings, as train's flags (the page gets them as its fields). */
const TRAINING: Record<string, string | boolean> = {
  "model-kind": "headline",
  embed: "8",
  hidden: "8",
  layers: "1",
  head: "0",
  tie: true,
  "init-range": "0.1",
  dropout: "0.2",
  clip: "1",
  bucket: "3",
  batch: "16",
  lr: "0.01",
  seed: "5",
  "max-steps": "12",
  "log-every": "1",
};

browserTest(
  "page (lavapipe): a headline model trained in the page takes the CPU reference's steps",
  { adapter: "lavapipe", env: BROWSER_ENV, timeoutMs: 300_000 },
  async ({ page }) => {
    const cliDir = `${tmp}/cli_trained`;
    const flags = Object.entries(TRAINING).flatMap(([k, v]) =>
      v === true ? [`--${k}`] : [`--${k}`, String(v)]
    );
    ok(
      await runDeno([...taskRun("train"), ...flags, "--backend", "cpu", "--out", cliDir, "--quiet"]),
      "train --backend cpu",
    );
    const losses = (jsonl: string) =>
      jsonl.trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.step !== undefined).map((r) =>
        r.loss
      );
    const want = losses(await Deno.readTextFile(`${cliDir}/metrics.jsonl`));

    await using server = await servePage();
    await page.goto(server.url);
    await page.waitForReady(60_000);
    await setField(page, "backend", "webgpu");
    for (const [flag, value] of Object.entries(TRAINING)) await setField(page, `train-${flag}`, value);
    await setField(page, "train-data", "builtin");
    assertEquals(await clickAndWait(page, "#train-start", "train", ["done", "paused", "failed"]), "done");
    const metrics = await page.download(() => page.click("#download-metrics"));
    const got = losses(new TextDecoder().decode(metrics.bytes));
    assertEquals(got.length, want.length, "steps");
    // WebGPU sums in other orders than the reference: float32 rounding, grown over 12 Adam steps (3.3e-7).
    const worst = Math.max(...got.map((g, i) => Math.abs(g - want[i]) / want[i]));
    console.log(`page-trained headline model: largest relative loss difference ${worst.toExponential(2)}`);
    assert(worst < 2e-6, `losses ${got} vs the reference's ${want}`);
    assertEquals(page.errors, []);
  },
);
