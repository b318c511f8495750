/**
 * src/errors.ts: a message names settings and each host spells them (words by default, flags in the CLIs);
 * errorLine is the one way a thrown value becomes a line; DeviceLostError words a lost device alike for
 * the backend and doctor. The CLIs' own lines are asserted where they are printed (train_cli_test's
 * "try a lower --lr", eval_cli_test's --val-fraction, predict_cli_test's --top-k).
 */
import { assert, assertEquals } from "./assert.ts";
import {
  asFlag,
  DeviceLostError,
  errorLine,
  inWords,
  setting,
  spell,
  USAGE_EXIT,
  UserError,
  words,
} from "../src/errors.ts";
import { CPU_BACKEND } from "../src/model/backend_kind.ts";

Deno.test("a message's settings: in words by default, as flags where the CLIs ask", () => {
  const lr = setting("lr", "learning rate");
  const e = new UserError(words`loss became ${NaN} at step ${3}: try a lower ${lr}`);
  assertEquals(e.message, "loss became NaN at step 3: try a lower learning rate");
  assertEquals(errorLine(e), e.message);
  assertEquals(errorLine(e, asFlag), "loss became NaN at step 3: try a lower --lr");
  assertEquals(errorLine(e, (s) => `"${s.words}"`), 'loss became NaN at step 3: try a lower "learning rate"');
  // A suggested value goes with the flag; a setting without words reads as its name (and value).
  assertEquals(spell(words`use ${CPU_BACKEND}`, asFlag), "use --backend cpu");
  assertEquals(spell(words`use ${CPU_BACKEND}`, inWords), "use the CPU backend");
  assertEquals(spell(words`with ${setting("window", undefined, "3")}`), "with window 3");
  assertEquals(spell(words`with ${setting("window", undefined, "3")}`, asFlag), "with --window 3");
  // Text-only messages and exit codes are as they were.
  const usage = new UserError("bad flag", USAGE_EXIT);
  assertEquals([usage.message, usage.exitCode, usage.parts], ["bad flag", USAGE_EXIT, ["bad flag"]]);
  // A prefix keeps the settings of the message it wraps.
  const wrapped = new UserError(["--sample-prompts: ", ...e.parts]);
  assertEquals(errorLine(wrapped, asFlag), "--sample-prompts: loss became NaN at step 3: try a lower --lr");
});

Deno.test("errorLine: any thrown value as its first non-blank line", () => {
  assertEquals(errorLine(new Error("\n  first\nsecond")), "first");
  assertEquals(errorLine("a string"), "a string");
  assertEquals(errorLine(42), "42");
  assertEquals(errorLine(new Error("")), "(no message)");
  assertEquals(errorLine(new UserError(words`a\n${setting("lr")} b`), asFlag), "a");
});

Deno.test("DeviceLostError: one wording for the backend and doctor, the reason kept", () => {
  const lost = new DeviceLostError("destroyed", "Device was destroyed.\nmore");
  assert(lost instanceof Error && lost.name === "DeviceLostError");
  assertEquals(lost.reason, "destroyed");
  assertEquals(lost.message, "the GPU device was lost (destroyed): Device was destroyed.");
  assertEquals(
    new DeviceLostError("unknown", "", "the softmax check").message,
    "the GPU device was lost (unknown) during the softmax check: no details",
  );
});
