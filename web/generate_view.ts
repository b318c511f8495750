/// <reference lib="dom" />
/**
 * Generate: headlines from the prompt box, with the flags of `deno task predict --generate` as fields
 * (words, samples, temperature, top-p, top-k, seed, stop at <unk>). The texts come from the core's
 * generateHeadlines, so a seed gives here the very headlines the CLI prints for it on the same backend.
 * Without a seed one is drawn and shown, so the result can be repeated (and linked to).
 */
import {
  type BackendKind,
  checkTopK,
  encodePrompt,
  generateHeadlines,
  GENERATION_DEFAULTS,
  modelKind,
  planSampling,
  specialIds,
  UserError,
} from "../core.ts";
import type { ModelRunner } from "./backends.ts";
import { byId, el, fieldText } from "./dom.ts";
import type { LinkState } from "./links.ts";
import { reporting } from "./messages.ts";

/** What the page offers before anyone changes it (predict has no default for --generate N). */
const PAGE_DEFAULTS = { words: 6, count: 3 };

export interface GenerateDeps {
  runner: ModelRunner;
  kind(): BackendKind;
  link: LinkState;
  publish(): void;
}

export interface GenerateView {
  /** Fills the fields from a link's parameters. */
  fromLink(link: LinkState): void;
  /** Generates from what the fields hold; resolves once shown (errors go to the error line). */
  generate(): Promise<boolean>;
}

export function setupGenerate(deps: GenerateDeps): GenerateView {
  const section = byId("generate");
  const input = (id: string) => byId<HTMLInputElement>(id);
  const words = input("gen-words");
  const count = input("gen-count");
  const temperature = input("gen-temperature");
  const topP = input("gen-top-p");
  const topK = input("gen-top-k");
  const seed = input("gen-seed");
  const stopAtUnk = input("gen-stop-unk");
  const prompt = input("prompt");
  const output = byId<HTMLOListElement>("gen-output");
  const button = byId<HTMLButtonElement>("generate-button");
  words.value = String(PAGE_DEFAULTS.words);
  count.value = String(PAGE_DEFAULTS.count);
  temperature.value = String(GENERATION_DEFAULTS.temperature);
  topP.value = String(GENERATION_DEFAULTS.topP);

  const generate = () =>
    reporting(async () => {
      section.dataset.state = "busy";
      output.replaceChildren();
      try {
        const model = deps.runner.model;
        if (!model) throw new UserError("no model loaded: open model files, or train one");
        const { vocab, config } = model.checkpoint;
        // The fields as predict's flags: the same checks and messages (an empty field: the flag's default).
        const task = planSampling({
          generate: fieldText(words) ?? String(PAGE_DEFAULTS.words),
          count: fieldText(count),
          temperature: fieldText(temperature),
          "top-p": fieldText(topP),
          "top-k": fieldText(topK),
          seed: fieldText(seed),
          "stop-at-unk": stopAtUnk.checked,
        });
        checkTopK(task.topK, config.vocab, specialIds(vocab).banned);
        const s = task.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
        const p = encodePrompt(prompt.value, vocab, config.window, modelKind(config));
        const texts = await deps.runner.run(deps.kind(), (backend) =>
          generateHeadlines(backend, [p], vocab, task, s));
        seed.value = String(s); // a drawn seed is shown, so the result can be repeated
        output.replaceChildren(...texts[0].map((t) =>
          el("li", {}, t)
        ));
        Object.assign(deps.link, {
          generate: String(task.steps),
          count: String(task.count),
          temperature: String(task.temperature),
          "top-p": String(task.topP),
          "top-k": task.topK === undefined ? undefined : String(task.topK),
          seed: String(s),
          "stop-at-unk": task.stopAtUnk ? "1" : undefined,
        });
        deps.publish();
        section.dataset.state = "done";
      } catch (e) {
        section.dataset.state = "error";
        throw e;
      }
    });

  button.addEventListener("click", () => void generate());
  return {
    fromLink(link) {
      if (link.generate !== undefined) words.value = link.generate;
      if (link.count !== undefined) count.value = link.count;
      if (link.temperature !== undefined) temperature.value = link.temperature;
      if (link["top-p"] !== undefined) topP.value = link["top-p"];
      if (link["top-k"] !== undefined) topK.value = link["top-k"];
      if (link.seed !== undefined) seed.value = link.seed;
      stopAtUnk.checked = link["stop-at-unk"] === "1";
    },
    generate,
  };
}
