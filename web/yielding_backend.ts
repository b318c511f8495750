/**
 * A Backend that lets the page breathe while the core's training loop drives it: the loop queues steps
 * (trainStep is synchronous, and on the CPU reference it is the whole computation), so here they are held
 * and run one at a time when their losses are asked for, with a turn for the page (input, painting, the
 * pause button) before each. The same steps run in the same order, so the numbers are the unwrapped
 * backend's.
 */
import type { AdamHyper, Backend, DropoutSettings } from "../core.ts";
import { yieldToPage } from "./dom.ts";

export function yieldingBackend(inner: Backend): Backend {
  let held: Array<[number, number, AdamHyper, DropoutSettings | undefined]> = [];
  /** Runs the held steps, yielding before each; everything else first waits for them. */
  const drain = async () => {
    const steps = held;
    held = [];
    for (const [start, size, hyper, dropout] of steps) {
      await yieldToPage();
      inner.trainStep(start, size, hyper, dropout);
    }
  };
  /** `f`, once the held steps have run (every other call sees the state after them). */
  const after = async <T>(f: () => Promise<T>): Promise<T> => {
    await drain();
    return f();
  };
  return {
    name: inner.name,
    config: inner.config,
    setParams: (flat) => after(() => inner.setParams(flat)),
    getParams: () => after(() => inner.getParams()),
    setAdamState: (state) => after(() => inner.setAdamState(state)),
    getAdamState: () => after(() => inner.getAdamState()),
    setTrainData: (inputs, targets, count) => after(() => inner.setTrainData(inputs, targets, count)),
    setOrder: (order) => after(() => inner.setOrder(order)),
    trainStep(start: number, size: number, hyper: AdamHyper, dropout?: DropoutSettings): void {
      held.push([start, size, { ...hyper }, dropout && { ...dropout }]);
    },
    takeLosses: () => after(() => inner.takeLosses()),
    evalLoss: (inputs, targets, count) => after(() => inner.evalLoss(inputs, targets, count)),
    logits: (inputs, count) => after(() => inner.logits(inputs, count)),
    advance: (state, ids, count) => after(() => inner.advance(state, ids, count)),
    memoryBytes: () => inner.memoryBytes(),
    destroy(): void {
      held = [];
      inner.destroy();
    },
  };
}
