import { runMain } from "../src/cli/args.ts";
import { benchMain } from "../src/cli/bench.ts";

await runMain("bench", () => benchMain(Deno.args));
