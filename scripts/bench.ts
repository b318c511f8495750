import { runMain } from "../src/cli.ts";
import { benchMain } from "../src/bench/cli.ts";

await runMain("bench", () => benchMain(Deno.args));
