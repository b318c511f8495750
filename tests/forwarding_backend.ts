/** A Backend that forwards every call to another: tests extend it to watch or interfere with some calls. */
import type { Backend } from "../src/model/backend.ts";
import type { AdamHyper, AdamState } from "../src/model/optimizer.ts";
import type { DropoutSettings } from "../src/model/dropout.ts";

export class ForwardingBackend implements Backend {
  constructor(readonly inner: Backend) {}
  get name() {
    return this.inner.name;
  }
  get config() {
    return this.inner.config;
  }
  setParams(flat: Float32Array) {
    return this.inner.setParams(flat);
  }
  getParams() {
    return this.inner.getParams();
  }
  setAdamState(s: AdamState) {
    return this.inner.setAdamState(s);
  }
  getAdamState() {
    return this.inner.getAdamState();
  }
  setTrainData(inputs: Int32Array, targets: Int32Array, count: number) {
    return this.inner.setTrainData(inputs, targets, count);
  }
  setOrder(order: Int32Array) {
    return this.inner.setOrder(order);
  }
  trainStep(start: number, size: number, hyper: AdamHyper, dropout?: DropoutSettings) {
    this.inner.trainStep(start, size, hyper, dropout);
  }
  takeLosses() {
    return this.inner.takeLosses();
  }
  evalLoss(inputs: Int32Array, targets: Int32Array, count: number) {
    return this.inner.evalLoss(inputs, targets, count);
  }
  logits(inputs: Int32Array, count: number) {
    return this.inner.logits(inputs, count);
  }
  advance(state: Float32Array | null, ids: Int32Array, count: number) {
    return this.inner.advance(state, ids, count);
  }
  memoryBytes() {
    return this.inner.memoryBytes();
  }
  destroy() {
    this.inner.destroy();
  }
}
