import { join } from "node:path";
import { writeFileAtomic } from "../src/deno/atomic.ts";
import { acquireLock, processAlive } from "../src/deno/lock.ts";
import type { MetricRecord } from "../src/io/metrics.ts";
import { MetricsWriter, readMetrics } from "../src/deno/metrics_file.ts";
import { lossPlotSvg, niceTicks } from "../src/io/plot.ts";
import { UserError } from "../src/errors.ts";
import { assert, assertAllClose, assertEquals, assertRejects } from "./assert.ts";
import { makeWithTempDir } from "./fs_harness.ts";

/** A pid no process has (Linux pids stop at 2^22). */
const DEAD_PID = 99_999_999;
const hasPython =
  new Deno.Command("/usr/bin/python3", { args: ["-c", "import xml.etree.ElementTree"] }).outputSync()
    .success;
if (!hasPython) console.warn("SKIPPED: SVG XML parse check: /usr/bin/python3 not found");

const withTempDir = makeWithTempDir("io_misc_test_");

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

/** Runs `fn` with console.warn captured; returns the warnings. */
async function warningsOf(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => seen.push(args.join(" "));
  try {
    await fn();
  } finally {
    console.warn = warn;
  }
  return seen;
}

const userError = (re: RegExp) => (e: unknown) => {
  assert(e instanceof UserError, `expected a UserError, got ${e}`);
  assert(
    !e.message.includes("\n") && re.test(e.message),
    `${JSON.stringify(e.message)} does not match ${re}`,
  );
  return true;
};

Deno.test("atomic write: replaces the file whole, leaves no temp, clears temps of dead writers only", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "loss.svg");
    await writeFileAtomic(file, "first");
    await writeFileAtomic(file, new TextEncoder().encode("second"));
    assertEquals(await Deno.readTextFile(file), "second");
    assertEquals(names(dir), ["loss.svg"]);
    // A writer killed mid-write leaves its temp file; pid 1 (init) is alive, DEAD_PID is not.
    await Deno.writeTextFile(join(dir, `.loss.svg.tmp-${DEAD_PID}-abcd`), "half");
    await Deno.writeTextFile(join(dir, ".loss.svg.tmp-1-abcd"), "in progress");
    await writeFileAtomic(file, "third");
    assertEquals(names(dir), [".loss.svg.tmp-1-abcd", "loss.svg"]);
    assertEquals(await Deno.readTextFile(file), "third");
  });
});

Deno.test("lock: a second trainer is refused naming the holder's pid; release frees the directory", async () => {
  await withTempDir(async (dir) => {
    const lock = await acquireLock(dir);
    const info = JSON.parse(await Deno.readTextFile(join(dir, ".lock")));
    assertEquals(info.pid, Deno.pid);
    assert(typeof info.host === "string" && !Number.isNaN(Date.parse(info.started)));
    await assertRejects(
      acquireLock(dir),
      userError(new RegExp(`in use by another trainer: pid ${Deno.pid} on `)),
    );
    await lock.release();
    await lock.release();
    assertEquals(names(dir), []);
    const again = await acquireLock(dir);
    await again.release();
    await assertRejects(acquireLock(join(dir, "nope")), userError(/cannot create .*nope\/\.lock: /));
  });
});

Deno.test("lock: a stale lock (holder gone) is cleared with a warning; a foreign host's lock is refused", async () => {
  await withTempDir(async (dir) => {
    const host = JSON.parse(
      await (async () => {
        const l = await acquireLock(dir);
        const text = await Deno.readTextFile(join(dir, ".lock"));
        await l.release();
        return text;
      })(),
    ).host;
    assert(!(await processAlive(DEAD_PID)));
    assert(await processAlive(Deno.pid));
    const stale = { pid: DEAD_PID, host, started: "2024-01-01T00:00:00.000Z" };
    await Deno.writeTextFile(join(dir, ".lock"), JSON.stringify(stale));
    let lock: { release(): Promise<void> } | undefined;
    const warnings = await warningsOf(async () => lock = await acquireLock(dir));
    assertEquals(warnings.length, 1);
    assert(warnings[0].includes(`cleared a stale lock in ${dir} left by pid ${DEAD_PID}`), warnings[0]);
    assertEquals(JSON.parse(await Deno.readTextFile(join(dir, ".lock"))).pid, Deno.pid);
    await lock!.release();

    await Deno.writeTextFile(join(dir, ".lock"), JSON.stringify({ ...stale, host: "elsewhere" }));
    await assertRejects(acquireLock(dir), userError(/locked by pid 99999999 on elsewhere .*delete .*\.lock/));
  });
});

Deno.test("lock: held by another live process until it is killed, then taken over as stale", async () => {
  await withTempDir(async (dir) => {
    const lockUrl = new URL("../src/deno/lock.ts", import.meta.url).href;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { acquireLock } from ${JSON.stringify(lockUrl)};
        const lock = await acquireLock(${JSON.stringify(dir)}); console.log("locked");
        setInterval(() => lock, 1000);`,
      ],
      stdout: "piped",
    }).spawn();
    const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("locked")) text += (await out.read()).value ?? "";
    await assertRejects(
      acquireLock(dir),
      userError(new RegExp(`in use by another trainer: pid ${child.pid} `)),
    );
    child.kill("SIGKILL");
    await child.status;
    await out.cancel();
    let lock: { release(): Promise<void> } | undefined;
    const warnings = await warningsOf(async () => lock = await acquireLock(dir));
    assert(warnings.join().includes(`left by pid ${child.pid}`), warnings.join());
    await lock!.release();
  });
});

const STEPS: MetricRecord[] = [
  { epoch: 1, step: 1, loss: 7.5 },
  { epoch: 1, step: 2, loss: 7.25 },
  { epoch: 1, train_loss: 7.375, val_loss: 7.3, val_ppl: Math.exp(7.3), pairs_per_s: 1000, seconds: 0.128 },
  { epoch: 2, step: 3, loss: 7 },
  { epoch: 2, step: 4, loss: 6.5 },
  { epoch: 2, train_loss: 6.75, val_loss: 6.9, val_ppl: Math.exp(6.9), pairs_per_s: 1100, seconds: 0.116 },
  { epoch: 3, step: 5, loss: 6.25 },
];

async function writeAll(path: string, records: MetricRecord[], keepThroughStep?: number) {
  const w = await MetricsWriter.open(path, { keepThroughStep });
  for (const r of records) await w.append(r);
  await w.close();
}

Deno.test("metrics: records round-trip one per line; NaN is written as null and read as NaN", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "metrics.jsonl");
    await writeAll(path, STEPS);
    const text = await Deno.readTextFile(path);
    assertEquals(text, STEPS.map((r) => JSON.stringify(r) + "\n").join(""));
    assertEquals(await readMetrics(path), STEPS);
    await writeAll(path, [{ epoch: 3, step: 6, loss: NaN }]);
    assert(text.length < (await Deno.readTextFile(path)).length);
    assert((await Deno.readTextFile(path)).endsWith(`{"epoch":3,"step":6,"loss":null}\n`));
    const back = await readMetrics(path);
    assert(Number.isNaN(back.at(-1)!.loss));
    assertEquals(await readMetrics(join(dir, "none.jsonl")), []);
  });
});

Deno.test("metrics: a torn last line is ignored and cut; resume keeps records through the checkpoint's step", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "metrics.jsonl");
    const full = STEPS.map((r) => JSON.stringify(r) + "\n").join("");
    await Deno.writeTextFile(path, full + `{"epoch":3,"st`);
    assertEquals(await readMetrics(path), STEPS);
    await writeAll(path, [{ epoch: 3, step: 6, loss: 6 }]);
    assertEquals(await readMetrics(path), [...STEPS, { epoch: 3, step: 6, loss: 6 }]);

    // Resumed from the checkpoint saved at the end of epoch 2 (step 4): epoch 2's record stays.
    for (const [through, kept] of [[4, 6], [3, 4], [2, 3], [0, 0], [9, 8]]) {
      await Deno.writeTextFile(path, full + `{"epoch":3,"step":6,"loss":6}\n`);
      const w = await MetricsWriter.open(path, { keepThroughStep: through });
      const all = [...STEPS, { epoch: 3, step: 6, loss: 6 }];
      assertEquals(await w.readAll(), all.slice(0, kept), `keepThroughStep ${through}`);
      await w.append({ epoch: 9, step: 99, loss: 1 });
      await w.close();
      assertEquals(await readMetrics(path), [...all.slice(0, kept), { epoch: 9, step: 99, loss: 1 }]);
    }
  });
});

Deno.test("metrics: a corrupt complete line is an error naming the line", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "metrics.jsonl");
    await Deno.writeTextFile(
      path,
      `{"epoch":1,"step":1,"loss":2}\nnot json\n{"epoch":1,"step":2,"loss":2}\n`,
    );
    await assertRejects(readMetrics(path), userError(/metrics\.jsonl: line 2 is not JSON$/));
    await Deno.writeTextFile(path, `{"epoch":1,"step":1,"loss":"x"}\n`);
    await assertRejects(MetricsWriter.open(path), userError(/line 1: "loss" is not a number$/));
    await Deno.writeTextFile(path, `{"step":1,"loss":2}\n`);
    await assertRejects(readMetrics(path), userError(/line 1 has no integer "epoch"$/));
  });
});

Deno.test("plot: niceTicks gives round values covering the range", () => {
  assertEquals(niceTicks(0, 10), { ticks: [0, 2, 4, 6, 8, 10], spacing: 2 });
  const fine = niceTicks(6.05, 7.25);
  assertAllClose(fine.ticks, [6.2, 6.4, 6.6, 6.8, 7, 7.2], { atol: 1e-12, rtol: 0 });
  assertEquals(fine.spacing, 0.2);
  assertEquals(niceTicks(1, 12600), { ticks: [2000, 4000, 6000, 8000, 10000, 12000], spacing: 2000 });
  assertEquals(niceTicks(-3, 3).ticks, [-3, -2, -1, 0, 1, 2, 3]);
});

/** Well-formed XML per python's parser; returns its root tag and element counts by tag. */
async function parseSvg(svg: string): Promise<{ root: string; counts: Record<string, number> }> {
  const script = `
import sys, json, collections, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
counts = collections.Counter(e.tag.split("}")[-1] for e in root.iter())
print(json.dumps({"root": root.tag, "counts": counts}))`;
  const proc = new Deno.Command("/usr/bin/python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const writer = proc.stdin.getWriter();
  await writer.write(new TextEncoder().encode(svg));
  await writer.close();
  const out = await proc.output();
  assert(out.success, `not well-formed XML: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test({
  name: "plot: the SVG is well-formed, with step line, epoch markers, legend, axes and title",
  ignore: !hasPython,
  async fn() {
    const svg = lossPlotSvg(STEPS);
    const { root, counts } = await parseSvg(svg);
    assertEquals(root, "{http://www.w3.org/2000/svg}svg");
    // One polyline per series (steps, train, val); one circle (train) and one square (val) per epoch, plus the
    // legend's swatches.
    assertEquals(counts.polyline, 3);
    assertEquals(counts.circle, 2 + 1);
    for (
      const label of [
        "Training loss",
        "loss per step",
        "train loss (epoch mean)",
        "validation loss",
        ">step<",
      ]
    ) {
      assert(svg.includes(label), `missing ${label}`);
    }
    // The step line passes through every step's loss: 5 points.
    const stepLine = svg.match(/<polyline points="([^"]+)" stroke="#9db9d8"/)![1];
    assertEquals(stepLine.split(" ").length, 5);

    // No data, epoch records only, non-finite losses and a long run all still give well-formed SVG.
    assert((await parseSvg(lossPlotSvg([]))).counts.svg === 1 && lossPlotSvg([]).includes("no data"));
    const epochsOnly = lossPlotSvg(STEPS.filter((r) => r.step === undefined));
    assert(epochsOnly.includes(">epoch<"));
    await parseSvg(epochsOnly);
    await parseSvg(lossPlotSvg([...STEPS, { epoch: 3, step: 6, loss: NaN }]));
    const long: MetricRecord[] = Array.from({ length: 200_000 }, (_, i) => ({
      epoch: 1,
      step: i + 1,
      loss: 7 - Math.log1p(i) / 3,
    }));
    const longSvg = lossPlotSvg(long);
    assert(longSvg.length < 100_000, `long run SVG is ${longSvg.length} bytes`);
    await parseSvg(longSvg);
    assert(lossPlotSvg([], "<a & b>").includes("&lt;a &amp; b&gt;"));
  },
});
