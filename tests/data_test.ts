/**
 * Data pipeline: cleaning, CSV reading, vocabulary, pairs, min-count, validation split, prepared
 * directories, the built-in corpus, and the numbers the shared NYT data must give.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { ASCII_PUNCTUATION, cleanHeadline } from "../src/data/clean.ts";
import { buildDataset } from "../src/data/dataset.ts";
import type { Dataset, DatasetSettings } from "../src/data/types.ts";
import { loadDataset, readHeadlines, readPrepared, writePrepared } from "../src/deno/data_files.ts";
import { headlinePairs, makePairs } from "../src/data/pairs.ts";
import { chooseValidation } from "../src/data/split.ts";
import {
  BOS_ID,
  BOS_TOKEN,
  buildVocab,
  encodeWords,
  EOS_ID,
  EOS_TOKEN,
  hasBoundaries,
  UNK_TOKEN,
} from "../src/data/vocab.ts";
import { textLines } from "../src/data/text.ts";
import { BUILTIN_SOURCE, builtinHeadlines } from "../src/data/builtin.ts";
import { matchesGlob } from "../src/data/glob.ts";
import { asFlag, errorLine, UserError } from "../src/errors.ts";
import { haveFiles, makeWithTempDir, SHARED_DATA } from "./fs_harness.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const MINI = join(FIXTURES, "nyt_mini");
const TEXT = join(FIXTURES, "text");
const NOTEBOOK: DatasetSettings = { window: 2, minCount: 1, valFraction: 0, seed: 0 };

/*
 * tests/fixtures/nyt_mini, by hand. ArticlesA.csv (LF; headline is column 2):
 *   a1 `Trump, Putin and the "Deal"`  -> trump putin and the deal      (5 words: 3 pairs, window 3: 2)
 *   a2 `Unknown`                      -> dropped (the placeholder)
 *   a3 `Storm Hits<newline>New York`  -> storm hits new york           (4 words: 2 pairs, window 3: 1)
 *   a4 `Café Owners’ Rally in N.Y.C.` -> café owners’ rally in nyc     (5 words: 3 pairs, window 3: 2)
 *   a5 `--`                           -> no words, still a headline    (0 pairs)
 * ArticlesB.csv (BOM, CRLF; headline is the last column, byline quoted with a comma):
 *   b1 `The Deal, Again: Trump Wins`  -> the deal again trump wins     (5 words: 3 pairs, window 3: 2)
 *   b2 `Unknown Soldier Found`        -> unknown soldier found         (not the exact placeholder: 1 pair, window 3: 0)
 * notes.csv does not match *Articles*.csv and is not read.
 * Headlines 6; pairs 3+2+3+3+1 = 12; window 3: 2+1+2+2+0 = 7.
 */
const MINI_VOCAB = [
  ...["trump", "putin", "and", "the", "deal", "storm", "hits", "new", "york"],
  ...["café", "owners’", "rally", "in", "nyc", "again", "wins", "unknown", "soldier", "found"],
];

Deno.test("cleanHeadline removes ASCII punctuation, lower-cases, splits on Python's whitespace", () => {
  assertEquals(cleanHeadline(ASCII_PUNCTUATION), []);
  assertEquals(cleanHeadline(`U.S. Isn't "Done" (Yet) -- 100% #1!`), [
    "us",
    "isnt",
    "done",
    "yet",
    "100",
    "1",
  ]);
  // A hyphen is deleted, not turned into a space, exactly like str.translate: "long-term" -> "longterm".
  assertEquals(cleanHeadline("Long-Term Plan"), ["longterm", "plan"]);
  // Non-ASCII letters and the curly apostrophe are not in string.punctuation: kept, letters lower-cased.
  assertEquals(cleanHeadline("Café’s ÉCOLE “Quotes”"), ["café’s", "école", "“quotes”"]);
  // Tab, newline, no-break space and \x1c split in Python; U+FEFF does not.
  assertEquals(cleanHeadline("a\tb\nc\u00a0d\x1ce"), ["a", "b", "c", "d", "e"]);
  assertEquals(cleanHeadline("a\ufeffb"), ["a\ufeffb"]);
  assertEquals(cleanHeadline("  "), []);
});

Deno.test("CSV reading: quoted commas, quotes and newlines; BOM and CRLF; headline found by name", async () => {
  assertEquals(await readHeadlines(join(MINI, "ArticlesA.csv")), [
    `Trump, Putin and the "Deal"`,
    "Unknown",
    "Storm Hits\nNew York",
    "Café Owners’ Rally in N.Y.C.",
    "--",
  ]);
  assertEquals(await readHeadlines(join(MINI, "ArticlesB.csv")), [
    "The Deal, Again: Trump Wins",
    "Unknown Soldier Found",
  ]);
});

Deno.test("CSV errors are UserErrors naming the file (and the line for malformed CSV)", async () => {
  const fails = (name: string, message: RegExp) =>
    assertRejects(readHeadlines(join(FIXTURES, "bad", name)), (e: unknown) => {
      assert(e instanceof UserError, `${name}: ${e}`);
      assert(message.test(e.message), `${name}: ${e.message}`);
      return true;
    });
  // The quote opens on line 3 (header is line 1) and is never closed.
  await fails("unterminated.csv", /^unterminated\.csv line 3: malformed CSV/);
  await fails("no_headline.csv", /^no_headline\.csv has no "headline" column/);
  await fails("empty.csv", /^empty\.csv is empty$/);
});

Deno.test("a directory reads its *Articles*.csv files in name order: vocab, pairs, counts by hand", async () => {
  const ds = await loadDataset({ data: MINI });
  assertEquals(ds.files, ["ArticlesA.csv", "ArticlesB.csv"]);
  assertEquals(ds.source, `2 files in ${MINI}`);
  assertEquals(ds.headlines, 6);
  assertEquals(ds.vocab, MINI_VOCAB);
  assertEquals(ds.unk, -1);
  assertEquals(ds.train.count, 12);
  assertEquals(ds.val.count, 0);
  const id = (w: string) => MINI_VOCAB.indexOf(w);
  // a1's pairs: (trump putin)->and, (putin and)->the, (and the)->deal.
  assertEquals([...ds.train.inputs.subarray(0, 6)], [
    id("trump"),
    id("putin"),
    id("putin"),
    id("and"),
    id("and"),
    id("the"),
  ]);
  assertEquals([...ds.train.targets.subarray(0, 3)], [id("and"), id("the"), id("deal")]);
  // Last pair, b2: (unknown soldier)->found.
  assertEquals([...ds.train.inputs.subarray(22)], [id("unknown"), id("soldier")]);
  assertEquals(ds.train.targets[11], id("found"));

  const only = await loadDataset({ data: MINI, files: "*B*" });
  assertEquals([only.files, only.headlines, only.train.count], [["ArticlesB.csv"], 2, 4]);
});

Deno.test("window 3: inputs are three ids per pair", async () => {
  const ds = await loadDataset({ data: MINI, window: 3 });
  assertEquals([ds.window, ds.train.count, ds.train.inputs.length], [3, 7, 21]);
  const id = (w: string) => MINI_VOCAB.indexOf(w);
  // a1: (trump putin and)->the, (putin and the)->deal.
  assertEquals([...ds.train.inputs.subarray(0, 6)], ["trump", "putin", "and", "putin", "and", "the"].map(id));
  assertEquals([...ds.train.targets.subarray(0, 2)], [id("the"), id("deal")]);
});

Deno.test("makePairs skips windows that touch a word without an id", () => {
  // Headline [1 2 -1 3 4 5]: windows (1 2)->-1, (2 -1)->3, (-1 3)->4 are skipped, (3 4)->5 kept.
  const { pairs, skipped } = makePairs([Int32Array.of(1, 2, -1, 3, 4, 5)], 2);
  assertEquals([pairs.count, skipped, [...pairs.inputs], [...pairs.targets]], [1, 3, [3, 4], [5]]);
});

Deno.test("boundaries: <s> and </s> at ids 0 and 1, then <unk>, then words; hasBoundaries reads it back", () => {
  const heads = [["a", "b", "a"], ["c"]];
  assertEquals(buildVocab(heads, 1, true), { vocab: [BOS_TOKEN, EOS_TOKEN, "a", "b", "c"], unk: -1 });
  assertEquals(buildVocab(heads, 2, true), { vocab: [BOS_TOKEN, EOS_TOKEN, UNK_TOKEN, "a"], unk: 2 });
  assertEquals([BOS_ID, EOS_ID], [0, 1]);
  assert(hasBoundaries(buildVocab(heads, 2, true).vocab));
  assert(!hasBoundaries(buildVocab(heads, 2).vocab));
  // No text can produce a special token: cleaning deletes the punctuation they are made of.
  for (const token of [BOS_TOKEN, EOS_TOKEN, UNK_TOKEN]) {
    assertEquals(cleanHeadline(token).join(" "), token.replace(/\W/g, ""));
  }
});

Deno.test("makePairs with boundaries: window <s> before each headline, </s> after it, by hand", () => {
  // Ids 0 = <s>, 1 = </s>. Headline [5 6 7], window 2: <s> <s> 5 6 7 </s> gives 4 pairs; the empty
  // headline gives none; [8], window 2: <s> <s> 8 </s> gives 2.
  const { pairs, skipped } = makePairs([Int32Array.of(5, 6, 7), Int32Array.of(), Int32Array.of(8)], 2, true);
  assertEquals(skipped, 0);
  assertEquals([...pairs.inputs], [0, 0, 0, 5, 5, 6, 6, 7, 0, 0, 0, 8]);
  assertEquals([...pairs.targets], [5, 6, 7, 1, 8, 1]);
  // Window 3 over [5 6]: <s> <s> <s> 5 6 </s>: (s s s)->5, (s s 5)->6, (s 5 6)->1.
  const w3 = makePairs([Int32Array.of(5, 6)], 3, true).pairs;
  assertEquals([[...w3.inputs], [...w3.targets]], [[0, 0, 0, 0, 0, 5, 0, 5, 6], [5, 6, 1]]);
  // A word without an id still only costs the pairs that touch it.
  const gap = makePairs([Int32Array.of(5, -1, 7)], 2, true);
  assertEquals([gap.pairs.count, gap.skipped, [...gap.pairs.targets]], [1, 3, [5]]);
});

Deno.test("headlinePairs counts the words a vocabulary lacks: tokens, distinct words, skipped pairs", () => {
  const vocab = [BOS_TOKEN, EOS_TOKEN, "a", "b"];
  const made = headlinePairs([["a", "zz", "b"], ["yy", "zz"]], vocab, -1, 2, true);
  assertEquals(made.coverage, { tokens: 5, unknownTokens: 3, unknownWords: 2, skippedPairs: 6 });
  assertEquals([...made.unknown], [["zz", 2], ["yy", 1]]);
  // (s s)->a is the only pair that touches neither unknown word.
  assertEquals([made.pairs.count, [...made.pairs.targets]], [1, [2]]);
  const withUnk = headlinePairs([["a", "zz", "b"]], [...vocab, UNK_TOKEN], 4, 2, false);
  assertEquals(withUnk.coverage, { tokens: 3, unknownTokens: 1, unknownWords: 1, skippedPairs: 0 });
  assertEquals([[...withUnk.pairs.inputs], [...withUnk.pairs.targets]], [[2, 4], [3]]);
});

Deno.test("nyt_mini with boundaries: each headline with words gives words + 1 pairs; the notebook's pairs unchanged", async () => {
  const ds = await loadDataset({ data: MINI, boundaries: true });
  assertEquals(ds.vocab, [BOS_TOKEN, EOS_TOKEN, ...MINI_VOCAB]);
  assertEquals(ds.boundaries, true);
  // Words 5, 4, 5, 0 ("--": no pairs), 5, 3: (5+1) + (4+1) + (5+1) + (5+1) + (3+1).
  assertEquals([ds.headlines, ds.train.count], [6, 27]);
  const id = (w: string) => ds.vocab.indexOf(w);
  assertEquals(
    [...ds.train.targets.subarray(0, 6)],
    ["trump", "putin", "and", "the", "deal", EOS_TOKEN].map(id),
  );
  assertEquals([...ds.train.inputs.subarray(0, 4)], [BOS_ID, BOS_ID, BOS_ID, id("trump")]);
  const plain = await loadDataset({ data: MINI });
  assertEquals([plain.boundaries, plain.train.count, plain.vocab], [false, 12, MINI_VOCAB]);
});

Deno.test(".txt files: one headline a line, blank lines skipped, cleaned like CSV headlines", async () => {
  const ds = await loadDataset({ data: join(TEXT, "headlines.txt") });
  assertEquals([ds.source, ds.files, ds.headlines], ["headlines.txt", ["headlines.txt"], 3]);
  assertEquals(ds.vocab, ["mayor", "approves", "new", "budget", "storm", "hits", "york", "rejects", "the"]);
  assertEquals(ds.train.count, 2 + 2 + 2);
  assertEquals(textLines(new TextEncoder().encode("\ufeffa b\rc\r\n\n d \n"), "x.txt"), ["a b", "c", " d "]);
  const bad = (bytes: Uint8Array, message: RegExp) =>
    assertThrows(
      () => textLines(bytes, "x.txt"),
      (e: unknown) => e instanceof UserError && message.test(e.message),
    );
  bad(new Uint8Array(0), /^x\.txt is empty$/);
  bad(new TextEncoder().encode("\n \r\n\t\n"), /^x\.txt is empty$/);
  bad(Uint8Array.of(0x61, 0x0a, 0x62, 0x00, 0x63), /^x\.txt line 2: a NUL byte: binary data, not text$/);
  bad(Uint8Array.of(0x61, 0x0a, 0x0a, 0xff, 0xfe), /^x\.txt line 3: not UTF-8 text$/);
});

Deno.test("a directory: its *Articles*.csv and .txt files; with --column, every .csv; --column checked", async () => {
  const dir = await loadDataset({ data: TEXT });
  assertEquals([dir.files, dir.headlines, dir.column], [["headlines.txt", "more.txt"], 4, "headline"]);
  const titled = await loadDataset({ data: TEXT, column: "title" });
  assertEquals([titled.files, titled.headlines, titled.column], [
    ["headlines.txt", "more.txt", "titles.csv"],
    6,
    "title",
  ]);
  assert(titled.vocab.includes("boston") && !titled.vocab.includes("x"), "the title column, not the body");
  const csv = await loadDataset({ data: join(TEXT, "titles.csv"), column: "title" });
  assertEquals([csv.headlines, csv.vocab.slice(0, 4)], [2, ["budget", "again", "mayor", "wins"]]);
  await assertRejects(
    loadDataset({ data: join(TEXT, "titles.csv") }),
    /titles\.csv has no "headline" column \(columns: "id", "title", "body"\)/,
  );
  await assertRejects(
    loadDataset({ data: join(TEXT, "titles.csv"), column: "Title" }),
    /has no "Title" column/,
  );
  await assertRejects(
    loadDataset({ data: join(TEXT, "more.txt"), column: "title" }),
    /--column applies to CSV files, and .*more\.txt holds only \.txt files/,
  );
  await assertRejects(
    loadDataset({ data: MINI, column: "x", files: "notes*" }),
    /notes\.csv has no "x" column/,
  );
  await assertRejects(
    loadDataset({ data: TEXT, files: "*.md" }),
    /no file in .* matches \*Articles\*\.csv or \*\.txt and --files \*\.md/,
  );
});

Deno.test("min-count: rare words become <unk> at id 0, frequent ones keep first-appearance order", async () => {
  // In nyt_mini only trump, the, deal occur twice (a1 and b1); every other word once.
  const ds = await loadDataset({ data: MINI, minCount: 2 });
  assertEquals(ds.vocab, [UNK_TOKEN, "trump", "the", "deal"]);
  assertEquals(ds.unk, 0);
  assertEquals(ds.train.count, 12); // nothing dropped: rare words map to <unk>
  // a1: (trump putin)->and = (1 0)->0; (putin and)->the = (0 0)->2; (and the)->deal = (0 2)->3.
  assertEquals([...ds.train.inputs.subarray(0, 6)], [1, 0, 0, 0, 0, 2]);
  assertEquals([...ds.train.targets.subarray(0, 3)], [0, 2, 3]);
  assertEquals(buildVocab([["a", "b", "a"]], 1), { vocab: ["a", "b"], unk: -1 });
});

Deno.test("validation split: whole headlines, seeded, repeatable", () => {
  const a = chooseValidation(100, 0.2, 7);
  assertEquals(a.filter(Boolean).length, 20);
  assertEquals(chooseValidation(100, 0.2, 7), a);
  assert(chooseValidation(100, 0.2, 8).some((v, i) => v !== a[i]), "another seed picks other headlines");
  assertEquals(chooseValidation(100, 0, 7).filter(Boolean).length, 0);
});

Deno.test("validation words training never saw: dropped without <unk>, <unk> with it", () => {
  // Three headlines; find a seed that holds out the third one, "a b e d", whose "e" training never has.
  const headlines = ["A B C D", "A B C D", "A B E D"];
  const seed = [...Array(100).keys()].find((s) => chooseValidation(3, 1 / 3, s)[2])!;
  const corpus = { source: "three", files: [], headlines };
  const plain = buildDataset(corpus, { ...NOTEBOOK, valFraction: 1 / 3, seed });
  // Vocab from training only; val pairs (a b)->e and (b e)->d both touch "e": both dropped.
  assertEquals([plain.vocab, plain.train.count, plain.val.count, plain.headlines], [
    ["a", "b", "c", "d"],
    4,
    0,
    3,
  ]);
  const withUnk = buildDataset(corpus, { ...NOTEBOOK, minCount: 2, valFraction: 1 / 3, seed });
  // Vocab [<unk> a b c d]: (a b)->e = (1 2)->0, (b e)->d = (2 0)->4.
  assertEquals(withUnk.vocab, [UNK_TOKEN, "a", "b", "c", "d"]);
  assertEquals([withUnk.val.count, [...withUnk.val.inputs], [...withUnk.val.targets]], [2, [1, 2, 2, 0], [
    0,
    4,
  ]]);
});

Deno.test("no training pairs is a UserError", () => {
  assertThrows(
    () => buildDataset({ source: "tiny", files: [], headlines: ["One Two", "Unknown"] }, NOTEBOOK),
    (e: unknown) => e instanceof UserError && /no training pairs/.test(e.message),
  );
});

Deno.test("encodeWords maps to ids, lists unknown words, uses <unk> only when there is one", () => {
  assertEquals(encodeWords(["b", "zz", "a", "zz"], ["a", "b"], -1), { ids: [1, 0], unknown: ["zz"] });
  assertEquals(encodeWords(["b", "zz"], [UNK_TOKEN, "a", "b"], 0), { ids: [2, 0], unknown: ["zz"] });
});

Deno.test("--files globs: *, ?, [set], [!set]", () => {
  assert(matchesGlob("ArticlesJan2017.csv", "*2017*"));
  assert(!matchesGlob("ArticlesJan2018.csv", "*2017*"));
  assert(matchesGlob("ArticlesJan2017.csv", "Articles[FJ]??201[!8].csv"));
  assert(!matchesGlob("ArticlesMar2017.csv", "Articles[FJ]*"));
  assert(!matchesGlob("ArticlesXcsv", "Articles.csv"), "a dot is literal");
});

const withTempDir = makeWithTempDir("data_test_");

Deno.test("prepared directory: round trip, replaced in place, window mismatch refused", async () => {
  await withTempDir(async (tmp) => {
    const out = join(tmp, "nested", "prepared");
    const ds = await loadDataset({ data: MINI, minCount: 2, valFraction: 0.5, seed: 3 });
    await writePrepared(out, ds);
    const back = await loadDataset({ data: out });
    assertEquals(back, ds);
    // Asking for the settings it was made with is fine; a different window is refused, naming both.
    assertEquals(await loadDataset({ data: out, window: 2, minCount: 2 }), ds);
    // The message names the setting; the CLIs write it as their flag.
    const mismatch = await loadDataset({ data: out, window: 3 }).catch((e) => e);
    assertEquals(
      [mismatch.message, errorLine(mismatch, asFlag)],
      [
        `${out} was prepared with window 2, not 3: prepare it again or leave the window out`,
        `${out} was prepared with --window 2, not 3: prepare it again or leave --window out`,
      ],
    );
    await assertRejects(loadDataset({ data: out, files: "*" }), /--files does not apply/);
    await assertRejects(loadDataset({ data: out, column: "title" }), /--column does not apply/);
    const noBoundaries = await loadDataset({ data: out, boundaries: true }).catch((e) => e);
    assert(/prepared without headline boundaries/.test(noBoundaries.message), noBoundaries.message);
    assert(/prepared without --boundaries/.test(errorLine(noBoundaries, asFlag)), noBoundaries.message);

    const again = await loadDataset({ data: MINI });
    await writePrepared(out, again);
    assertEquals(await loadDataset({ data: out }), again);
    // Only the prepared directory remains next to it: staging directories are cleaned up.
    assertEquals([...Deno.readDirSync(join(tmp, "nested"))].map((e) => e.name), ["prepared"]);

    const other = join(tmp, "other");
    await Deno.mkdir(other);
    await Deno.writeTextFile(join(other, "keep.txt"), "not ours");
    await assertRejects(writePrepared(other, again), /not a prepared directory/);
    assertEquals(await Deno.readTextFile(join(other, "keep.txt")), "not ours");
  });
});

Deno.test("prepared directory: boundaries, column and validation coverage recorded; older summaries read", async () => {
  await withTempDir(async (tmp) => {
    const out = join(tmp, "prepared");
    const ds = await loadDataset({
      data: TEXT,
      column: "title",
      boundaries: true,
      valFraction: 0.5,
      seed: 1,
    });
    await writePrepared(out, ds);
    assertEquals(await loadDataset({ data: out, boundaries: true }), ds);
    const summary = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
    assertEquals([summary.boundaries, summary.column], [true, "title"]);
    assertEquals(summary.val_coverage.tokens, ds.valCoverage!.tokens);
    assert(ds.valCoverage!.unknownTokens > 0, "some validation words are new to training");
    // A directory prepared before these fields existed reads as the notebook's: no boundaries, "headline".
    const plain = await loadDataset({ data: MINI });
    await writePrepared(out, plain);
    const old = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
    delete old.boundaries;
    delete old.column;
    delete old.val_coverage;
    delete old.headlines_file;
    await Deno.writeTextFile(join(out, "summary.json"), JSON.stringify(old));
    const { valCoverage: _, headlineIds: __, ...rest } = plain;
    assertEquals(await loadDataset({ data: out }), rest);
    // A summary that contradicts its vocabulary is refused.
    await Deno.writeTextFile(join(out, "summary.json"), JSON.stringify({ ...old, boundaries: true }));
    await assertRejects(
      loadDataset({ data: out }),
      /says boundaries true, but vocab\.json lacks <s> and <\/s>/,
    );
  });
});

Deno.test("prepared directory: the headlines as ids, and a headlines.bin that does not fit is refused", async () => {
  await withTempDir(async (tmp) => {
    const out = join(tmp, "prepared");
    const ds = await loadDataset({
      data: TEXT,
      column: "title",
      boundaries: true,
      valFraction: 0.5,
      seed: 1,
    });
    await writePrepared(out, ds);
    const back = await readPrepared(out);
    assertEquals(back.headlineIds, ds.headlineIds);
    // Validation words training never saw have no id here (min-count 1: no <unk>).
    assert(ds.headlineIds!.val.some((ids) => ids.includes(-1)), "a validation word without an id");
    const bytes = await Deno.readFile(join(out, "headlines.bin"));
    await Deno.writeFile(join(out, "headlines.bin"), bytes.subarray(0, bytes.length - 4));
    await assertRejects(readPrepared(out), /headlines\.bin does not hold \d+ headlines/);
    const ids = new DataView(bytes.buffer);
    ids.setInt32(bytes.length - 4, ds.vocab.length, true);
    await Deno.writeFile(join(out, "headlines.bin"), bytes);
    await assertRejects(readPrepared(out), /headlines\.bin holds an id outside the vocabulary/);
  });
});

Deno.test("prepared directory: a kill between the swap's renames loses nothing", async () => {
  await withTempDir(async (tmp) => {
    const out = join(tmp, "prepared");
    const ds = await loadDataset({ data: MINI, minCount: 2, valFraction: 0.5, seed: 3 });
    await writePrepared(out, ds);
    // The state a kill after `rename DIR -> .DIR.old` leaves: DIR missing, the old version beside it.
    await Deno.rename(out, join(tmp, ".prepared.old"));
    await Deno.mkdir(join(tmp, ".prepared.new"));
    assertEquals(await readPrepared(out), ds);
    assertEquals(await loadDataset({ data: out }), ds); // --data DIR finds it too
    const again = await loadDataset({ data: MINI });
    await writePrepared(out, again);
    assertEquals(await loadDataset({ data: out }), again);
    assertEquals([...Deno.readDirSync(tmp)].map((e) => e.name), ["prepared"]);
    // A `.DIR.old` that is not ours is refused, not deleted.
    const other = join(tmp, "other");
    await Deno.mkdir(join(tmp, ".other.old"));
    await Deno.writeTextFile(join(tmp, ".other.old", "keep.txt"), "not ours");
    await assertRejects(writePrepared(other, again), /\.other\.old exists and is not a prepared directory/);
    assertEquals(await Deno.readTextFile(join(tmp, ".other.old", "keep.txt")), "not ours");
  });
});

Deno.test("built-in corpus: deterministic, small, and needs the word two back", () => {
  assertEquals(builtinHeadlines(), builtinHeadlines());
  const ds: Dataset = buildDataset(
    { source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() },
    NOTEBOOK,
  );
  assert(ds.vocab.length >= 100 && ds.vocab.length <= 300, `vocab ${ds.vocab.length}`);
  assert(ds.train.count >= 1000 && ds.train.count <= 3000, `pairs ${ds.train.count}`);
  // After an adverb the last word says nothing about the verb, the word two back decides it.
  const adverbs = new Set([
    "quietly",
    "finally",
    "suddenly",
    "again",
    "reportedly",
    "officially",
    "barely",
    "nearly",
  ]);
  const byLast = new Map<string, Set<number>>();
  const byBoth = new Map<string, Set<number>>();
  for (let p = 0; p < ds.train.count; p++) {
    const [first, last] = [ds.vocab[ds.train.inputs[2 * p]], ds.vocab[ds.train.inputs[2 * p + 1]]];
    if (!adverbs.has(last)) continue;
    for (const [map, key] of [[byLast, last], [byBoth, `${first} ${last}`]] as const) {
      if (!map.has(key)) map.set(key, new Set());
      map.get(key)!.add(ds.train.targets[p]);
    }
  }
  assertEquals(byLast.size, adverbs.size);
  assert([...byLast.values()].every((targets) => targets.size > 4), "an adverb alone leaves the verb open");
  assert([...byBoth.values()].every((targets) => targets.size === 1), "subject + adverb fix the verb");
});

// The shared NYT data lives outside the repository; without it these tests are skipped, loudly.
const NYT = join(SHARED_DATA, "nyt/");
const PARITY_VOCAB = join(SHARED_DATA, "parity/apr2017-seed0/vocab.json");
const haveShared = haveFiles("data_test: the NYT number tests", [
  join(NYT, "ArticlesApril2017.csv"),
  PARITY_VOCAB,
]);

Deno.test({
  name: "shared data: ArticlesApril2017.csv gives 831 headlines, the parity vocab, 3988 pairs",
  ignore: !haveShared,
  fn: async () => {
    const ds = await loadDataset({ data: join(NYT, "ArticlesApril2017.csv") });
    assertEquals([ds.headlines, ds.vocab.length, ds.train.count], [831, 2482, 3988]);
    assertEquals(ds.vocab, JSON.parse(await Deno.readTextFile(PARITY_VOCAB)));
  },
});

Deno.test({
  name: "shared data: the whole folder gives 8603 headlines, vocab 12148, 43304 pairs",
  ignore: !haveShared,
  fn: async () => {
    const ds = await loadDataset({ data: NYT });
    assertEquals([ds.files.length, ds.headlines, ds.vocab.length, ds.train.count], [9, 8603, 12148, 43304]);
  },
});
