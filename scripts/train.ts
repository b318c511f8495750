import { runMain } from "../src/cli.ts";
import { trainMain } from "../src/train/cli.ts";

await runMain("train", () => trainMain(Deno.args));
