/**
 * The page in headless Chromium, predicting: a model trained by the CLI, served as `deno task serve
 * --model DIR` serves it, gives in the page the top-k that `deno task predict --json` prints (same words,
 * same order, probabilities within 1e-4) on both browser adapters, typed and through a ?prompt= link; with
 * the CPU reference chosen, a seeded generation is predict --backend cpu's, word for word; the adapter panel
 * names the adapter and its kernel variants, and "Check this GPU" passes on lavapipe. Screenshots go to
 * $BROWSER_SCREENSHOTS (or a printed temp folder).
 */
import { assert, assertEquals } from "./assert.ts";
import { ADAPTERS, browserTest, type PageGlobal } from "./browser_harness.ts";
import { gpuAvailable } from "./gpu_harness.ts";
import {
  assertSameTopK,
  BROWSER_ENV,
  clickAndWait,
  cliGenerated,
  cliTopK,
  GENERATION,
  predictInPage,
  servePage,
  shownTopK,
  text,
  type TopK,
  trainTinyModel,
  waitForState,
} from "./web_harness.ts";

const PROMPTS = ["knicks quietly", "three new", "the mayor quietly", "one new", "scientists quietly"];
const K = 5;
/** predict's flags for the generation compared word for word. */

const tmp = await Deno.makeTempDir({ prefix: "web_predict_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

/** The model and the CLI's answers, made once for the file by the first test that needs them. */
let fixture: Promise<{ model: string; cli: TopK[] }> | null = null;
function fixtures() {
  return fixture ??= (async () => {
    const model = await trainTinyModel(`${tmp}/run`);
    // predict's default backend (WebGPU under Deno), or its CPU reference where Deno has no adapter.
    const cli = await cliTopK(model, PROMPTS, K, gpuAvailable() ? [] : ["--backend", "cpu"]);
    return { model, cli };
  })();
}

for (const adapter of ADAPTERS) {
  browserTest(
    `page (${adapter}): the top-k equals deno task predict --json, typed and through a ?prompt= link`,
    { adapter, env: BROWSER_ENV, timeoutMs: 300_000 },
    async ({ page }) => {
      const { model, cli } = await fixtures();
      await using server = await servePage(model);
      await page.goto(server.url);
      const ready = await page.waitForReady<{ backend: string; adapter: Record<string, unknown> }>(60_000);
      assertEquals(ready.backend, "webgpu");
      assertEquals(ready.adapter.featureLevel, adapter === "lavapipe" ? "compatibility" : "core");
      assertEquals(ready.adapter.isFallbackAdapter, adapter === "swiftshader");
      assert((await text(page, "model-summary")).startsWith("/model/: window 2, vocabulary"));

      const t0 = performance.now();
      for (const [i, prompt] of PROMPTS.entries()) {
        assertSameTopK(await predictInPage(page, prompt), cli[i], 1e-4, adapter);
        if (i === 0) console.log(`${adapter}: first prediction ${(performance.now() - t0).toFixed(0)} ms`);
      }
      // The address bar holds the link to what is shown.
      const href = await page.evaluate(() => (globalThis as PageGlobal).location.search as string);
      assertEquals(href, `?prompt=${PROMPTS.at(-1)!.replace(" ", "+")}`);

      // A shared link opens straight to its result (naming the served model's path, as a link may).
      await page.goto(`${server.url}?model=%2Fmodel%2F&prompt=${encodeURIComponent(PROMPTS[1])}&k=3`);
      await page.waitForReady(60_000);
      const linked = await shownTopK(page);
      assertEquals(linked.prompt, PROMPTS[1]);
      assertSameTopK(
        linked,
        { ...cli[1], words: cli[1].words.slice(0, 3), probabilities: cli[1].probabilities.slice(0, 3) },
        1e-4,
        `${adapter} link`,
      );
      console.log(`screenshot: ${await page.screenshot(`page-predict-${adapter}`)}`);

      const panel = await text(page, "adapter");
      assert(panel.includes(adapter === "lavapipe" ? "llvmpipe" : "SwiftShader"), panel);
      // The variants doctor reports for the model on this adapter: register blocking, fc2 with A staged.
      assert(/register blocking/.test(panel) && /A staged through 64 KiB uniform windows/.test(panel), panel);
      if (adapter === "lavapipe") {
        // SwiftShader compiles these kernels for ~30 s more; one adapter shows the button works.
        await page.click("#check-gpu");
        await page.waitFor(
          () => (globalThis as PageGlobal).document.getElementById("adapter").dataset.check !== "running",
          {
            timeoutMs: 240_000,
            what: "the GPU check",
          },
        );
        const check = await text(page, "check-results");
        console.log(`check this GPU (${adapter}):\n${check}`);
        assertEquals(
          await page.evaluate(() =>
            (globalThis as PageGlobal).document.getElementById("adapter").dataset.check
          ),
          "pass",
          check,
        );
      }
      assertEquals(page.errors, []);
    },
  );
}

browserTest(
  "page (CPU reference): a seeded generation equals deno task predict --backend cpu, word for word",
  { timeoutMs: 180_000 },
  async ({ page }) => {
    const { model } = await fixtures();
    const prompt = "scientists quietly";
    const cli = await cliGenerated(model, prompt);
    assertEquals(cli.length, 3);
    await using server = await servePage(model);

    // Straight from a link...
    const params = new URLSearchParams({ prompt, ...GENERATION, backend: "cpu" });
    await page.goto(`${server.url}?${params}`);
    await page.waitForReady(60_000);
    assertEquals(await page.evaluate(() => (globalThis as PageGlobal).document.body.dataset.backend), "cpu");
    assert((await text(page, "backend-status")).includes("CPU reference"));
    await waitForState(page, "generate", ["done"]);
    const texts = () =>
      page.evaluate(() =>
        [...(globalThis as PageGlobal).document.querySelectorAll("#gen-output li")].map((li: PageGlobal) =>
          li.textContent
        )
      );
    assertEquals(await texts(), cli);

    // ...and again from the fields and the button.
    await page.goto(`${server.url}?backend=cpu`);
    await page.waitForReady(60_000);
    await page.type("#prompt", prompt);
    for (const [flag, value] of Object.entries(GENERATION)) {
      const id = { generate: "gen-words", count: "gen-count" }[flag] ?? `gen-${flag}`;
      await page.evaluate(
        (id: string, v: string) => (globalThis as PageGlobal).document.getElementById(id).value = v,
        id,
        value,
      );
    }
    assertEquals(await clickAndWait(page, "#generate-button", "generate", ["done"]), "done");
    assertEquals(await texts(), cli);
    const link = await page.evaluate(() => (globalThis as PageGlobal).location.search as string);
    assert(link.includes("seed=7") && link.includes("backend=cpu"), link);
  },
);
