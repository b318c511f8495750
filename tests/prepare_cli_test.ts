/**
 * `scripts/prepare.ts` as a user runs it: the summary it prints, the directory it writes, and for every
 * bad input a non-zero exit with exactly one line on stderr, no stack trace, and nothing written.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { assertFailed, type Run, runDeno, taskRun } from "./cli_harness.ts";
import { makeWithTempDir } from "./fs_harness.ts";
import { exists } from "../src/deno/fs.ts";
import { readPrepared } from "../src/deno/data_files.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const MINI = join(FIXTURES, "nyt_mini");
const TEXT = join(FIXTURES, "text");
const BAD = join(FIXTURES, "bad");

/** An empty working directory for runs that need no other: a prepare run must never write into the checkout. */
const EMPTY_CWD = await Deno.makeTempDir({ prefix: "prepare_cli_test_cwd_" });
globalThis.addEventListener("unload", () => Deno.removeSync(EMPTY_CWD, { recursive: true }));

function prepare(args: string[], cwd = EMPTY_CWD): Promise<Run> {
  return runDeno([...taskRun("prepare"), ...args], { cwd, env: { NO_COLOR: "1" } });
}

const withTempDir = makeWithTempDir("prepare_cli_test_");

Deno.test("prepare writes a prepared directory and prints --json as its last line", async () => {
  await withTempDir(async (tmp) => {
    const out = join(tmp, "prepared");
    const run = await prepare([MINI, "--out", out, "--json", "--window", "3"]);
    assertEquals([run.code, run.stderr], [0, ""]);
    const lines = run.stdout.trim().split("\n");
    // nyt_mini by hand (see data_test.ts): 6 headlines, 19 words, 7 pairs at window 3.
    assertEquals(JSON.parse(lines.at(-1)!), {
      source: `2 files in ${MINI}`,
      files: ["ArticlesA.csv", "ArticlesB.csv"],
      headlines: 6,
      vocab: 19,
      pairs: 7,
      val_pairs: 0,
      window: 3,
      min_count: 1,
      val_fraction: 0,
      seed: 0,
      unk: -1,
      boundaries: false,
      column: "headline",
      val_coverage: { tokens: 0, unknown_tokens: 0, unknown_words: 0, skipped_pairs: 0 },
      out,
    });
    assertEquals(lines[0], `corpus: 2 files in ${MINI} (ArticlesA.csv, ArticlesB.csv)`);
    assertEquals((await Array.fromAsync(Deno.readDir(out))).map((e) => e.name).sort(), [
      "headlines.bin",
      "pairs.bin",
      "summary.json",
      "vocab.json",
    ]);
    // 7 pairs of 3 inputs + 1 target, 4 bytes each.
    assertEquals((await Deno.stat(join(out, "pairs.bin"))).size, 7 * 4 * 4);
    // The headlines a headline model reads: each one's length, then its word ids.
    const prepared = await readPrepared(out);
    const words = prepared.headlineIds!.train.reduce((n, ids) => n + ids.length, 0);
    assertEquals(prepared.headlineIds!.val, []);
    assertEquals(
      (await Deno.stat(join(out, "headlines.bin"))).size,
      4 * (prepared.headlineIds!.train.length + words),
    );
  });
});

Deno.test("without a data path: ./data/*Articles*.csv when present, else the built-in corpus", async () => {
  await withTempDir(async (tmp) => {
    const builtin = await prepare([], tmp);
    assertEquals(builtin.code, 0, builtin.stderr);
    assert(builtin.stdout.startsWith("corpus: built-in corpus\n"), builtin.stdout);
    assert(await exists(join(tmp, "runs", "prepared", "summary.json")), "default --out is runs/prepared");

    await Deno.mkdir(join(tmp, "data"));
    await Deno.copyFile(join(MINI, "ArticlesB.csv"), join(tmp, "data", "ArticlesB.csv"));
    const local = await prepare(["--json"], tmp);
    assertEquals(local.code, 0, local.stderr);
    // ArticlesB.csv alone: 2 headlines, (5 - 2) + (3 - 2) = 4 pairs.
    const summary = JSON.parse(local.stdout.trim().split("\n").at(-1)!);
    assertEquals([summary.source, summary.headlines, summary.pairs], ["1 file in data", 2, 4]);
  });
});

Deno.test(".txt files, --column and --boundaries: the summary records them", async () => {
  await withTempDir(async (tmp) => {
    const run = await prepare([
      TEXT,
      "--column",
      "title",
      "--boundaries",
      "--out",
      join(tmp, "out"),
      "--json",
    ]);
    assertEquals(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    // 6 headlines of 4, 4, 4, 4, 4 and 3 words: with boundaries, words + 1 pairs each.
    assertEquals([summary.files, summary.headlines, summary.pairs], [
      ["headlines.txt", "more.txt", "titles.csv"],
      6,
      29,
    ]);
    assertEquals([summary.boundaries, summary.column], [true, "title"]);
    assert(run.stdout.includes("(with <s>, </s>)"), run.stdout);
  });
});

Deno.test("--help prints usage and exits 0", async () => {
  const run = await prepare(["--help"]);
  assertEquals(run.code, 0);
  assert(run.stdout.startsWith("Usage: deno task prepare"), run.stdout);
});

Deno.test("every bad input: non-zero exit, one line on stderr, no stack trace, nothing written", async () => {
  await withTempDir(async (tmp) => {
    await Deno.mkdir(join(tmp, "no_csv"));
    await Deno.writeTextFile(join(tmp, "no_csv", "notes.csv"), "headline\nNot An Articles File Name\n");
    await Deno.writeTextFile(join(tmp, "a_file"), "a regular file");
    await Deno.writeTextFile(join(tmp, "empty.txt"), " \n\n");
    await Deno.writeFile(
      join(tmp, "binary.txt"),
      Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00),
    );
    await Deno.writeFile(
      join(tmp, "image.png"),
      Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    );
    // [case, arguments before --out, what stderr must say]; each case gets its own --out under tmp.
    const cases: [string, string[], RegExp][] = [
      ["missing path", [join(tmp, "nope.csv")], /nope\.csv does not exist/],
      ["dir without matching CSV", [join(tmp, "no_csv")], /no file in .*no_csv matches \*Articles\*\.csv/],
      [
        "no --files match",
        [MINI, "--files", "*2099*"],
        /matches \*Articles\*\.csv or \*\.txt and --files \*2099\*/,
      ],
      [
        "unknown column",
        [join(TEXT, "titles.csv"), "--column", "heading"],
        /titles\.csv has no "heading" column/,
      ],
      [
        "column of .txt files",
        [join(TEXT, "headlines.txt"), "--column", "title"],
        /--column applies to CSV files/,
      ],
      ["empty .txt", [join(tmp, "empty.txt")], /empty\.txt is empty$/],
      ["binary .txt", [join(tmp, "binary.txt")], /binary\.txt line 1: a NUL byte: binary data, not text$/],
      ["binary file", [join(tmp, "image.png")], /image\.png line 1: not UTF-8 text$/],
      ["no headline column", [join(BAD, "no_headline.csv")], /no_headline\.csv has no "headline" column/],
      ["empty file", [join(BAD, "empty.csv")], /empty\.csv is empty/],
      ["no pairs", [join(BAD, "short_headlines.csv")], /no training pairs/],
      ["unterminated quote", [join(BAD, "unterminated.csv")], /unterminated\.csv line 3: malformed CSV/],
      ["window 0", [MINI, "--window", "0"], /--window must be a positive integer, got "0"/],
      ["non-numeric window", [MINI, "--window", "two"], /--window must be a positive integer/],
      ["non-numeric min-count", [MINI, "--min-count", "x"], /--min-count must be a positive integer/],
      ["val-fraction 1", [MINI, "--val-fraction", "1"], /--val-fraction must be a fraction/],
      ["negative seed", [MINI, "--seed=-1"], /--seed must be a 32-bit unsigned integer/],
      ["unknown flag", [MINI, "--bogus"], /bogus/],
      ["two data paths", [MINI, "--data", MINI], /give one data path/],
      ["--files on a file", [join(MINI, "ArticlesA.csv"), "--files", "*"], /--files applies to a directory/],
    ];
    const runs = await Promise.all(
      cases.map(([name, args]) => prepare([...args, "--out", join(tmp, name, "out")])),
    );
    // Unwritable output: its parent is a regular file.
    const unwritableOut = join(tmp, "a_file", "out");
    const unwritable = await prepare([MINI, "--out", unwritableOut]);
    cases.push(["unwritable output", [], /cannot write .*a_file\/out: .*a_file is not a directory/]);
    runs.push(unwritable);

    cases.forEach(([name, , message], i) => assertFailed(runs[i], name, message, "prepare: error: "));
    // Nothing written: no case created its output folder, and tmp holds only what the test made.
    const left = (await Array.fromAsync(Deno.readDir(tmp))).map((e) => e.name).sort();
    assertEquals(left, ["a_file", "binary.txt", "empty.txt", "image.png", "no_csv"]);
    assertEquals((await Array.fromAsync(Deno.readDir(join(tmp, "no_csv")))).length, 1);
  });
});
