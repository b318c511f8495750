/// <reference lib="dom" />
/**
 * Predict: the prompt box and top-k field, the next words with their probabilities as a list and as bars,
 * updated as the person types. The prompt is read by the core's encodePrompt and the words come from the
 * core's predictNext, exactly as `deno task predict --top-k K` gets them; what stops a prediction (a prompt
 * shorter than the model's window, a word the vocabulary lacks) is explained inline under the box.
 */
import {
  type BackendKind,
  checkTopK,
  encodePrompt,
  errorLine,
  modelKind,
  numberFlag,
  predictNext,
  specialIds,
  UNK_TOKEN,
  UserError,
} from "../core.ts";
import type { ModelRunner } from "./backends.ts";
import { byId, el, fieldText } from "./dom.ts";
import { barChart } from "./bar_chart.ts";
import type { LinkState } from "./links.ts";
import { showError } from "./messages.ts";

/** The list's length when the page is opened without k=. */
export const DEFAULT_TOP_K = 5;
/** Typing pauses this long before a prediction runs, so a fast typist does not queue one per key. */
const DEBOUNCE_MS = 120;
const SLOW_AFTER_MS = 800;
const SLOW_NOTE = "computing… (a software adapter compiles each kernel on its first use: the first " +
  "prediction can take a minute, later ones are quick)";

export interface PredictDeps {
  runner: ModelRunner;
  kind(): BackendKind;
  link: LinkState;
  publish(): void;
}

/**
 * The section's state, for people (the note) and for tests (data-state on #predict: "empty", "busy",
 * "note", "done", "error"; data-for: the prompt the shown result belongs to).
 */
type State = "empty" | "busy" | "note" | "done" | "error";

export interface PredictView {
  /** Predicts for what the fields hold now; resolves once it is shown. */
  refresh(): Promise<void>;
}

export function setupPredict(deps: PredictDeps): PredictView {
  const section = byId("predict");
  const prompt = byId<HTMLInputElement>("prompt");
  const topK = byId<HTMLInputElement>("top-k");
  const note = byId("predict-note");
  const list = byId<HTMLOListElement>("predict-list");
  const chart = byId("predict-chart");
  const share = byId<HTMLAnchorElement>("share-link");
  const time = byId("predict-time");
  topK.value = String(DEFAULT_TOP_K);
  let request = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const show = (state: State, text: string, forPrompt: string) => {
    section.dataset.state = state;
    section.dataset.for = forPrompt;
    note.textContent = text;
    note.hidden = text === "";
    if (state !== "done") {
      list.replaceChildren();
      chart.replaceChildren();
    }
  };

  const refresh = async () => {
    clearTimeout(timer);
    const mine = ++request;
    const text = prompt.value;
    deps.link.prompt = text.trim() === "" ? undefined : text;
    deps.link.k = fieldText(topK) === String(DEFAULT_TOP_K) ? undefined : fieldText(topK);
    deps.publish();
    share.href = location.href;
    share.textContent = decodeURIComponent(location.search) || "(this page)";
    const model = deps.runner.model;
    if (text.trim() === "") return show("empty", "", text);
    if (!model) {
      return show("note", "load a model to predict: open its files above, or train one below", text);
    }
    const { vocab, config } = model.checkpoint;
    // As predict: "<s>" (a boundaries model's start) is never proposed, nor counted among the top-k's words.
    const banned = specialIds(vocab).banned;
    let k: number;
    let context: Int32Array;
    let unknown: string[];
    try {
      k = numberFlag("top-k", fieldText(topK), DEFAULT_TOP_K, "positive integer");
      checkTopK(k, config.vocab, banned);
      ({ context, unknown } = encodePrompt(text, vocab, config.window, modelKind(config)));
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      return show("note", errorLine(e), text);
    }
    section.dataset.state = "busy";
    // A software adapter compiles each kernel on its first use: say so if the first pass takes a while.
    const slow = setTimeout(() => {
      if (mine === request) show("busy", SLOW_NOTE, text);
    }, SLOW_AFTER_MS);
    let next;
    let ms = 0;
    try {
      next = await deps.runner.run(deps.kind(), async (backend) => {
        const t0 = performance.now(); // the pass alone: not the wait for a backend or earlier calls
        const result = await predictNext(backend, [context], k, banned);
        ms = performance.now() - t0;
        return result;
      });
    } catch (e) {
      if (mine === request) {
        show("error", "", text);
        showError(e);
      }
      return;
    } finally {
      clearTimeout(slow);
    }
    if (mine !== request) return; // the person typed on meanwhile: a newer prediction is coming
    const words = Array.from(next[0].ids, (id) => vocab[id]);
    const probs = Array.from(next[0].probs);
    list.replaceChildren(
      ...words.map((w, i) =>
        el(
          "li",
          { "data-word": w, "data-prob": probs[i] },
          el("span", { class: "p" }, probs[i].toFixed(4)),
          w,
        )
      ),
    );
    chart.replaceChildren(barChart(words, probs));
    section.dataset.ms = ms.toFixed(2);
    time.textContent = `· computed in ${ms < 10 ? ms.toFixed(1) : ms.toFixed(0)} ms on ${
      deps.kind() === "cpu" ? "the CPU reference" : "WebGPU"
    }`;
    show(
      "done",
      unknown.length ? `not in the vocabulary, read as ${UNK_TOKEN}: ${unknown.join(", ")}` : "",
      text,
    );
  };

  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), DEBOUNCE_MS);
  };
  prompt.addEventListener("input", later);
  topK.addEventListener("input", later);
  return { refresh };
}
