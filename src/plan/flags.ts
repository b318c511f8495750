/**
 * Flags declared as data. A command's flags are one table (a FlagTable): for each flag its name, what
 * values it takes, its default, its help, its label in the web page, whether it sets the model and whether
 * a run records it for --resume. What is derived from the table lives here (parseArgs options, values read
 * and checked whatever their source: the command line, a config file, recorded flags, page fields) and in
 * flag_help.ts (--help), config_file.ts (--config FILE) and form_fields.ts (the page's fields).
 */
import { USAGE_EXIT, UserError } from "../errors.ts";
import { choiceFlag, type NumberCheck, numberFlag } from "../flag_values.ts";
import type { ModelConfig } from "../model/config.ts";

/** What values a flag takes: a number (its check), free text, on/off, or one of a few words. */
export type FlagKind = NumberCheck | "text" | "boolean" | readonly string[];

/** One flag: what it takes, its default and help, and what it does beyond its value. */
export interface FlagSpec {
  /** What values it takes. */
  kind: FlagKind;
  /** The heading --help lists it under. */
  group: string;
  /** What it does, for --help (wrapped there; the default is appended). */
  help: string;
  /** The value's placeholder in --help ("N", "PATH"); booleans have none. */
  arg?: string;
  /** The value when none is given; also what --help says and the page's field starts with. */
  default?: number | string | boolean;
  /** How --help and the page's placeholder say the default where it is not one value ("no limit"). */
  defaultText?: string;
  /** The largest value a number flag takes. */
  max?: number;
  /** A boolean flag that is on by default: the command line also takes --no-NAME. */
  negatable?: boolean;
  /** Its one-letter alias on the command line ("h" for --help). */
  short?: string;
  /** The label of its field in the web page; absent: the page has no field for it. */
  label?: string;
  /** The ModelConfig field it sets: a resumed run keeps the checkpoint's and refuses another value. */
  model?: keyof ModelConfig;
  /** Recorded in the checkpoint's config.json, so that --resume takes it on. */
  recorded?: boolean;
  /** False for the flags a config file cannot set (--help, --config). */
  inConfig?: boolean;
}

/** A command's flags: name (without dashes) -> what it is. */
export type FlagTable = Readonly<Record<string, FlagSpec>>;

/**
 * Flag values as given (before parsing): text for flags that take a value, true/false for booleans; absent
 * when not given.
 */
export type FlagValues = Partial<Record<string, string | boolean>>;

/** The type of a flag's parsed value, from its kind: a number, text, on/off, or one of its words. */
export type FlagValueOf<K> = K extends "boolean" ? boolean
  : K extends "text" ? string
  : K extends readonly (infer C)[] ? C
  : number;

/** A table's flags parsed: a flag without a default and not given is undefined; a boolean is false. */
export type Settings<T extends FlagTable> = {
  -readonly [N in keyof T]:
    | FlagValueOf<T[N]["kind"]>
    | (T[N] extends { default: unknown } ? never : T[N]["kind"] extends "boolean" ? never : undefined);
};

/** node:util parseArgs options for the table (values come as text and booleans: see FlagValues). */
export function parseArgsOptions(
  table: FlagTable,
): Record<string, { type: "string" | "boolean"; short?: string }> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, spec] of Object.entries(table)) {
    options[name] = { type: spec.kind === "boolean" ? "boolean" : "string" };
    if (spec.short) options[name].short = spec.short;
    if (spec.negatable) options[`no-${name}`] = { type: "boolean" };
  }
  return options;
}

/**
 * Command-line values as the table holds them: --no-NAME becomes NAME false (given with --NAME too, the
 * two contradict).
 */
export function commandLineValues(table: FlagTable, given: Record<string, unknown>): FlagValues {
  const values: FlagValues = {};
  for (const [name, value] of Object.entries(given)) {
    if (typeof value === "string" || typeof value === "boolean") values[name] = value;
  }
  for (const [name, spec] of Object.entries(table)) {
    if (!spec.negatable || values[`no-${name}`] === undefined) continue;
    if (values[name] === true) {
      throw new UserError(`--${name} and --no-${name} contradict`, USAGE_EXIT);
    }
    values[name] = !values[`no-${name}`];
    delete values[`no-${name}`];
  }
  return values;
}

/** One flag's value parsed by its kind; undefined: its default (false for a boolean without one). */
export function flagValue(name: string, spec: FlagSpec, raw: string | boolean | undefined): unknown {
  if (raw === undefined) return spec.kind === "boolean" ? spec.default ?? false : spec.default;
  if (spec.kind === "boolean") {
    if (typeof raw !== "boolean") throw new UserError(`--${name} takes no value, got "${raw}"`, USAGE_EXIT);
    return raw;
  }
  if (typeof raw !== "string") throw new UserError(`--${name} needs a value`, USAGE_EXIT);
  if (spec.kind === "text") return raw;
  if (typeof spec.kind !== "string") return choiceFlag(name, raw, raw, spec.kind);
  const n = numberFlag(name, raw, 0, spec.kind);
  if (spec.max !== undefined && n > spec.max) {
    throw new UserError(`--${name} must be at most ${spec.max}, got ${n}`, USAGE_EXIT);
  }
  return n;
}

/** Every flag of the table parsed from `values` (see Settings); the first bad value is a UserError. */
export function parseFlagValues<T extends FlagTable>(table: T, values: FlagValues): Settings<T> {
  const settings: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) settings[name] = flagValue(name, spec, values[name]);
  return settings as Settings<T>;
}

/**
 * Recorded flags (config.json's train record: numbers, text, booleans) as values the table takes; entries
 * that are not the table's flags (the data's description) are left out.
 */
export function recordedValues(table: FlagTable, recorded: Record<string, unknown>): FlagValues {
  const values: FlagValues = {};
  for (const [name, spec] of Object.entries(table)) {
    const value = recorded[name];
    if (value === undefined || value === null) continue;
    values[name] = spec.kind === "boolean" ? Boolean(value) : String(value);
  }
  return values;
}

/** The settings a run records for --resume: the table's recorded flags. */
export function recordedSettings(
  table: FlagTable,
  settings: Record<string, unknown>,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(table).filter(([, spec]) => spec.recorded).map(([name]) => [name, settings[name]]),
  );
}
