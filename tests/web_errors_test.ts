/**
 * The page in headless Chromium when things are missing or wrong: without WebGPU (no navigator.gpu, or no
 * adapter) one line says so and the page predicts on the CPU reference; each bad input (corrupt or
 * truncated safetensors, a vocabulary that does not fit the weights, a CSV without a headline column, a
 * file that is not CSV, a --column without a CSV, a bad field, a prompt too short or with unknown words) is
 * one visible line, and the page and the loaded model keep working.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { browserTest, type Page, type PageGlobal } from "./browser_harness.ts";
import {
  assertSameTopK,
  cliTopK,
  enterPrompt,
  errorLine,
  predictInPage,
  servePage,
  setField,
  text,
  type TopK,
  trainTinyModel,
} from "./web_harness.ts";

const PROMPT = "knicks quietly";
const tmp = await Deno.makeTempDir({ prefix: "web_errors_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

let fixture: Promise<{ model: string; topK: TopK }> | null = null;
function fixtures() {
  return fixture ??= (async () => {
    const model = await trainTinyModel(join(tmp, "run"));
    return { model, topK: (await cliTopK(model, [PROMPT], 5, ["--backend", "cpu"]))[0] };
  })();
}

/** Opens the served page with `navigator.gpu` removed (or its requestAdapter answering null). */
async function openWithoutWebGpu(page: Page, url: string, how: "no navigator.gpu" | "no adapter") {
  const source = how === "no navigator.gpu"
    ? "delete Navigator.prototype.gpu;"
    : "if (navigator.gpu) navigator.gpu.requestAdapter = async () => null;";
  await page.send("Page.addScriptToEvaluateOnNewDocument", { source });
  await page.goto(url);
  return await page.waitForReady<{ backend: string; unavailable: string }>(60_000);
}

browserTest("page without WebGPU: one line says so, and it predicts on the CPU reference", {}, async ({
  browser,
  page,
}) => {
  const { model, topK } = await fixtures();
  await using server = await servePage(model);
  for (
    const [how, said] of [["no navigator.gpu", /no WebGPU/], ["no adapter", /found no adapter/]] as const
  ) {
    const tab = how === "no navigator.gpu" ? page : await browser.newPage();
    const ready = await openWithoutWebGpu(tab, `${server.url}?prompt=${encodeURIComponent(PROMPT)}`, how);
    assertEquals(ready.backend, "cpu", how);
    const notice = await text(tab, "notice");
    assert(said.test(notice) && /CPU reference/.test(notice), `${how}: ${notice}`);
    assertEquals(notice.split("\n").length, 1);
    assert((await text(tab, "backend-status")).includes("CPU reference"));
    assert(
      await tab.evaluate(() =>
        (globalThis as PageGlobal).document.querySelector("#backend option[value=webgpu]").disabled
      ),
    );
    assertEquals(await errorLine(tab), "");
    assertSameTopK(await predictInPage(tab, PROMPT), topK, 1e-4, how);
    assertEquals(tab.errors, []);
  }
});

browserTest(
  "page: each bad input shows one error line; the page and its model keep working",
  {},
  async ({ page }) => {
    const { model, topK } = await fixtures();
    const good = {
      model: await Deno.readFile(join(model, "model.safetensors")),
      vocab: await Deno.readTextFile(join(model, "vocab.json")),
    };
    /** A folder holding these checkpoint files, named as a checkpoint names them. */
    const files = async (name: string, content: { model?: Uint8Array; vocab?: string }) => {
      const dir = join(tmp, name);
      await Deno.mkdir(dir);
      const paths: string[] = [];
      if (content.model) {
        paths.push(join(dir, "model.safetensors"));
        await Deno.writeFile(paths.at(-1)!, content.model);
      }
      if (content.vocab) {
        paths.push(join(dir, "vocab.json"));
        await Deno.writeTextFile(paths.at(-1)!, content.vocab);
      }
      return paths;
    };
    const corrupt = good.model.slice();
    corrupt.set(new TextEncoder().encode("}{not json"), 8); // the JSON header's first bytes
    const words = JSON.parse(good.vocab) as string[];
    const csvDir = join(tmp, "csv");
    await Deno.mkdir(csvDir);
    await Deno.writeTextFile(join(csvDir, "titles.csv"), "title,byline\nknicks quietly sign,someone\n");
    await Deno.writeFile(
      join(csvDir, "photo.csv"),
      Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0xff, 0xfe, 0, 1]),
    );

    await using server = await servePage(model);
    // Without WebGPU the page runs on the CPU reference: no shader compilation, the quickest page to drive.
    await openWithoutWebGpu(page, server.url, "no navigator.gpu");
    const summary = await text(page, "model-summary");
    const stillWorks = async (what: string) => {
      assertEquals(await text(page, "model-summary"), summary, `${what}: the loaded model was replaced`);
      assertSameTopK(await predictInPage(page, PROMPT), topK, 1e-4, `${what}: predicting afterwards`);
    };
    const expectError = async (what: string, pattern: RegExp) => {
      // Each action clears the line as it starts (web/messages.ts reporting), so this is its own error.
      const line = await page.waitFor(() => {
        const e = (globalThis as PageGlobal).document.getElementById("error");
        return e.hidden ? "" : e.innerText;
      }, { what: `the error line after ${what}` });
      assert(pattern.test(line), `${what}: "${line}" does not match ${pattern}`);
      assertEquals(line.split("\n").length, 1, `${what}: one line`);
      console.log(`${what}: ${line}`);
      await stillWorks(what);
    };

    await page.upload("#model-files", await files("corrupt", { model: corrupt, vocab: good.vocab }));
    await expectError("corrupt safetensors", /model\.safetensors/);
    await page.upload(
      "#model-files",
      await files("truncated", { model: good.model.slice(0, good.model.length >> 1), vocab: good.vocab }),
    );
    await expectError("truncated safetensors", /model\.safetensors.*(truncated|bytes|shorter|end)/i);
    await page.upload(
      "#model-files",
      await files("misfit", { model: good.model, vocab: JSON.stringify(words.slice(1)) }),
    );
    await expectError(
      "a vocabulary that does not fit",
      new RegExp(`${words.length - 1} words but embed.weight has ${words.length} rows`),
    );
    await page.upload("#model-files", await files("no-vocab", { model: good.model }));
    await expectError("weights without a vocabulary", /missing vocab\.json/);

    await setField(page, "train-data", "csv");
    for (
      const [file, pattern] of [["titles.csv", /titles\.csv has no "headline" column/], [
        "photo.csv",
        /photo\.csv.*not UTF-8/,
      ]] as const
    ) {
      await page.upload("#train-csv", [join(csvDir, file)]);
      await page.click("#train-start");
      await expectError(file, pattern);
      assertEquals(
        await page.evaluate(() => (globalThis as PageGlobal).document.getElementById("train").dataset.state),
        "idle",
      );
    }
    // A --column field for the built-in corpus is refused as the CLI refuses it without CSV data.
    await setField(page, "train-data", "builtin");
    await setField(page, "train-column", "title");
    await page.click("#train-start");
    await expectError("a column without a CSV", /--column applies to a picked CSV file/);
    await setField(page, "train-column", "");
    await setField(page, "train-batch", "lots");
    await page.click("#train-start");
    await expectError("a bad field", /--batch must be a positive integer, got "lots"/);

    // Prompts the model cannot read are explained under the box, not as errors.
    const unreadable: Array<[string, RegExp]> = [
      ["knicks", /has 1 word; the model reads 2/],
      ["knicks zzyzx", /not in the model's vocabulary: "zzyzx"/],
    ];
    for (const [prompt, pattern] of unreadable) {
      assertEquals(await enterPrompt(page, prompt), "note");
      const note = await text(page, "predict-note");
      assert(pattern.test(note), `${prompt}: ${note}`);
    }
    assertEquals(page.errors, []);
  },
);
