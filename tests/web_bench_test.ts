/**
 * The page's speed beside Deno's, measured in one run (PAGE_BENCH=1; otherwise ignored):
 *
 *   PAGE_BENCH=1 deno test -A tests/web_bench_test.ts
 *
 * Training pairs/s: the notebook's model (embed 16, hidden 64, 5 layers) on the built-in corpus, batch 64,
 * file order, STEPS steps, as the training loop reports it (the clock starts once the backend is ready); in
 * the page the run is made twice and the second counted, since Chromium's lavapipe compiles each kernel on
 * its first dispatch. Prediction latency: one prompt's next-word pass (predictNext, 1 row, top 5), the
 * median of REPEATS after warm-up; in the page as it reports it (data-ms on #predict: the pass alone).
 * Prints a table with the machine named, for README.
 */
import { join } from "node:path";
import { Browser, CHROMIUM, type Page, type PageGlobal } from "./browser_harness.ts";
import { runDeno, taskRun } from "./cli_harness.ts";
import { BROWSER_ENV, clickAndWait, enterPrompt, ok, servePage, setField } from "./web_harness.ts";
import { assertEquals } from "./assert.ts";
import {
  createCpuBackend,
  createGpuBackend,
  decodeCheckpoint,
  encodePrompt,
  Gpu,
  predictNext,
} from "../core.ts";
import type { Backend } from "../src/model/backend.ts";

const STEPS = 30;
const REPEATS = 15;
const PROMPTS = ["knicks quietly", "three new", "the mayor quietly", "one new", "scientists quietly"];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Row {
  where: string;
  adapter: string;
  pairsPerSecond: number;
  predictMs: number;
}

async function denoTraining(out: string, backend: string): Promise<number> {
  const r = ok(
    await runDeno([
      ...taskRun("train"),
      "--backend",
      backend,
      "--no-shuffle",
      "--epochs",
      "1",
      "--max-steps",
      String(STEPS),
      "--out",
      out,
      "--force",
      "--quiet",
      "--json",
    ]),
    `train --backend ${backend}`,
  );
  return JSON.parse(r.trim().split("\n").at(-1)!).pairsPerSecond;
}

async function denoPredictMs(backend: Backend, vocab: string[]): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REPEATS + 3; i++) {
    const { context } = encodePrompt(PROMPTS[i % PROMPTS.length], vocab, backend.config.window);
    const t0 = performance.now();
    await predictNext(backend, [context], 5);
    if (i >= 3) times.push(performance.now() - t0);
  }
  return median(times);
}

async function pagePredictMs(page: Page): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REPEATS + 3; i++) {
    // A different prompt each time (the page predicts only when the text changes).
    await enterPrompt(page, `${PROMPTS[i % PROMPTS.length]}${" ".repeat(Math.floor(i / PROMPTS.length))}`);
    const ms = Number(
      await page.evaluate(() => (globalThis as PageGlobal).document.getElementById("predict").dataset.ms),
    );
    if (i >= 3) times.push(ms);
  }
  return median(times);
}

async function pageTraining(page: Page): Promise<number> {
  for (
    const [flag, value] of Object.entries({ epochs: "1", "max-steps": String(STEPS), "log-every": "10" })
  ) {
    await setField(page, `train-${flag}`, value);
  }
  await setField(page, "train-shuffle", false);
  let pairs = 0;
  for (let run = 0; run < 2; run++) {
    assertEquals(await clickAndWait(page, "#train-start", "train", ["done"], 600_000), "done");
    pairs = Number(
      await page.evaluate(() =>
        (globalThis as PageGlobal).document.getElementById("train-progress").dataset.pairsPerSecond
      ),
    );
  }
  return pairs;
}

Deno.test({
  name: "page bench: training pairs/s and prediction latency, browser adapters beside Deno",
  ignore: Deno.env.get("PAGE_BENCH") !== "1" || !CHROMIUM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "web_bench_" });
    const rows: Row[] = [];
    try {
      const cpuInfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
      const cpu = cpuInfo.match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
      const cores = navigator.hardwareConcurrency;

      const gpu = await Gpu.open();
      const out = join(tmp, "run");
      rows.push({
        where: "Deno",
        adapter: `WebGPU: ${gpu.adapter.description}`,
        pairsPerSecond: await denoTraining(out, "webgpu"),
        predictMs: NaN,
      });
      rows.push({
        where: "Deno",
        adapter: "CPU reference",
        pairsPerSecond: await denoTraining(join(tmp, "cpu"), "cpu"),
        predictMs: NaN,
      });
      const model = join(out, "checkpoint");
      const ck = await decodeCheckpoint({
        where: model,
        path: (n) => join(model, n),
        read: (n) => Deno.readFile(join(model, n)).catch(() => null),
      });
      for (const row of rows) {
        const backend = row.adapter === "CPU reference"
          ? await createCpuBackend(ck.config)
          : await createGpuBackend(gpu, ck.config, { maxBatch: 64 }); // the page's prediction batch
        await backend.setParams(ck.params);
        row.predictMs = await denoPredictMs(backend, ck.vocab);
        backend.destroy();
      }

      await using server = await servePage(model);
      let chromium = "";
      for (const adapter of ["lavapipe", "swiftshader"] as const) {
        const browser = await Browser.launch({ adapter, env: BROWSER_ENV });
        try {
          chromium = (await browser.cdp.send("Browser.getVersion")).product;
          const kinds = adapter === "lavapipe" ? ["webgpu", "cpu"] : ["webgpu"];
          for (const kind of kinds) {
            const page = await browser.newPage();
            await page.goto(`${server.url}?backend=${kind}`);
            await page.waitForReady(120_000);
            const predictMs = await pagePredictMs(page);
            const pairsPerSecond = await pageTraining(page);
            rows.push({
              where: `Chromium`,
              adapter: kind === "cpu"
                ? "CPU reference (in the page)"
                : `WebGPU: ${browser.adapterInfo!.description}`,
              pairsPerSecond,
              predictMs,
            });
            await page.close();
          }
        } finally {
          await browser.close();
        }
      }
      console.log(
        `\n${cpu}, ${cores} cores (shared); ${chromium}; model embed 16, hidden 64, 5 layers, V = ${ck.config.vocab}; ` +
          `training batch 64, ${STEPS} steps; prediction 1 prompt, top 5, median of ${REPEATS}\n`,
      );
      console.log("| where | adapter | training pairs/s | prediction ms |\n| --- | --- | --- | --- |");
      for (const r of rows) {
        console.log(
          `| ${r.where} | ${r.adapter} | ${r.pairsPerSecond.toFixed(0)} | ${r.predictMs.toFixed(1)} |`,
        );
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
