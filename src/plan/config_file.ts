/**
 * Flags from a config file (`train --config FILE.json`): a JSON object whose keys are flag names without
 * dashes and whose values are what the command line would give (text or numbers for flags with a value,
 * true/false for on/off flags). Every value is checked here as its flag checks it, so a bad file fails with
 * one line naming it before anything runs. The command line wins over the file (the caller merges them).
 */
import { errorLine, USAGE_EXIT, UserError } from "../errors.ts";
import { commandLineValues, type FlagTable, flagValue, type FlagValues } from "./flags.ts";

/** The flag values `text` (the file's contents) sets; `file` names the file in errors. */
export function configFileValues(text: string, file: string, table: FlagTable): FlagValues {
  const fail = (why: string): never => {
    throw new UserError(`${file}: ${why}`, USAGE_EXIT);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    fail(`not JSON: ${errorLine(e)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    fail(`not a JSON object: give flags as {"name": value}, e.g. {"epochs": 5, "boundaries": true}`);
  }
  const values: FlagValues = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const negated = key.startsWith("no-") ? table[key.slice(3)] : undefined;
    const spec = table[key] ?? (negated?.negatable ? { ...negated, negatable: false } : undefined);
    if (!spec || spec.inConfig === false) fail(`unknown flag "${key}" (keys are flag names without dashes)`);
    const kind = spec!.kind;
    const number = typeof kind === "string" && kind !== "text" && kind !== "boolean";
    const wanted = kind === "boolean" ? "true or false" : number ? "a number" : "a string";
    const fits = kind === "boolean"
      ? typeof value === "boolean"
      : typeof value === "string" || (number && typeof value === "number");
    if (!fits) fail(`"${key}" must be ${wanted}, got ${JSON.stringify(value)}`);
    const raw = typeof value === "number" ? String(value) : value as string | boolean;
    try {
      flagValue(key, spec!, raw);
    } catch (e) {
      fail(errorLine(e));
    }
    values[key] = raw;
  }
  try {
    return commandLineValues(table, values);
  } catch (e) {
    return fail(errorLine(e));
  }
}
