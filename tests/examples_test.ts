/**
 * The examples in examples/, run as a user runs them. The Deno script trains on its array of headlines
 * through the package's Deno entry and prints each prompt's next words: they must be what
 * `deno task predict` reads from the run directory it saved (same words, probabilities to the 4 decimals
 * printed), and the model must have learnt the headlines' rule (after "in boston" comes "again"). The
 * browser page, bundled and served by its serve.ts, loads a CLI-trained checkpoint in headless Chromium and
 * lists the next words `deno task predict --json` gives: on the CPU reference (?backend=cpu) and on WebGPU.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { runDeno } from "./cli_harness.ts";
import { type BackendName, gpuAvailable, webgpuTest } from "./gpu_harness.ts";
import { makeWithTempDir } from "./fs_harness.ts";
import { browserTest, type Page, type PageGlobal } from "./browser_harness.ts";
import { assertSameTopK, BROWSER_ENV, cliTopK, type TopK, trainTinyModel } from "./web_harness.ts";
import { serveExample } from "../examples/browser/serve.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const withTempDir = makeWithTempDir("examples_test_");

/** The Deno example on `backend`, its run directory kept in `out`; its stdout. */
async function runExample(backend: BackendName, out: string): Promise<string> {
  const r = await runDeno([
    "run",
    "--config",
    join(ROOT, "deno.json"),
    "--allow-read",
    "--allow-write",
    "--allow-env",
    join(ROOT, "examples", "train_and_predict.ts"),
    "--backend",
    backend,
    "--out",
    out,
  ], { cwd: out });
  assertEquals(r.code, 0, `the example failed:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

async function denoExample(backend: BackendName): Promise<void> {
  await withTempDir(async (tmp) => {
    const out = join(tmp, "run");
    await Deno.mkdir(out);
    const stdout = await runExample(backend, out);
    const vocab = Number(/, (\d+) words,/.exec(stdout)?.[1]);
    const loss = Number(/last epoch's loss ([\d.]+)/.exec(stdout)?.[1]);
    assert(loss < Math.log(vocab) / 4, `it did not learn: loss ${loss}, ${vocab} words\n${stdout}`);
    const shown = [...stdout.matchAll(/^"(.*)" -> (.*)$/gm)].map((m) => ({
      prompt: m[1],
      next: m[2].split(", ").map((w) => w.split(" ")),
    }));
    assertEquals(shown.map((s) => s.prompt), ["knicks beats", "giants in", "in boston"]);
    assertEquals(shown[2].next[0][0], "again");
    const cli = await cliTopK(out, shown.map((s) => s.prompt), 3, ["--backend", backend]);
    shown.forEach((s, i) => {
      assertEquals(s.next.map(([w]) => w), cli[i].words, s.prompt);
      assertEquals(s.next.map(([, p]) => p), cli[i].probabilities.map((p) => p.toFixed(4)), s.prompt);
    });
  });
}

Deno.test("example (cpu): trains on an array of headlines, predicts what deno task predict reads from its run", () =>
  denoExample("cpu"));
webgpuTest(
  "example (webgpu): trains on an array of headlines, predicts what deno task predict reads from its run",
  () => denoExample("webgpu"),
);

const PROMPT = "knicks quietly";
const K = 5;

const tmp = await Deno.makeTempDir({ prefix: "examples_test_page_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

/** The model and the CLI's answer for the browser example, made once by the first test that needs them. */
let fixture: Promise<{ model: string; cli: TopK }> | null = null;
function browserFixture() {
  return fixture ??= (async () => {
    const model = await trainTinyModel(join(tmp, "run"));
    const [cli] = await cliTopK(model, [PROMPT], K, gpuAvailable() ? [] : ["--backend", "cpu"]);
    return { model, cli };
  })();
}

/** The page's next words, read from the list's data attributes (full precision). */
function pageTopK(page: Page): Promise<TopK> {
  return page.evaluate(() => {
    const d = (globalThis as PageGlobal).document;
    const items = [...d.querySelectorAll("#next li")] as PageGlobal[];
    return {
      prompt: d.getElementById("prompt").value as string,
      words: items.map((li) => li.dataset.word as string),
      probabilities: items.map((li) => Number(li.dataset.prob)),
    };
  });
}

for (const [backend, adapter] of [["cpu", undefined], ["webgpu", "swiftshader"]] as const) {
  browserTest(
    `browser example (${backend}): a checkpoint loaded by the bundled core predicts what deno task predict does`,
    { adapter, env: BROWSER_ENV, timeoutMs: 300_000 },
    async ({ page }) => {
      const { model, cli } = await browserFixture();
      const served = await serveExample({ modelDir: model });
      try {
        const query = `?prompt=${encodeURIComponent(PROMPT)}${backend === "cpu" ? "&backend=cpu" : ""}`;
        await page.goto(served.url + query);
        const ready = await page.waitForReady<{ backend: string }>(240_000);
        assert(ready.backend.startsWith(backend === "cpu" ? "cpu" : "webgpu"), ready.backend);
        // The CPU reference is the same code in the page; WebGPU's float32 kernels differ slightly.
        assertSameTopK(
          await pageTopK(page),
          cli,
          backend === "cpu" && !gpuAvailable() ? 1e-6 : 1e-4,
          backend,
        );
      } finally {
        await served.close();
      }
    },
  );
}
