/**
 * GPU time per kernel of real work (a training step, a predicted word), for the bench's account of where a
 * step's time goes: while a KernelProfile is attached to a Gpu (`Gpu.profile`), every kernel the Gpu submits
 * runs in a compute pass of its own with timestamps at the pass's start and end (the `timestamp-query`
 * feature), and `read` adds them up by kernel label. The sum over a step is its kernel time; the step's wall
 * time minus it is the fixed cost (submits, readbacks, the driver's passes, the host).
 *
 * Profiling changes what it measures a little (one pass per kernel instead of one per submit), so counts of
 * passes are taken without it (src/gpu/device.ts's GpuCounts).
 */

/** Kernels' GPU milliseconds, summed by label, and how many dispatches each label had. */
export interface KernelTimes {
  /** Total GPU milliseconds of every profiled dispatch. */
  totalMs: number;
  /** Per kernel label (a shader's builder label: "fc2 forward", "lstm l0 seq", ...), largest first. */
  byLabel: Array<{ label: string; ms: number; dispatches: number }>;
}

/** One submit's timestamps: its kernels' labels in order, and where their resolved stamps are copied. */
interface Pending {
  labels: string[];
  querySet: GPUQuerySet;
  resolved: GPUBuffer;
  staging: GPUBuffer;
}

/** Timestamps of every kernel submitted while attached, read back and summed by `read`. */
export class KernelProfile {
  readonly #device: GPUDevice;
  #pending: Pending[] = [];

  /** Throws unless the device has `timestamp-query` (profile-less devices report no kernel time). */
  constructor(device: GPUDevice) {
    if (!device.features.has("timestamp-query")) {
      throw new Error("kernel profiling needs the timestamp-query feature");
    }
    this.#device = device;
  }

  /**
   * Encodes `kernels` into `enc`, each in its own timestamped pass, and the copy of their stamps to a mapped
   * buffer after them: `encodeOne(pass, kernel)` records one dispatch.
   */
  encode<K extends { label: string }>(
    enc: GPUCommandEncoder,
    kernels: readonly K[],
    encodeOne: (pass: GPUComputePassEncoder, kernel: K) => void,
  ): void {
    const count = kernels.length * 2;
    const device = this.#device;
    const querySet = device.createQuerySet({ type: "timestamp", count });
    kernels.forEach((k, i) => {
      const pass = enc.beginComputePass({
        timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
      });
      encodeOne(pass, k);
      pass.end();
    });
    const bytes = count * 8;
    const resolved = device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const staging = device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    enc.resolveQuerySet(querySet, 0, count, resolved, 0);
    enc.copyBufferToBuffer(resolved, 0, staging, 0, bytes);
    this.#pending.push({ labels: kernels.map((k) => k.label), querySet, resolved, staging });
  }

  /** Every kernel profiled since the last read (waiting for the GPU to finish them), and forgets them. */
  async read(): Promise<KernelTimes> {
    const pending = this.#pending;
    this.#pending = [];
    const byLabel = new Map<string, { ms: number; dispatches: number }>();
    let totalMs = 0;
    try {
      for (const p of pending) {
        await p.staging.mapAsync(GPUMapMode.READ);
        const stamps = new BigUint64Array(p.staging.getMappedRange().slice(0));
        p.staging.unmap();
        p.labels.forEach((label, i) => {
          // Nanoseconds; a pass whose end precedes its start (a driver's clock quirk) counts nothing.
          const ms = Math.max(0, Number(stamps[2 * i + 1] - stamps[2 * i])) / 1e6;
          const entry = byLabel.get(label) ?? { ms: 0, dispatches: 0 };
          entry.ms += ms;
          entry.dispatches++;
          byLabel.set(label, entry);
          totalMs += ms;
        });
      }
    } finally {
      for (const p of pending) {
        p.querySet.destroy();
        p.resolved.destroy();
        p.staging.destroy();
      }
    }
    const rows = [...byLabel].map(([label, e]) => ({ label, ...e })).sort((a, b) => b.ms - a.ms);
    return { totalMs, byLabel: rows };
  }
}
