import { runMain } from "../src/cli/args.ts";
import { serveMain } from "../src/cli/serve.ts";

await runMain("serve", () => serveMain(Deno.args));
