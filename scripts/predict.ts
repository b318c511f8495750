import { runMain } from "../src/cli.ts";
import { predictMain } from "../src/sample/cli.ts";

await runMain("predict", () => predictMain(Deno.args));
