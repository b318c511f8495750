import { runMain } from "../src/cli/args.ts";
import { predictMain } from "../src/cli/predict.ts";

await runMain("predict", () => predictMain(Deno.args));
