import { runMain } from "../src/cli/args.ts";
import { mutateMain } from "../src/cli/mutate.ts";

await runMain("mutate", () => mutateMain(Deno.args));
