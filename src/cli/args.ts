/** What every CLI shares: running a main with one-line errors, and flag parsing with one-line usage errors. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { asFlag, errorLine, USAGE_EXIT, UserError } from "../errors.ts";

/**
 * Runs a script's main function and turns every failure into one line on stderr and a non-zero exit, the
 * settings its message names written as flags (`--lr`). Set WEBGPU_LSTM_DEBUG=1 to see the stack of an
 * unexpected error.
 */
export async function runMain(name: string, main: () => Promise<number | void>): Promise<never> {
  let code = 0;
  try {
    code = (await main()) ?? 0;
  } catch (e) {
    console.error(`${name}: error: ${errorLine(e, asFlag)}`);
    if (debugWanted() && e instanceof Error) console.error(e.stack);
    code = e instanceof UserError ? e.exitCode : 1;
  }
  Deno.exit(code);
}

/** WEBGPU_LSTM_DEBUG=1, read only where the script may read it (prepare runs without --allow-env). */
function debugWanted(): boolean {
  const variable = "WEBGPU_LSTM_DEBUG";
  return Deno.permissions.querySync({ name: "env", variable }).state === "granted" &&
    Deno.env.get(variable) === "1";
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util parseArgs with one-line UserErrors (exit 2) for unknown flags and missing values. */
export function parseFlags<T extends Options>(
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UserError(errorLine(e), USAGE_EXIT);
  }
}

// Numeric flag values are parsed in the core, so a web page's fields read them with the same rules and words.
export { type NumberCheck, numberFlag } from "../flag_values.ts";
