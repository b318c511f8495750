/// <reference lib="dom" />
/**
 * The Train section's fields and what they plan. The fields are train's flags that the core's table
 * (src/plan/train_flags.ts) gives a page label, one each, labelled with the flag and starting at its
 * default; their values go through the core's planner as `deno task train`'s command line does (the same
 * checks and messages, the same model, options and recorded flags). The page reads what the plan names:
 * the built-in corpus or a picked CSV, and --init's picked file.
 */
import {
  type BackendKind,
  buildDataset,
  BUILTIN_SOURCE,
  builtinHeadlines,
  checkTrainFlags,
  completeSettings,
  type Corpus,
  type Dataset,
  decodeModelFile,
  type FormField,
  formFields,
  formValues,
  headlineColumn,
  initParams,
  planData,
  planTraining,
  TRAIN_FLAGS,
  type TrainPlan,
  UserError,
} from "../core.ts";
import { byId, el } from "./dom.ts";

const FIELDS = formFields(TRAIN_FLAGS);
const input = (field: FormField) => byId<HTMLInputElement>(`train-${field.name}`);

/** Fills #train-fields: a text box per flag with a value, then a check box per on/off flag. */
export function buildTrainFields(): void {
  const ordered = [...FIELDS.filter((f) => !f.checkbox), ...FIELDS.filter((f) => f.checkbox)];
  byId("train-fields").replaceChildren(
    ...ordered.map((f) =>
      f.checkbox
        ? el(
          "label",
          { class: "check span2" },
          el("input", { id: `train-${f.name}`, type: "checkbox", checked: f.value === true }),
          f.label,
          el("small", {}, `--${f.name}`),
        )
        : el(
          "label",
          // A box wide enough to show what leaving it empty means.
          { class: f.placeholder.length > 20 ? "span2" : undefined },
          f.label,
          el("small", {}, `--${f.name}`),
          el("input", {
            id: `train-${f.name}`,
            type: "text",
            inputmode: f.numeric ? "decimal" : undefined,
            value: String(f.value),
            placeholder: f.placeholder,
          }),
        )
    ),
  );
  const data = byId<HTMLSelectElement>("train-data");
  data.addEventListener("change", () => byId("train-csv-label").hidden = data.value !== "csv");
}

/** A run the page can start: the data, the plan, the initial weights. */
export interface TrainSetup {
  data: Dataset;
  plan: TrainPlan;
  params: Float32Array;
}

/**
 * Reads and checks every field, then the data and the initial weights; the first problem is a one-line
 * UserError, before anything runs.
 */
export async function readTrainRun(backend: BackendKind): Promise<TrainSetup> {
  const values = formValues(FIELDS, (f) => f.checkbox ? input(f).checked : input(f).value);
  const init = byId<HTMLInputElement>("train-init").files?.[0];
  values.backend = backend;
  if (init) values.init = init.name;
  // Every field first, as the CLI checks every flag before it reads any data.
  checkTrainFlags(values);
  const picking = byId<HTMLSelectElement>("train-data").value === "csv";
  const csv = picking ? byId<HTMLInputElement>("train-csv").files?.[0] ?? null : null;
  if (picking && !csv) {
    throw new UserError("--data: pick a CSV file (with a headline column), or choose the built-in corpus");
  }
  const wanted = planData(values, {});
  if (!csv && wanted.column !== undefined) {
    throw new UserError("--column applies to a picked CSV file, not to the built-in corpus");
  }
  const corpus: Corpus = csv
    ? {
      source: csv.name,
      files: [csv.name],
      headlines: headlineColumn(new Uint8Array(await csv.arrayBuffer()), csv.name, wanted.column),
      column: wanted.column,
    }
    : { source: BUILTIN_SOURCE, files: [], headlines: builtinHeadlines() };
  const data = buildDataset(corpus, completeSettings(wanted));
  const plan = planTraining(values, undefined, data, { picked: csv?.name });
  const params = plan.init.kind === "file" && init
    ? decodeModelFile(init.name, new Uint8Array(await init.arrayBuffer()), plan.config).params
    : initParams(plan.config, plan.options.seed, plan.init.kind === "seed" ? plan.init.range : undefined);
  return { data, plan, params };
}
