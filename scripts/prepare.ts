import { runMain } from "../src/cli/args.ts";
import { prepareMain } from "../src/cli/prepare.ts";

await runMain("prepare", () => prepareMain(Deno.args));
