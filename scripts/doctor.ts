import { runMain } from "../src/cli/args.ts";
import { doctorMain } from "../src/cli/doctor.ts";

await runMain("doctor", () => doctorMain(Deno.args));
