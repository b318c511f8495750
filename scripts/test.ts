import { runMain } from "../src/cli/args.ts";
import { testMain } from "../src/cli/test.ts";

await runMain("test", () => testMain(Deno.args.length ? Deno.args : ["tests/"]));
