/**
 * A run trained in the page (headless Chromium, CPU reference) resumes in `deno task train --resume` loss
 * for loss: the page trains the first steps (seeded, shuffled, with a validation split), its checkpoint and
 * metrics.jsonl are downloaded into a run directory, and the CLI continues from them past an epoch end;
 * every step's loss and the final weights equal an uninterrupted CLI run's. The page records the flags the
 * CLI records for the same settings (config.json's train record). On the built-in corpus --resume needs
 * nothing more; a CSV picked in the page is not a path, so --resume refuses with one line until it is
 * given with --data PATH, and then continues the same way.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { browserTest, type Page } from "./browser_harness.ts";
import { assertFailed, runDeno, taskRun } from "./cli_harness.ts";
import { clickAndWait, ok, servePage, setField, TINY_MODEL } from "./web_harness.ts";
import { loadCheckpoint } from "../src/deno/checkpoint_files.ts";
import { BUILTIN_SOURCE, builtinHeadlines } from "../src/data/builtin.ts";

/** The settings of every run here, as train's flags (the page gets them as its fields). */
const SETTINGS: Record<string, string> = {
  embed: TINY_MODEL[1],
  hidden: TINY_MODEL[3],
  layers: TINY_MODEL[5],
  batch: "32",
  epochs: "2",
  seed: "3",
  lr: "0.01",
  "val-fraction": "0.1",
  "log-every": "2",
};
/** Steps the page takes, mid-epoch; then the CLI runs on to TOTAL, past the end of epoch 1 (60 steps). */
const PAGE_STEPS = 5;
const TOTAL = 70;
const FLAGS = Object.entries(SETTINGS).flatMap(([k, v]) => [`--${k}`, v]);

const tmp = await Deno.makeTempDir({ prefix: "web_resume_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
// CLI runs start here: no ./data, so without --data the corpus is the built-in one.
const CWD = join(tmp, "cwd");
await Deno.mkdir(CWD);
// The built-in corpus as a CSV file, for the page to pick.
const CSV = join(tmp, "headlines.csv");
await Deno.writeTextFile(
  CSV,
  ["headline", ...builtinHeadlines().map((h) => `"${h.replaceAll('"', '""')}"`)].join("\n") + "\n",
);

const train = (args: string[]) =>
  runDeno([...taskRun("train"), ...args], { cwd: CWD, env: { NO_COLOR: "1" } });

/** The per-step losses of a run directory's metrics.jsonl, in step order. */
async function stepLosses(dir: string): Promise<number[]> {
  const lines = (await Deno.readTextFile(join(dir, "metrics.jsonl"))).trim().split("\n");
  const steps = lines.map((l) => JSON.parse(l)).filter((r) => r.step !== undefined);
  assertEquals(steps.map((r) => r.step), steps.map((_, i) => i + 1), `${dir}: steps 1, 2, ... once each`);
  return steps.map((r) => r.loss);
}

/** Trains PAGE_STEPS steps in the page on the built-in corpus or `csv`, and saves its files as a run directory. */
async function trainInPage(page: Page, dir: string, csv?: string): Promise<void> {
  for (const [flag, value] of Object.entries({ ...SETTINGS, "max-steps": String(PAGE_STEPS) })) {
    await setField(page, `train-${flag}`, value);
  }
  await setField(page, "train-data", csv ? "csv" : "builtin");
  if (csv) await page.upload("#train-csv", [csv]);
  assertEquals(await clickAndWait(page, "#train-start", "train", ["done", "paused", "failed"]), "done");
  await Deno.mkdir(join(dir, "checkpoint"), { recursive: true });
  for (const id of ["model", "vocab", "config", "optimizer"]) {
    const file = await page.download(() => page.click(`#download-${id}`));
    await Deno.writeFile(join(dir, "checkpoint", file.name), file.bytes);
  }
  const metrics = await page.download(() => page.click("#download-metrics"));
  await Deno.writeFile(join(dir, "metrics.jsonl"), metrics.bytes);
}

/** The largest difference between the resumed run and the uninterrupted one, losses and weights. */
async function compare(resumed: string, straight: string, what: string): Promise<void> {
  const [got, want] = [await stepLosses(resumed), await stepLosses(straight)];
  assertEquals(got.length, TOTAL, `${what}: steps`);
  const worst = Math.max(...got.map((g, i) => Math.abs(g - want[i]) / want[i]));
  const [a, b] = [
    await loadCheckpoint(join(resumed, "checkpoint")),
    await loadCheckpoint(join(straight, "checkpoint")),
  ];
  const weights = Math.max(...a.params.map((x, i) => Math.abs(x - b.params[i])));
  console.log(`${what}: largest relative loss difference ${worst}, weight difference ${weights}`);
  // The page runs the same core code on the same JavaScript engine as the CLI: bit for bit.
  assertEquals(got, want, `${what}: losses`);
  assertEquals(weights, 0, `${what}: final weights`);
  assertEquals(a.progress, b.progress, `${what}: position`);
}

browserTest(
  "page: a run trained in the page resumes in train --resume loss for loss (built-in corpus; a picked CSV with --data)",
  { timeoutMs: 300_000 },
  async ({ page }) => {
    const straight = (name: string) => join(tmp, `straight_${name}`);
    const cli = (name: string, more: string[]) =>
      train([
        ...FLAGS,
        "--backend",
        "cpu",
        "--max-steps",
        String(TOTAL),
        "--out",
        straight(name),
        "--quiet",
        ...more,
      ]);
    const uninterrupted = Promise.all([cli("builtin", []), cli("csv", ["--data", CSV])]);

    await using server = await servePage();
    await page.goto(server.url);
    await page.waitForReady(60_000);
    await setField(page, "backend", "cpu");

    const fromBuiltin = join(tmp, "page_builtin");
    await trainInPage(page, fromBuiltin);
    const fromCsv = join(tmp, "page_csv");
    await trainInPage(page, fromCsv, CSV);
    assertEquals(page.errors, []);
    for (const r of await uninterrupted) ok(r, "the uninterrupted CLI run");

    // What the page recorded is what the CLI recorded for the same settings (max-steps is not recorded).
    const recorded = async (dir: string) => (await loadCheckpoint(join(dir, "checkpoint"))).train!;
    const pageBuiltin = await recorded(fromBuiltin);
    assertEquals(pageBuiltin, await recorded(straight("builtin")));
    assertEquals(pageBuiltin.source, BUILTIN_SOURCE);
    const { picked, ...pageCsv } = await recorded(fromCsv);
    const { data, ...cliCsv } = await recorded(straight("csv"));
    assertEquals([picked, data], ["headlines.csv", CSV]);
    assertEquals(pageCsv, cliCsv);

    ok(await train(["--resume", fromBuiltin, "--max-steps", String(TOTAL), "--quiet"]), "train --resume");
    await compare(fromBuiltin, straight("builtin"), "built-in corpus");

    assertFailed(
      await train(["--resume", fromCsv, "--max-steps", String(TOTAL), "--quiet"]),
      "--resume of a picked CSV without --data",
      /was trained on headlines\.csv, a file picked in the web page: give its path with --data PATH$/,
      "train: error: ",
    );
    ok(
      await train(["--resume", fromCsv, "--data", CSV, "--max-steps", String(TOTAL), "--quiet"]),
      "--data PATH",
    );
    await compare(fromCsv, straight("csv"), "a picked CSV");
    // Recorded now as a path: the next --resume needs no --data.
    assertEquals((await recorded(fromCsv)).data, CSV);
    assert(!("picked" in await recorded(fromCsv)));
  },
);
