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
import { loadDataset, readHeadlineColumn, readPrepared, writePrepared } from "../src/deno/data_files.ts";
import { makePairs } from "../src/data/pairs.ts";
import { chooseValidation } from "../src/data/split.ts";
import { buildVocab, encodeWords, UNK_TOKEN } from "../src/data/vocab.ts";
import { BUILTIN_SOURCE, builtinHeadlines } from "../src/data/builtin.ts";
import { matchesGlob } from "../src/data/glob.ts";
import { UserError } from "../src/errors.ts";
import { haveFiles, makeWithTempDir, SHARED_DATA } from "./fs_harness.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const MINI = join(FIXTURES, "nyt_mini");
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
  assertEquals(await readHeadlineColumn(join(MINI, "ArticlesA.csv")), [
    `Trump, Putin and the "Deal"`,
    "Unknown",
    "Storm Hits\nNew York",
    "Café Owners’ Rally in N.Y.C.",
    "--",
  ]);
  assertEquals(await readHeadlineColumn(join(MINI, "ArticlesB.csv")), [
    "The Deal, Again: Trump Wins",
    "Unknown Soldier Found",
  ]);
});

Deno.test("CSV errors are UserErrors naming the file (and the line for malformed CSV)", async () => {
  const fails = (name: string, message: RegExp) =>
    assertRejects(readHeadlineColumn(join(FIXTURES, "bad", name)), (e: unknown) => {
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
    await assertRejects(loadDataset({ data: out, window: 3 }), /prepared with --window 2, not 3/);
    await assertRejects(loadDataset({ data: out, files: "*" }), /--files does not apply/);

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
