/**
 * CSV fuzzing: seeded generators of broken and odd CSV files (truncated rows, stray quotes, embedded and
 * mixed line breaks, BOM, NUL bytes, invalid UTF-8, 1 MB fields, duplicate / missing / empty / numeric
 * `headline` columns, random byte flips and garbage). Each file goes through loadDataset in process (a few
 * hundred) and a handful through the prepare CLI. Every one either prepares, and then the dataset is
 * self-consistent (ids inside the vocabulary, the vocabulary and every pair rebuilt from the headlines by
 * hand), or fails with a UserError whose message is one line naming the file, and the right line where the
 * fault has one; never another exception type, and never a stack trace from the CLI.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { loadDataset, readHeadlines } from "../src/deno/data_files.ts";
import { cleanHeadline, UNKNOWN_HEADLINE } from "../src/data/clean.ts";
import { UserError } from "../src/errors.ts";
import { Rng } from "../src/model/rng.ts";
import type { Dataset } from "../src/data/types.ts";

const PREPARE = fileURLToPath(new URL("../scripts/prepare.ts", import.meta.url));
const WINDOW = 2;
/** "1 MB fields". */
const HUGE = 1 << 20;
/**
 * Longest acceptable error message: the file name plus the longest fixed text (the "no headline column"
 * message lists at most 8 column names of at most 44 characters each, about 400 characters).
 */
const MAX_MESSAGE_EXTRA = 500;

// Words that need quoting in a CSV field, words that do not, and odd ones (non-ASCII, punctuation only).
const QUOTY = [`"Deal"`, "Trump,", `it's "fine"`, "a,b"];
const PLAIN = [
  "trump",
  "putin",
  "storm",
  "new",
  "york",
  "café",
  "owners’",
  "U.S.",
  "N.Y.C.",
  "--",
  "the",
  "über",
];
const OTHER_COLUMNS = ["articleID", "byline", "abstract", "pubDate", "keywords", "snippet"];

type Eol = "\n" | "\r\n" | "\r" | "mixed";

interface CsvOptions {
  rows?: number;
  eol?: Eol;
  bom?: boolean;
  /** Rows from this one on use plain words only and are never quoted (so one stray quote stays open). */
  plainFrom?: number;
  /** Header names (must contain "headline" once, else `headlineColumn` says where the headlines go). */
  header?: string[];
  headlineColumn?: number;
  /** Headline of row i (default: random words). */
  headline?: (i: number) => string;
  blankLines?: boolean;
}

/** A generated CSV text and where things are in it (character offsets). */
interface Csv {
  text: string;
  /** Raw headline fields as a correct reader returns them. */
  headlines: string[];
  columns: number;
  rowStart: number[];
  rowEnd: number[];
  headlineStart: number[];
}

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

function words(rng: Rng, n: number, plain: boolean): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(plain || rng.next() < 0.8 ? pick(rng, PLAIN) : pick(rng, QUOTY));
  return out.join(" ");
}

function randomHeadline(rng: Rng, plain: boolean): string {
  const r = rng.next();
  if (r < 0.1) return UNKNOWN_HEADLINE;
  if (r < 0.2 && !plain) {
    return `${words(rng, 2, false)}${pick(rng, ["\n", "\r\n", "\r"])}${words(rng, 3, false)}`;
  }
  if (r < 0.25 && !plain) return `${words(rng, 2, false)}\0${words(rng, 2, false)}`;
  return words(rng, rng.int(8), plain);
}

function encodeField(rng: Rng, value: string, plain: boolean): string {
  const needs = /[",\r\n]/.test(value);
  if (plain && needs) throw new Error(`test bug: plain field ${JSON.stringify(value)} needs quotes`);
  return needs || (!plain && rng.next() < 0.3) ? `"${value.replaceAll(`"`, `""`)}"` : value;
}

function makeCsv(rng: Rng, o: CsvOptions = {}): Csv {
  const extra = 1 + rng.int(3);
  let header = o.header;
  let hcol = o.headlineColumn ?? 0;
  if (!header) {
    header = rng.shuffle([...OTHER_COLUMNS]).slice(0, extra);
    hcol = rng.int(extra + 1);
    header.splice(hcol, 0, pick(rng, ["headline", " headline", "headline "]));
  }
  const rows = o.rows ?? 2 + rng.int(10);
  const eolKind = o.eol ?? pick(rng, ["\n", "\r\n", "\r", "mixed"] as const);
  const eol = () => (eolKind === "mixed" ? pick(rng, ["\n", "\r\n", "\r"]) : eolKind);
  let text = (o.bom ? "\ufeff" : "") + header.map((h) => encodeField(rng, h, false)).join(",");
  const csv: Csv = {
    text: "",
    headlines: [],
    columns: header.length,
    rowStart: [],
    rowEnd: [],
    headlineStart: [],
  };
  for (let i = 0; i < rows; i++) {
    text += eol();
    if (o.blankLines && rng.next() < 0.3) text += eol();
    const plain = o.plainFrom !== undefined && i >= o.plainFrom;
    const headline = o.headline ? o.headline(i) : randomHeadline(rng, plain);
    csv.rowStart.push(text.length);
    for (let c = 0; c < header.length; c++) {
      if (c > 0) text += ",";
      if (c === hcol) {
        csv.headlineStart.push(text.length);
        text += encodeField(rng, headline, plain);
      } else text += encodeField(rng, rng.next() < 0.2 ? "" : words(rng, 1 + rng.int(3), plain), plain);
    }
    csv.rowEnd.push(text.length);
    csv.headlines.push(headline);
  }
  if (rng.next() < 0.7) text += eol();
  csv.text = text;
  return csv;
}

/** 1-based line of character `offset`, a line break being "\r\n", "\n" or "\r" (independent of src/data). */
function lineOf(text: string, offset: number): number {
  return 1 + (text.slice(0, offset).match(/\r\n|\r|\n/g)?.length ?? 0);
}

const utf8 = (s: string) => new TextEncoder().encode(s);

function spliceBytes(bytes: Uint8Array, at: number, insert: Uint8Array, remove = 0): Uint8Array {
  const out = new Uint8Array(bytes.length + insert.length - remove);
  out.set(bytes.subarray(0, at));
  out.set(insert, at);
  out.set(bytes.subarray(at + remove), at + insert.length);
  return out;
}

interface Case {
  kind: string;
  bytes: Uint8Array;
  /** Known raw headline fields: the case must read as exactly these (or fail for having no pairs). */
  headlines?: string[];
  /** Truncated files: what was read must be a prefix of these, the last field possibly cut short. */
  prefixOf?: string[];
  /** The failure the case must give, as a pattern on the message after "FILE". */
  fails?: RegExp;
}

/** The cases, all from one seed: a few hundred small ones and three 1 MB ones. */
function generateCases(seed: number): Case[] {
  const rng = new Rng(seed);
  const cases: Case[] = [];
  const add = (kind: string, n: number, make: () => Omit<Case, "kind">) => {
    for (let i = 0; i < n; i++) cases.push({ kind, ...make() });
  };
  const good = (o: CsvOptions = {}) => {
    const csv = makeCsv(rng, o);
    return { bytes: utf8(csv.text), headlines: csv.headlines };
  };

  add("good", 40, () => good({ blankLines: rng.next() < 0.3 }));
  add("bom", 10, () => good({ bom: true }));
  add("crlf", 5, () => good({ eol: "\r\n", bom: rng.next() < 0.5 }));
  add("cr-only", 5, () => good({ eol: "\r" }));
  add("mixed-eol", 10, () => good({ eol: "mixed", blankLines: true }));
  add("nul", 10, () => good({ headline: () => `${words(rng, 2, true)}\0${words(rng, 2, true)}` }));
  add(
    "huge-headline",
    1,
    () => good({ rows: 3, headline: (i) => (i === 1 ? hugeWords(rng) : words(rng, 4, true)) }),
  );
  add(
    "huge-word",
    1,
    () => good({ rows: 3, headline: (i) => (i === 0 ? "x".repeat(HUGE) : words(rng, 4, true)) }),
  );
  add("huge-other-field", 1, () => {
    const csv = makeCsv(rng, { header: ["abstract", "headline"], headlineColumn: 1, rows: 3, plainFrom: 0 });
    const at = csv.rowStart[1];
    const text = csv.text.slice(0, at) + `"${"y, ".repeat(HUGE / 3)}"` +
      csv.text.slice(csv.text.indexOf(",", at));
    return { bytes: utf8(text), headlines: csv.headlines };
  });
  add("empty-headlines", 5, () => good({ headline: () => "" }));
  add(
    "numeric-headlines",
    5,
    () => good({ headline: () => String(rng.int(100000) / pick(rng, [1, 10, -100])) }),
  );
  add("numeric-words", 5, () => good({ headline: () => `${rng.int(100)} ${rng.int(100)} ${rng.int(100)}` }));
  add("header-only", 3, () => good({ rows: 0 }));
  add(
    "empty",
    4,
    () => ({ bytes: utf8(pick(rng, ["", "\n\r\n", "\ufeff", " \t \n"])), fails: / is empty$/ }),
  );

  add("duplicate-headline", 10, () => {
    const header = rng.shuffle([...OTHER_COLUMNS]).slice(0, 2);
    const a = rng.int(3);
    header.splice(a, 0, "headline");
    const b = a + 1 + rng.int(header.length - a);
    header.splice(b, 0, pick(rng, ["headline", " headline"]));
    const csv = makeCsv(rng, { header, headlineColumn: a });
    return {
      bytes: utf8(csv.text),
      fails: new RegExp(`^ has 2 "headline" columns \\(columns ${a + 1} and ${b + 1}\\)`),
    };
  });
  add("no-headline-column", 6, () => {
    const names = [
      `"head\nline"`,
      "Headline",
      "x".repeat(1000),
      `"a,b"`,
      ...OTHER_COLUMNS.slice(0, rng.int(7)),
    ];
    const header = rng.shuffle(names).join(",");
    return {
      bytes: utf8(`${header}\n${"1,".repeat(names.length - 1)}1\n`),
      fails: /^ has no "headline" column/,
    };
  });

  // Faults with a known line.
  const BAD_UTF8 = [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80], [
    0xe2,
    0x82,
  ]];
  add("invalid-utf8", 20, () => {
    const csv = makeCsv(rng, { bom: rng.next() < 0.3 });
    const k = rng.int(csv.headlines.length);
    const at = csv.headlineStart[k];
    const bytes = spliceBytes(
      utf8(csv.text),
      utf8(csv.text.slice(0, at)).length,
      Uint8Array.from(pick(rng, BAD_UTF8)),
    );
    return { bytes, fails: new RegExp(`^ line ${lineOf(csv.text, at)}: not UTF-8 text$`) };
  });
  add("unclosed-quote", 20, () => {
    const rows = 2 + rng.int(8);
    const k = rng.int(rows);
    const csv = makeCsv(rng, { rows, plainFrom: k });
    const at = csv.headlineStart[k];
    const text = csv.text.slice(0, at) + `"` + csv.text.slice(at);
    return {
      bytes: utf8(text),
      fails: new RegExp(`^ line ${lineOf(text, at)}: malformed CSV: quoted field never closed$`),
    };
  });
  add("short-row", 15, () => {
    const csv = makeCsv(rng, { blankLines: true });
    const k = rng.int(csv.headlines.length);
    const text = csv.text.slice(0, csv.rowStart[k]) + `"short"` + csv.text.slice(csv.rowEnd[k]);
    const line = lineOf(text, csv.rowStart[k]);
    return {
      bytes: utf8(text),
      fails: new RegExp(
        `^ line ${line}: malformed CSV: Invalid Record Length: expect ${csv.columns}, got 1$`,
      ),
    };
  });
  add("long-row", 15, () => {
    const csv = makeCsv(rng, { blankLines: true });
    const k = rng.int(csv.headlines.length);
    const text = csv.text.slice(0, csv.rowEnd[k]) + ",extra" + csv.text.slice(csv.rowEnd[k]);
    const line = lineOf(text, csv.rowStart[k]);
    return {
      bytes: utf8(text),
      fails: new RegExp(
        `^ line ${line}: malformed CSV: Invalid Record Length: expect ${csv.columns}, got ${
          csv.columns + 1
        }$`,
      ),
    };
  });

  // Faults with no one right answer: only the invariants are checked.
  add("truncated", 40, () => {
    const csv = makeCsv(rng);
    const bytes = utf8(csv.text);
    return { bytes: bytes.slice(0, rng.int(bytes.length + 1)), prefixOf: csv.headlines };
  });
  add("stray-quote", 40, () => {
    const csv = makeCsv(rng);
    const at = csv.rowStart[0] + rng.int(csv.text.length - csv.rowStart[0] + 1);
    return { bytes: utf8(csv.text.slice(0, at) + `"` + csv.text.slice(at)) };
  });
  add("byte-flips", 50, () => {
    const bytes = utf8(makeCsv(rng).text);
    for (let n = 1 + rng.int(4); n > 0; n--) bytes[rng.int(bytes.length)] = rng.int(256);
    return { bytes };
  });
  add("garbage", 10, () => ({ bytes: Uint8Array.from({ length: rng.int(200) }, () => rng.int(256)) }));
  return cases;
}

/** About HUGE bytes of plain words: a headline of some 100k words. */
function hugeWords(rng: Rng): string {
  const parts: string[] = [];
  let size = 0;
  while (size < HUGE) {
    const w = pick(rng, PLAIN);
    parts.push(w);
    size += w.length + 1;
  }
  return parts.join(" ");
}

/** The dataset rebuilt from raw headline fields by hand: vocab by first appearance, pairs headline by headline. */
function checkDataset(ds: Dataset, raw: string[], file: string): void {
  const cleaned = raw.filter((h) => h !== UNKNOWN_HEADLINE).map(cleanHeadline);
  assertEquals(ds.headlines, cleaned.length, `${file}: headline count`);
  const vocab = [...new Set(cleaned.flat())];
  assertEquals(ds.vocab.length, vocab.length, `${file}: vocab size`);
  assert(ds.vocab.every((w, i) => w === vocab[i]), `${file}: vocab order differs from first appearance`);
  const V = ds.vocab.length;
  for (const ids of [ds.train.inputs, ds.train.targets]) {
    for (const id of ids) {
      assert(Number.isInteger(id) && id >= 0 && id < V, `${file}: id ${id} outside 0..${V - 1}`);
    }
  }
  let p = 0;
  for (const w of cleaned) {
    for (let i = 0; i + WINDOW < w.length; i++, p++) {
      assert(p < ds.train.count, `${file}: fewer pairs than the headlines give`);
      for (let j = 0; j < WINDOW; j++) {
        if (ds.vocab[ds.train.inputs[p * WINDOW + j]] !== w[i + j]) {
          throw new Error(`${file}: pair ${p} input ${j}`);
        }
      }
      if (ds.vocab[ds.train.targets[p]] !== w[i + WINDOW]) throw new Error(`${file}: pair ${p} target`);
    }
  }
  assertEquals(ds.train.count, p, `${file}: pair count`);
  assertEquals([ds.train.inputs.length, ds.train.targets.length], [p * WINDOW, p]);
  assertEquals(ds.val.count, 0);
}

function pairCount(raw: string[]): number {
  return raw.filter((h) => h !== UNKNOWN_HEADLINE).map(cleanHeadline)
    .reduce((n, w) => n + Math.max(0, w.length - WINDOW), 0);
}

/** Checks an error against the invariants and the case's expectation; returns its message. */
function checkError(e: unknown, c: Case, file: string, bytes: Uint8Array): string {
  if (!(e instanceof UserError)) {
    throw new Error(
      `${file} (${c.kind}): ${e instanceof Error ? e.name : typeof e} instead of a UserError: ${e}`,
    );
  }
  const msg = e.message;
  assert(!/[\r\n]/.test(msg), `${file}: message is not one line: ${JSON.stringify(msg)}`);
  assert(msg.length <= file.length + MAX_MESSAGE_EXTRA, `${file}: message of ${msg.length} characters`);
  assert(
    msg.startsWith(file) && /^[ :]/.test(msg.slice(file.length)),
    `${file}: message does not name it: ${msg}`,
  );
  const line = /^ line (\d+): /.exec(msg.slice(file.length));
  if (/malformed CSV|not UTF-8/.test(msg)) {
    assert(line, `${file}: a parse error without a line: ${msg}`);
    const lines = 1 + (new TextDecoder().decode(bytes).match(/\r\n|\r|\n/g)?.length ?? 0);
    assert(Number(line[1]) >= 1 && Number(line[1]) <= lines, `${file}: line ${line[1]} of ${lines}: ${msg}`);
  }
  return msg;
}

interface Outcome {
  ok: boolean;
  message?: string;
  ds?: Dataset;
}

async function runCase(c: Case, dir: string, i: number): Promise<Outcome> {
  const file = `Articles_${c.kind}_${i}.csv`;
  const path = join(dir, file);
  await Deno.writeFile(path, c.bytes);
  let fails = c.fails;
  if (c.headlines && pairCount(c.headlines) === 0) fails = /^: no training pairs: /;
  let ds: Dataset;
  try {
    ds = await loadDataset({ data: path, window: WINDOW });
  } catch (e) {
    const msg = checkError(e, c, file, c.bytes);
    if (c.headlines && !fails) throw new Error(`${file} (${c.kind}) is well-formed but failed: ${msg}`);
    if (fails) {
      assert(fails.test(msg.slice(file.length)), `${file} (${c.kind}): "${msg}" does not match ${fails}`);
    }
    return { ok: false, message: msg };
  }
  if (fails) throw new Error(`${file} (${c.kind}) prepared, but must fail like ${fails}`);
  assertEquals(ds.files, [file]);
  const raw = c.headlines ?? await readHeadlines(path);
  if (c.prefixOf) {
    const n = raw.length;
    assert(n <= c.prefixOf.length, `${file}: ${n} rows from a cut of ${c.prefixOf.length}`);
    for (let r = 0; r < n - 1; r++) {
      assertEquals(raw[r], c.prefixOf[r], `${file}: row ${r + 1} of a truncated file`);
    }
    if (n) {
      assert(c.prefixOf[n - 1].startsWith(raw[n - 1]), `${file}: last row is not a prefix of what was cut`);
    }
  }
  checkDataset(ds, raw, file);
  return { ok: true, ds };
}

const SEED = 20240501;

Deno.test("CSV fuzz: a few hundred broken and odd files prepare self-consistently or fail with one-line UserErrors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "robust_csv_fuzz_" });
  try {
    const cases = generateCases(SEED);
    const tally = new Map<string, [number, number]>();
    for (const [i, c] of cases.entries()) {
      const out = await runCase(c, dir, i);
      const t = tally.get(c.kind) ?? [0, 0];
      t[out.ok ? 0 : 1]++;
      tally.set(c.kind, t);
      await Deno.remove(join(dir, `Articles_${c.kind}_${i}.csv`));
    }
    assert(cases.length >= 300, `${cases.length} cases`);
    // The generators must exercise both outcomes where both are possible (else they test nothing).
    for (const kind of ["truncated", "stray-quote", "byte-flips"]) {
      const [ok, failed] = tally.get(kind)!;
      assert(ok > 0 && failed > 0, `${kind}: ${ok} prepared, ${failed} failed: the generator is off`);
    }
    for (
      const kind of ["good", "bom", "crlf", "cr-only", "mixed-eol", "nul", "huge-headline", "numeric-words"]
    ) {
      assert(tally.get(kind)![0] > 0, `${kind}: nothing prepared`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CSV fuzz through the prepare CLI: exit 0 with the same counts, or exactly the in-process error as one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "robust_csv_cli_" });
  try {
    const cases = generateCases(SEED);
    // One of each: odd but fine, a 1 MB field, and one fault of every kind with a known message.
    const kinds = [
      "mixed-eol",
      "huge-headline",
      "duplicate-headline",
      "no-headline-column",
      "invalid-utf8",
      "unclosed-quote",
      "short-row",
      "numeric-headlines",
    ];
    for (const kind of kinds) {
      const i = cases.findIndex((c) => c.kind === kind);
      const c = cases[i];
      const file = `Articles_${c.kind}_${i}.csv`;
      const expected = await runCase(c, dir, i);
      const out = join(dir, `prepared_${i}`);
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", PREPARE, join(dir, file), "--out", out, "--json"],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const stdout = new TextDecoder().decode(run.stdout);
      const stderr = new TextDecoder().decode(run.stderr);
      if (expected.ok) {
        assertEquals([run.code, stderr], [0, ""], kind);
        const summary = JSON.parse(stdout.trim().split("\n").at(-1)!);
        assertEquals(
          [summary.pairs, summary.vocab],
          [expected.ds!.train.count, expected.ds!.vocab.length],
          kind,
        );
      } else {
        assertEquals(run.code, 1, `${kind}: ${stderr}`);
        assertEquals(stdout, "", kind);
        assertEquals(stderr, `prepare: error: ${expected.message}\n`, kind);
        assert(!(await Deno.stat(out).then(() => true, () => false)), `${kind}: wrote ${out} after failing`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
