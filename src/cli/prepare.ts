/** `deno task prepare`: reads headlines, builds vocabulary and pairs, writes a prepared directory. */
import { numberFlag, parseFlags } from "./args.ts";
import { USAGE_EXIT, UserError } from "../errors.ts";
import { DEFAULT_MODEL } from "../model/config.ts";
import { DEFAULT_MIN_COUNT, DEFAULT_SEED, DEFAULT_VAL_FRACTION } from "../data/dataset.ts";
import { summarizeDataset } from "../data/prepared.ts";
import { HEADLINE_COLUMN } from "../data/csv.ts";
import { BOS_TOKEN, EOS_TOKEN, UNK_TOKEN } from "../data/vocab.ts";
import { PAIRS_FILE, SUMMARY_FILE, VOCAB_FILE } from "../io/file_names.ts";
import {
  ARTICLES_GLOB,
  CSV_GLOB,
  DEFAULT_DATA_DIR,
  loadDataset,
  TEXT_GLOB,
  writePrepared,
} from "../deno/data_files.ts";

const DEFAULT_OUT = "runs/prepared";

export const PREPARE_HELP = `Usage: deno task prepare [DATA] [options]

Reads news headlines, cleans them like the reference notebook, builds the vocabulary and the
(window words -> next word) pairs, and writes a prepared directory for training.

DATA (or --data PATH): a CSV file with a "${HEADLINE_COLUMN}" column, a ${TEXT_GLOB} file (one headline or
sentence a line, blank lines skipped), a directory (its ${ARTICLES_GLOB} and ${TEXT_GLOB} files, sorted by
name), or a prepared directory. Default: ${DEFAULT_DATA_DIR}/ when it holds such files, else the built-in
synthetic corpus.

Options:
  --files GLOB          only the directory's files whose names also match GLOB (e.g. "*2017*")
  --column NAME         the CSV column holding the text (default "${HEADLINE_COLUMN}"; a directory's
                        files are then every ${CSV_GLOB} and ${TEXT_GLOB})
  --boundaries          frame each headline with --window ${BOS_TOKEN} tokens before it and ${EOS_TOKEN} after it,
                        so pairs also predict its first words and its end (default: the notebook's pairs)
  --window N            words of context per pair (default ${DEFAULT_MODEL.window})
  --min-count N         words seen fewer than N times become <unk> (default ${DEFAULT_MIN_COUNT}: keep all)
  --val-fraction F      share of headlines held out for validation, 0 <= F < 1 (default ${DEFAULT_VAL_FRACTION})
  --seed N              seed of the validation split (default ${DEFAULT_SEED})
  --out DIR             where to write ${VOCAB_FILE}, ${PAIRS_FILE}, ${SUMMARY_FILE} (default ${DEFAULT_OUT})
  --json                print the summary as one JSON line, last on stdout
  -h, --help            this text

The vocabulary comes from the training headlines only. Validation words it lacks become <unk> when
there is one (--min-count above 1), otherwise the validation pairs holding them are dropped.`;

export async function prepareMain(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    data: { type: "string" },
    files: { type: "string" },
    column: { type: "string" },
    boundaries: { type: "boolean" },
    window: { type: "string" },
    "min-count": { type: "string" },
    "val-fraction": { type: "string" },
    seed: { type: "string" },
    out: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, true);
  if (values.help) {
    console.log(PREPARE_HELP);
    return 0;
  }
  if (positionals.length > 1 || (positionals.length === 1 && values.data !== undefined)) {
    throw new UserError("give one data path (DATA or --data), see --help", USAGE_EXIT);
  }
  // Flags left out stay undefined: loadDataset then applies its defaults, or keeps a prepared input's.
  const given = (
    name: "window" | "min-count" | "val-fraction" | "seed",
    check: Parameters<typeof numberFlag>[3],
  ) => values[name] === undefined ? undefined : numberFlag(name, values[name], NaN, check);
  const ds = await loadDataset({
    data: values.data ?? positionals[0],
    files: values.files,
    column: values.column,
    boundaries: values.boundaries,
    window: given("window", "positive integer"),
    minCount: given("min-count", "positive integer"),
    valFraction: given("val-fraction", "fraction"),
    seed: given("seed", "32-bit unsigned integer"),
  });
  const out = values.out ?? DEFAULT_OUT;
  await writePrepared(out, ds);
  const summary = summarizeDataset(ds);
  console.log(`corpus: ${ds.source}${ds.files.length > 1 ? ` (${ds.files.join(", ")})` : ""}`);
  console.log(
    `headlines ${summary.headlines}, vocab ${summary.vocab}${specialsNote(ds.unk >= 0, ds.boundaries)}, ` +
      `window ${summary.window}, pairs ${summary.pairs}` +
      (summary.val_fraction > 0 ? `, validation pairs ${summary.val_pairs}` : ""),
  );
  console.log(`wrote ${out}`);
  if (values.json) console.log(JSON.stringify({ ...summary, out }));
  return 0;
}

/** " (with <unk>, <s>, </s>)": the special tokens a vocabulary holds, if any. */
function specialsNote(unk: boolean, boundaries: boolean): string {
  const specials = [...(unk ? [UNK_TOKEN] : []), ...(boundaries ? [BOS_TOKEN, EOS_TOKEN] : [])];
  return specials.length ? ` (with ${specials.join(", ")})` : "";
}
