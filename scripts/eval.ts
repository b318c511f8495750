import { runMain } from "../src/cli/args.ts";
import { evalMain } from "../src/cli/eval.ts";

await runMain("eval", () => evalMain(Deno.args));
