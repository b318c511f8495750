/**
 * `deno task partner`: fits the Kneser-Ney count model on a model's training headlines, tunes the mixture
 * weight on the validation headlines, and stores both with the checkpoint (src/eval/partner.ts), so that
 * eval and predict can mix the two with --partner.
 */
import { headlineSteps } from "../data/sequences.ts";
import { numberFlag, parseFlags } from "./args.ts";
import { USAGE_EXIT, UserError } from "../errors.ts";
import { loadCheckpoint, modelCheckpointDir, saveCheckpoint } from "../deno/checkpoint_files.ts";
import { locateData, readPrepared } from "../deno/data_files.ts";
import { openBackend } from "../deno/backends.ts";
import { parseBackendKind } from "../model/backend_kind.ts";
import { preparedPairs } from "../eval/data.ts";
import { DEFAULT_KN_ORDER } from "../eval/kneser_ney.ts";
import { fitPartner } from "../eval/partner.ts";
import { type Scores, scoringRows } from "../eval/scores.ts";
import { table } from "./table.ts";

export const PARTNER_HELP =
  `Tune a Kneser-Ney count model as a trained model's partner and store it with the checkpoint.

usage: deno task partner --model DIR --data PREPARED [flags]

  --model DIR          a checkpoint directory (or a run directory: its checkpoint/; give DIR/best for the best)
  --data PREPARED      the prepared directory the model was trained on, with a validation split
                       (deno task prepare --val-fraction F): the count model is fitted on its training
                       headlines, the weight tuned on its validation headlines
  --order N            the count model's order: contexts of N-1 words (default ${DEFAULT_KN_ORDER})
  --discount D         one discount D in (0, 1] (default: modified Kneser-Ney)
  --backend webgpu|cpu (default webgpu)
  --json               one JSON object on stdout
  -h, --help           this text

The mixture is P = w P_model + (1 - w) P_count word by word, w chosen to make the validation targets most
likely. The checkpoint gets kneser_ney.bin and config.json's "partner"; a later save of the checkpoint
(training on) drops them, since the weight was tuned for these weights. deno task eval --partner and
deno task predict --partner use it; nothing else does.`;

const FLAGS = {
  model: { type: "string" },
  data: { type: "string" },
  order: { type: "string" },
  discount: { type: "string" },
  backend: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export async function partnerMain(args: string[]): Promise<number> {
  const { values: v } = parseFlags(args, FLAGS);
  if (v.help) {
    console.log(PARTNER_HELP);
    return 0;
  }
  if (v.model === undefined) throw new UserError("--model DIR is required (see --help)", USAGE_EXIT);
  if (v.data === undefined) throw new UserError("--data PREPARED is required (see --help)", USAGE_EXIT);
  const backendKind = parseBackendKind(v.backend);
  const order = numberFlag("order", v.order, DEFAULT_KN_ORDER, "positive integer");
  const discount = v.discount === undefined
    ? undefined
    : numberFlag("discount", v.discount, 0, "positive number");
  if (discount !== undefined && discount > 1) {
    throw new UserError(`--discount must be in (0, 1], got ${discount}`, USAGE_EXIT);
  }
  const dir = await modelCheckpointDir(v.model);
  const ck = await loadCheckpoint(dir);
  const input = await locateData({ data: v.data });
  if (input.kind !== "prepared") {
    throw new UserError(`--data ${v.data}: give the prepared directory the model was trained on`, USAGE_EXIT);
  }
  const prepared = await readPrepared(input.dir);
  const train = preparedPairs(prepared, input.dir, "train", ck.vocab, ck.config);
  const val = preparedPairs(prepared, input.dir, "val", ck.vocab, ck.config);
  if (!train.headlines || !val.headlines) {
    throw new UserError(`${input.dir} keeps no headlines (prepared before they were kept): prepare it again`);
  }
  const backend = await openBackend(backendKind, ck.config, {
    maxBatch: scoringRows(ck.config, val.headlines),
    maxSteps: headlineSteps(val.headlines),
  });
  let fit;
  try {
    await backend.setParams(ck.params);
    fit = await fitPartner(backend, ck.vocab, train.headlines, { ...val, headlines: val.headlines }, {
      order,
      discount,
    });
  } finally {
    backend.destroy();
  }
  await saveCheckpoint(dir, { ...ck, partner: fit.partner });
  const { weight } = fit.partner;
  if (v.json) {
    console.log(
      JSON.stringify({
        model: dir,
        data: val.source,
        order,
        discount: discount ?? "modified",
        weight,
        scores: fit.scores,
      }),
    );
    return 0;
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const row = (
    name: string,
    s: Scores,
  ) => [name, s.loss.toFixed(4), s.perplexity.toFixed(2), pct(s.top1), pct(s.top5)];
  console.log(`${val.source}: ${fit.scores.model.pairs} targets`);
  const lines = table(["", "loss", "perplexity", "top-1", "top-5"], [
    row("model", fit.scores.model),
    row(`Kneser-Ney ${order}-gram`, fit.scores.count),
    row(`mixture, model weight ${weight.toFixed(3)}`, fit.scores.mixture),
  ], "lrrrr");
  for (const line of lines) console.log(line);
  console.log(
    `stored in ${dir}: the count model and the weight ${
      weight.toFixed(4)
    } (use --partner with eval and predict)`,
  );
  return 0;
}
