import { runMain } from "../src/cli/args.ts";
import { trainMain } from "../src/cli/train.ts";

await runMain("train", () => trainMain(Deno.args));
