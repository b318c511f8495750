/**
 * The page in headless Chromium, training: from given initial weights, in file order, the page's steps
 * give `deno task train`'s CPU reference losses (within 1e-4 relative on the page's CPU reference, paused
 * and resumed half way; within 1e-3 on the lavapipe adapter), the downloaded checkpoint loads in `deno task
 * predict` and gives the CLI-trained checkpoint's top-k, and "Predict with this model" shows the same. A
 * screenshot is saved after the run.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { browserTest, type Page, type PageGlobal } from "./browser_harness.ts";
import { runDeno, taskRun } from "./cli_harness.ts";
import {
  assertSameTopK,
  BROWSER_ENV,
  clickAndWait,
  cliTopK,
  ok,
  predictInPage,
  servePage,
  setField,
  text,
  TINY_MODEL,
  type TopK,
  trainTinyModel,
} from "./web_harness.ts";

const STEPS = 6;
const TRAIN_FLAGS = { batch: "32", epochs: "1", "max-steps": String(STEPS), "log-every": "2" };
const PROMPTS = ["knicks quietly", "three new", "the mayor quietly"];

const tmp = await Deno.makeTempDir({ prefix: "web_train_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

interface Fixture {
  /** Initial weights (a CLI checkpoint's model.safetensors: PyTorch state_dict names). */
  init: string;
  /** The CLI CPU reference's loss at each step from `init`. */
  losses: number[];
  /** predict --json on the CLI's resulting checkpoint. */
  topK: TopK[];
}

let fixture: Promise<Fixture> | null = null;
function fixtures(): Promise<Fixture> {
  return fixture ??= (async () => {
    const init = join(await trainTinyModel(join(tmp, "start"), 5), "model.safetensors");
    const out = join(tmp, "cli");
    const flags = Object.entries(TRAIN_FLAGS).flatMap(([k, v]) => [`--${k}`, v]);
    ok(
      await runDeno([
        ...taskRun("train"),
        ...TINY_MODEL,
        ...flags,
        "--backend",
        "cpu",
        "--init",
        init,
        "--no-shuffle",
        "--out",
        out,
        "--quiet",
      ]),
      "deno task train",
    );
    const losses = stepLosses(await Deno.readTextFile(join(out, "metrics.jsonl")));
    assertEquals(losses.length, STEPS);
    return { init, losses, topK: await cliTopK(join(out, "checkpoint"), PROMPTS, 5, ["--backend", "cpu"]) };
  })();
}

/** The per-step losses of a metrics.jsonl text, in step order. */
function stepLosses(jsonl: string): number[] {
  return jsonl.trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.step !== undefined).map((r) =>
    r.loss
  );
}

function assertLossesClose(got: number[], want: number[], rtol: number, what: string): void {
  assertEquals(got.length, want.length, `${what}: steps`);
  const worst = Math.max(...got.map((g, i) => Math.abs(g - want[i]) / Math.abs(want[i])));
  console.log(`${what}: largest relative loss difference ${worst.toExponential(2)} over ${got.length} steps`);
  assert(worst <= rtol, `${what}: losses ${got} vs ${want}`);
}

/** Fills the Train section as the CLI's flags say and picks the initial weights. */
async function fillTraining(page: Page, init: string): Promise<void> {
  const [embed, hidden, layers] = [TINY_MODEL[1], TINY_MODEL[3], TINY_MODEL[5]];
  for (const [flag, value] of Object.entries({ ...TRAIN_FLAGS, embed, hidden, layers })) {
    await setField(page, `train-${flag}`, value);
  }
  await setField(page, "train-shuffle", false);
  await page.upload("#train-init", [init]);
}

/** Clicks Train (or Resume) and waits for the run to end: done, paused or failed (or an error line). */
function train(page: Page, button = "#train-start"): Promise<string> {
  return clickAndWait(page, button, "train", ["done", "paused", "failed"]);
}

browserTest(
  "page (CPU reference): training from given weights gives the CLI's losses; pause, resume, download, predict",
  { timeoutMs: 240_000 },
  async ({ page }) => {
    const { init, losses, topK } = await fixtures();
    await using server = await servePage();
    await page.goto(server.url);
    await page.waitForReady(60_000);
    assert((await text(page, "model-summary")).startsWith("no model served"));
    await setField(page, "backend", "cpu");
    await fillTraining(page, init);
    // Pause as soon as step 2's loss is shown: the observer runs before the loop takes its next step.
    await page.evaluate(() => {
      const g = globalThis as PageGlobal;
      const d = g.document;
      const progress = d.getElementById("train-progress");
      const observer = new g.MutationObserver(() => {
        if (Number(progress.dataset.step) >= 2) {
          d.getElementById("train-pause").click();
          observer.disconnect();
        }
      });
      observer.observe(progress, { attributes: true });
    });
    assertEquals(await train(page), "paused");
    assertEquals(
      await page.evaluate(() =>
        (globalThis as PageGlobal).document.getElementById("train-progress").dataset.steps
      ),
      "2",
    );
    assertEquals(await train(page, "#train-resume"), "done");
    assert((await text(page, "train-progress")).startsWith(`done: ${STEPS} steps`));

    const metrics = await page.download(() => page.click("#download-metrics"));
    assertLossesClose(stepLosses(metrics.text()), losses, 1e-4, "page CPU reference vs CLI CPU reference");

    // The checkpoint files, saved side by side, are a checkpoint `deno task predict` reads.
    const dir = join(tmp, "downloaded");
    await Deno.mkdir(dir);
    for (const id of ["model", "vocab", "config", "optimizer"]) {
      const file = await page.download(() => page.click(`#download-${id}`));
      await Deno.writeFile(join(dir, file.name), file.bytes);
    }
    const fromPage = await cliTopK(dir, PROMPTS, 5, ["--backend", "cpu"]);
    fromPage.forEach((got, i) => assertSameTopK(got, topK[i], 1e-4, "predict on the downloaded checkpoint"));

    await page.click("#train-use");
    await page.waitFor(() =>
      /training run/.test((globalThis as PageGlobal).document.getElementById("model-summary").innerText)
    );
    assertSameTopK(
      await predictInPage(page, PROMPTS[0]),
      topK[0],
      1e-4,
      "the page predicting with its trained model",
    );
    await page.evaluate(() => (globalThis as PageGlobal).document.getElementById("train").scrollIntoView());
    console.log(`screenshot: ${await page.screenshot("page-train-cpu", "#train")}`);
    assertEquals(page.errors, []);
  },
);

browserTest(
  "page (lavapipe): the same steps on WebGPU give the CLI's losses within 1e-3",
  { adapter: "lavapipe", env: BROWSER_ENV, timeoutMs: 300_000 },
  async ({ page }) => {
    const { init, losses } = await fixtures();
    await using server = await servePage();
    await page.goto(server.url);
    await page.waitForReady(60_000);
    await fillTraining(page, init);
    assertEquals(await train(page), "done");
    const metrics = await page.download(() => page.click("#download-metrics"));
    assertLossesClose(
      stepLosses(metrics.text()),
      losses,
      1e-3,
      "page WebGPU (lavapipe) vs CLI CPU reference",
    );
    console.log(`screenshot: ${await page.screenshot("page-train-lavapipe", "#train")}`);
    assertEquals(page.errors, []);
  },
);
