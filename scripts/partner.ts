import { runMain } from "../src/cli/args.ts";
import { partnerMain } from "../src/cli/partner.ts";

await runMain("partner", () => partnerMain(Deno.args));
