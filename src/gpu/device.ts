/// <reference types="@webgpu/types" />
/**
 * The WebGPU runtime: one device, named buffers, pipelines built from the WGSL sources in shaders/ (through
 * src/gpu/preprocess.ts: includes, //#if blocks, {{SLOT}} values) and cached by shader + values, and
 * compile/validation errors raised with the shader's file name. Everything above this file speaks in
 * `BufferSlice`s and `Kernel`s. Platform-neutral: it runs wherever `navigator.gpu` does (Deno, a browser).
 */
import { firstLine } from "../errors.ts";
import { preprocessShader, type ShaderValues } from "./preprocess.ts";
import type { KernelProfile } from "./profile.ts";
import { SHADER_SOURCES } from "./shaders.ts";

/** What we tell the user when WebGPU has no adapter at all, where no CPU fallback exists (doctor). */
export const NO_ADAPTER =
  "no WebGPU adapter found: install a GPU driver or Mesa's software one (Debian: apt-get install -y " +
  "mesa-vulkan-drivers, best from bookworm-backports)";

/** WebGPU found no adapter (no driver, or no software one): there is no GPU to run on. */
export class NoAdapterError extends Error {
  constructor() {
    super(NO_ADAPTER);
    this.name = "NoAdapterError";
  }
}

/** What a device's adapter is: its names, its WebGPU backend and level, its features. */
export interface AdapterSummary {
  /** The adapter's description (its device name where it has none). */
  description: string;
  /** The vendor, as the adapter reports it. */
  vendor: string;
  /** The architecture, as the adapter reports it. */
  architecture: string;
  /** Which of the platform's WebGPU backends: "vulkan", "gl", ... (Deno's DENO_WEBGPU_BACKEND), "default". */
  backend: string;
  /** Whether the adapter is a fallback (software) one, as WebGPU says. */
  isFallbackAdapter: boolean;
  /**
   * The device's WebGPU feature level: "core", or "compatibility" (an adapter that offers only the
   * restricted level, e.g. Mesa's lavapipe through Chromium's OpenGL ES path).
   */
  featureLevel: "core" | "compatibility";
  /** Every feature the adapter offers, sorted (the device enables only those the kernels use). */
  features: string[];
}

/** The adapter's identity in the snake-case JSON of bench and doctor reports. */
export function adapterJson(a: AdapterSummary) {
  return {
    description: a.description,
    vendor: a.vendor,
    architecture: a.architecture,
    backend: a.backend,
    fallback: a.isFallbackAdapter,
  };
}

/**
 * The workgroup width the wide kernels want (Adam, the softmax rows' reductions, the LSTM backward's units):
 * WebGPU's default limit; a device that allows less gets `Gpu.reductionWidth` of it.
 */
export const WIDE_WORKGROUP = 256;

/** A range of a GPU buffer, the unit every kernel binds. Offsets are bytes, 256-aligned. */
export interface BufferSlice {
  /** The buffer. */
  buffer: GPUBuffer;
  /** Where the range starts, in bytes. */
  offset: number;
  /** The range's length, in bytes. */
  size: number;
}

export function whole(buffer: GPUBuffer): BufferSlice {
  return { buffer, offset: 0, size: buffer.size };
}

/** A sub-range of a slice, in floats (4-byte elements). */
export function subSlice(s: BufferSlice, startFloats: number, countFloats: number): BufferSlice {
  const offset = s.offset + startFloats * 4;
  if (offset + countFloats * 4 > s.offset + s.size) {
    throw new Error(`subSlice out of range: ${startFloats}+${countFloats} floats in ${s.size} bytes`);
  }
  return { buffer: s.buffer, offset, size: countFloats * 4 };
}

/** How Gpu.open asks for a device, and what it reports. */
export interface GpuOptions {
  /**
   * Pretend the storage binding limit is this many bytes (tests use it to exercise kernels that split
   * tensors larger than one binding without allocating hundreds of MiB).
   */
  maxStorageBindingBytes?: number;
  /** The platform's name for the WebGPU backend in use, reported in AdapterSummary.backend. */
  backend?: string;
  /** Shader sources to use instead of (or beside) shaders/*.wgsl, by name: tests plant faulty kernels. */
  shaders?: Readonly<Record<string, string>>;
  /**
   * "compatibility" also accepts an adapter that offers only WebGPU's compatibility level (browsers need it
   * for lavapipe through ANGLE, whose plain request gets another adapter or none); the device is still
   * core whenever the adapter offers core. Default: a plain request, as Deno makes it.
   */
  featureLevel?: "core" | "compatibility";
}

/**
 * Limits the kernels rely on, raised from the device defaults up to what the adapter allows. A device
 * requested without them gets the defaults, which at the compatibility level are low (lavapipe through
 * ANGLE: 128 invocations per workgroup, 16 KiB uniform bindings, 8 storage buffers per stage).
 */
const WANTED_LIMITS = {
  maxStorageBufferBindingSize: Infinity,
  maxBufferSize: Infinity,
  maxStorageBuffersPerShaderStage: Infinity,
  maxComputeWorkgroupStorageSize: Infinity,
  // The widest workgroups (softmax rows, Adam) have 256 invocations; more is never used.
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  // The staged GEMM reads A through one 64 KiB uniform window (src/gpu/matmul.ts).
  maxUniformBufferBindingSize: 65536,
} as const;

/** What to ask requestDevice for: each wanted limit, capped by the adapter's. */
export function requiredLimits(adapterLimits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, wanted] of Object.entries(WANTED_LIMITS)) {
    out[name] = Math.min(wanted, adapterLimits[name as keyof typeof WANTED_LIMITS]);
  }
  return out;
}

/** One recorded dispatch: a pipeline, its bind group and a grid of workgroups. */
export interface Kernel {
  /** The compute pipeline. */
  pipeline: GPUComputePipeline;
  /** Its bindings. */
  bindGroup: GPUBindGroup;
  /** The dispatch's grid of workgroups. */
  workgroups: [number, number, number];
  /** Shader file name, for error messages and per-kernel timing. */
  label: string;
  /**
   * A dispatch that does nothing while perStep x the `steps` last written to `uniform` (a StepParams) is at
   * most `from`: a GEMM block past a step's rows. Whoever knows those values may leave it out of a submit
   * (GpuModel.active); sent anyway, it still computes nothing.
   */
  idleUnless?: { uniform: GPUBuffer; perStep: number; from: number };
}

/**
 * `kernels` less those that do nothing at the `steps` last written to the StepParams uniforms given
 * (Kernel.idleUnless); a kernel keyed to a uniform not given stays.
 */
export function activeKernels(kernels: Kernel[], steps: ReadonlyMap<GPUBuffer, number>): Kernel[] {
  return kernels.filter((k) => {
    const idle = k.idleUnless;
    const written = idle && steps.get(idle.uniform);
    return written === undefined || idle!.perStep * written > idle!.from;
  });
}

/**
 * What a Gpu has sent to its device since it opened: the fixed costs of a step or a predicted word, counted
 * where they happen (encode, submit, read, write) rather than by hand. Snapshot before and after with
 * `Gpu.counts` and subtract with `countsSince`.
 */
export interface GpuCounts {
  /** Compute dispatches encoded. */
  dispatches: number;
  /** Compute passes encoded. */
  passes: number;
  /** Command buffers submitted to the queue (each `submit`, each readback's own when it has no kernels). */
  submits: number;
  /** Readbacks: buffers mapped for reading, each a round trip the host waits for. */
  readbacks: number;
  /** queue.writeBuffer calls (uploads land before the next submit, in it). */
  writes: number;
}

/** `now - before`, field by field. */
export function countsSince(before: GpuCounts, now: GpuCounts): GpuCounts {
  return {
    dispatches: now.dispatches - before.dispatches,
    passes: now.passes - before.passes,
    submits: now.submits - before.submits,
    readbacks: now.readbacks - before.readbacks,
    writes: now.writes - before.writes,
  };
}

/** The feature whose presence on an adapter means it offers core WebGPU (Chromium names it so). */
const CORE_FEATURE = "core-features-and-limits";

/**
 * One WebGPU device and what runs on it: buffers, pipelines from the WGSL sources (cached), dispatches,
 * readbacks, and the device's loss and uncaptured errors. Gpu.open makes one.
 */
export class Gpu {
  /** The device. */
  readonly device: GPUDevice;
  /** Its adapter. */
  readonly adapter: AdapterSummary;
  /** Largest storage binding we allow ourselves (the device's, or the test override). */
  readonly maxBinding: number;
  /** Bytes in buffers we created and have not destroyed. */
  allocatedBytes = 0;
  #pipelines = new Map<string, GPUComputePipeline>();
  readonly #sources: Readonly<Record<string, string>>;
  #lost: GPUDeviceLostInfo | null = null;
  /** Open `collect` calls, each gathering the buffers made while it runs. */
  #collectors: GPUBuffer[][] = [];
  /** Buffers already destroyed, so that destroying one twice counts (and frees) it once. */
  #destroyed = new WeakSet<GPUBuffer>();
  #placeholder: GPUBuffer | null = null;
  /** The first error no error scope caught (a failed submit, say), as one line. */
  #error: string | null = null;
  #counts: GpuCounts = { dispatches: 0, passes: 0, submits: 0, readbacks: 0, writes: 0 };
  /**
   * While set, every kernel submitted runs in a timestamped pass of its own, timed into this profile (the
   * bench's account of a step's kernel time: src/gpu/profile.ts); null (the default) encodes one pass.
   */
  profile: KernelProfile | null = null;

  private constructor(
    device: GPUDevice,
    adapter: AdapterSummary,
    maxBinding: number,
    sources: Readonly<Record<string, string>>,
  ) {
    this.device = device;
    this.adapter = adapter;
    this.maxBinding = maxBinding;
    this.#sources = sources;
    device.lost.then((info) => {
      this.#lost = info;
    });
    device.addEventListener("uncapturederror", (ev) => {
      const error = (ev as GPUUncapturedErrorEvent).error;
      this.#error ??= firstLine(error?.message ?? String(error));
    });
  }

  /**
   * Opens the default adapter with the limits the kernels need (WANTED_LIMITS, up to the adapter's); throws
   * NoAdapterError when there is none.
   */
  static async open(options: GpuOptions = {}): Promise<Gpu> {
    const compatibility = options.featureLevel === "compatibility";
    const adapter = await navigator.gpu?.requestAdapter({
      powerPreference: "high-performance",
      ...(compatibility ? { featureLevel: "compatibility" } : {}),
    });
    if (!adapter) throw new NoAdapterError();
    // A compatibility request may return an adapter that offers core too; its device is core only when asked.
    const core = adapter.features.has(CORE_FEATURE as GPUFeatureName);
    const features: GPUFeatureName[] = [];
    if (adapter.features.has("timestamp-query")) features.push("timestamp-query");
    if (compatibility && core) features.push(CORE_FEATURE as GPUFeatureName);
    const device = await adapter.requestDevice({
      requiredFeatures: features,
      requiredLimits: requiredLimits(adapter.limits),
    });
    const info = adapter.info;
    const summary: AdapterSummary = {
      description: info.description || info.device || "unknown adapter",
      vendor: info.vendor,
      architecture: info.architecture,
      backend: options.backend ?? "default",
      isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter),
      featureLevel: compatibility && !core ? "compatibility" : "core",
      features: [...adapter.features].sort(),
    };
    const maxBinding = Math.min(
      device.limits.maxStorageBufferBindingSize,
      options.maxStorageBindingBytes ?? Infinity,
    );
    return new Gpu(device, summary, maxBinding, { ...SHADER_SOURCES, ...options.shaders });
  }

  /**
   * The most invocations one workgroup may have on this device (its size limits along X and in total):
   * kernels with a tunable width take the largest power of two up to this.
   */
  get maxWorkgroupWidth(): number {
    const l = this.device.limits;
    return Math.min(l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX);
  }

  /** The workgroup width of a tree reduction that would like `wanted`: a power of two this device allows. */
  reductionWidth(wanted: number): number {
    return 2 ** Math.floor(Math.log2(Math.min(wanted, this.maxWorkgroupWidth)));
  }

  /** What this Gpu has encoded, submitted, read back and written so far (a copy: subtract two with countsSince). */
  get counts(): GpuCounts {
    return { ...this.#counts };
  }

  /** Set when the device was lost (driver reset, out of memory); checked by the training loop. */
  get lost(): GPUDeviceLostInfo | null {
    return this.#lost;
  }

  /**
   * The first uncaptured GPU error (validation or out-of-memory outside any error scope: typically a
   * submit that bound a destroyed buffer), or null. Such a submit does nothing, so results after it are
   * garbage; whoever reads results back checks this.
   */
  get error(): string | null {
    return this.#error;
  }

  /**
   * A 16-byte storage buffer to bind where a shader declares a binding that a kernel does not use (no bias,
   * no mask, no dLogits). Made on first use, once per Gpu, counted in allocatedBytes (from then on), never
   * collected and never destroyed: it lives as long as the device.
   */
  placeholder(): GPUBuffer {
    if (!this.#placeholder) {
      this.#placeholder = this.device.createBuffer({
        label: "unused binding",
        size: 16,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      this.allocatedBytes += this.#placeholder.size;
    }
    return this.#placeholder;
  }

  /** A storage buffer of `bytes` (rounded up to 4), optionally filled from `data`. */
  buffer(label: string, bytes: number, data?: ArrayBufferView, extraUsage = 0): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const buf = this.device.createBuffer({
      label,
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extraUsage,
    });
    this.#made(buf);
    if (data) this.write(buf, 0, data);
    return buf;
  }

  /** A uniform buffer holding `data` (a shape/params struct; 16-byte padded). */
  uniform(label: string, data: ArrayBufferView): GPUBuffer {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    const buf = this.device.createBuffer({
      label,
      size,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.#made(buf);
    this.write(buf, 0, data);
    return buf;
  }

  #made(buf: GPUBuffer): void {
    this.allocatedBytes += buf.size;
    for (const c of this.#collectors) c.push(buf);
  }

  /**
   * Runs `build` and returns, beside its result, every buffer made meanwhile (kernel builders make their
   * own uniforms and scratch), so that whoever owns the kernels can destroy all of it. Builds must not
   * overlap.
   */
  async collect<T>(build: () => Promise<T>): Promise<{ result: T; buffers: GPUBuffer[] }> {
    const buffers: GPUBuffer[] = [];
    this.#collectors.push(buffers);
    try {
      return { result: await build(), buffers };
    } finally {
      this.#collectors.splice(this.#collectors.indexOf(buffers), 1);
    }
  }

  /** Destroys a buffer made here; a second destroy of the same buffer (or of the placeholder) does nothing. */
  destroy(buf: GPUBuffer): void {
    if (buf === this.#placeholder || this.#destroyed.has(buf)) return; // the placeholder lives with the Gpu
    this.#destroyed.add(buf);
    this.allocatedBytes -= buf.size;
    buf.destroy();
  }

  /** Writes `data` into `buf` at `byteOffset` (queued: it lands before the next submit). */
  write(buf: GPUBuffer, byteOffset: number, data: ArrayBufferView): void {
    this.#counts.writes++;
    this.device.queue.writeBuffer(
      buf,
      byteOffset,
      data.buffer as ArrayBuffer,
      data.byteOffset,
      data.byteLength,
    );
  }

  /** Copies a slice back to the host (one submit + map round trip: never inside a training step). */
  async read(slice: BufferSlice): Promise<Float32Array> {
    return (await this.readAll([slice]))[0];
  }

  /**
   * Several slices read back in one round trip (one staging buffer, one map): on a software adapter each
   * round trip costs milliseconds whatever its size.
   */
  readAll(slices: readonly BufferSlice[]): Promise<Float32Array[]> {
    return this.submitAndRead([], slices);
  }

  /**
   * `kernels` as one compute pass (none: no pass), then copies of `slices` into one staging buffer, in one
   * command buffer and one submit, and one map of it: work whose results the host waits for (an evaluation
   * chunk, a predicted word) costs a single round trip.
   */
  async submitAndRead(kernels: Kernel[], slices: readonly BufferSlice[]): Promise<Float32Array[]> {
    const offsets: number[] = [];
    let size = 0;
    for (const s of slices) {
      offsets.push(size);
      size += Math.ceil(s.size / 4) * 4;
    }
    const staging = this.device.createBuffer({
      label: "readback",
      size: Math.max(size, 4),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.device.createCommandEncoder();
    if (kernels.length > 0) this.#pass(enc, kernels);
    slices.forEach((s, i) => enc.copyBufferToBuffer(s.buffer, s.offset, staging, offsets[i], s.size));
    this.#submit(enc);
    this.#counts.readbacks++;
    try {
      await staging.mapAsync(GPUMapMode.READ);
      const all = staging.getMappedRange().slice(0);
      staging.unmap();
      return slices.map((s, i) => new Float32Array(all, offsets[i], s.size / 4));
    } finally {
      staging.destroy();
    }
  }

  /** Reads a u32/i32 slice back as raw bytes' Int32Array view. */
  async readInt(slice: BufferSlice): Promise<Int32Array> {
    const f = await this.read(slice);
    return new Int32Array(f.buffer);
  }

  /**
   * The compute pipeline for `shaders/NAME.wgsl` preprocessed with `values` (booleans choose //#if blocks,
   * the rest fill {{KEY}} slots). Compilation errors and validation errors throw with the file name and WGSL
   * line.
   */
  async pipeline(name: string, values: ShaderValues = {}): Promise<GPUComputePipeline> {
    const key = name + JSON.stringify(Object.entries(values).sort());
    const cached = this.#pipelines.get(key);
    if (cached) return cached;
    const code = preprocessShader(name, this.#sources, values);
    const device = this.device;
    device.pushErrorScope("validation");
    const module = device.createShaderModule({ label: name, code });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length) {
      await device.popErrorScope();
      const m = errors[0];
      throw new Error(`shaders/${name}.wgsl:${m.lineNum}:${m.linePos}: ${firstLine(m.message)}`);
    }
    // Synchronous creation: the async variant has had bugs in Deno.
    const pipeline = device.createComputePipeline({ label: name, layout: "auto", compute: { module } });
    const err = await device.popErrorScope();
    if (err) throw new Error(`shaders/${name}.wgsl: ${firstLine(err.message)}`);
    this.#pipelines.set(key, pipeline);
    return pipeline;
  }

  /**
   * A kernel ready to encode: pipeline + bind group (bindings 0..n-1 of group 0, in order; a null entry is a
   * binding number this pipeline's variant does not declare, so that later bindings keep their numbers).
   */
  kernel(
    label: string,
    pipeline: GPUComputePipeline,
    bindings: Array<BufferSlice | GPUBuffer | null>,
    workgroups: [number, number?, number?],
  ): Kernel {
    for (const b of bindings) {
      if (b === null) continue;
      const size = "buffer" in b ? b.size : b.size;
      if (size > this.maxBinding && !("usage" in b && b.usage & GPUBufferUsage.UNIFORM)) {
        throw new Error(
          `${label}: binding of ${size} bytes exceeds the ${this.maxBinding}-byte storage limit`,
        );
      }
    }
    const bindGroup = this.device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: bindings.flatMap((b, i) =>
        b === null ? [] : [{
          binding: i,
          resource: "buffer" in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b },
        }]
      ),
    });
    const [x, y = 1, z = 1] = workgroups;
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new Error(`${label}: grid ${x}x${y}x${z} exceeds ${max} workgroups per dimension`);
    }
    return { pipeline, bindGroup, workgroups: [x, y, z], label };
  }

  /** Records kernels into one compute pass (WebGPU orders storage writes between dispatches). */
  encode(pass: GPUComputePassEncoder, kernels: Kernel[]): void {
    this.#counts.dispatches += kernels.length;
    for (const k of kernels) dispatch(pass, k);
  }

  /**
   * Queues kernels as one compute pass in one submit and returns at once: the way kernels reach the GPU
   * (runs, training steps, evaluations; the bench's timed passes encode their own). Results are read back
   * with `read`.
   */
  submit(kernels: Kernel[]): void {
    const enc = this.device.createCommandEncoder();
    this.#pass(enc, kernels);
    this.#submit(enc);
  }

  /** Kernels as one compute pass of `enc` (profiled: a timestamped pass each). */
  #pass(enc: GPUCommandEncoder, kernels: Kernel[]): void {
    if (this.profile) {
      this.#counts.passes += kernels.length;
      this.#counts.dispatches += kernels.length;
      this.profile.encode(enc, kernels, dispatch);
      return;
    }
    const pass = enc.beginComputePass();
    this.#counts.passes++;
    this.encode(pass, kernels);
    pass.end();
  }

  #submit(enc: GPUCommandEncoder): void {
    this.#counts.submits++;
    this.device.queue.submit([enc.finish()]);
  }

  /** Submits kernels and resolves when the GPU is done; validation errors throw. */
  async run(kernels: Kernel[]): Promise<void> {
    this.device.pushErrorScope("validation");
    this.submit(kernels);
    await this.device.queue.onSubmittedWorkDone();
    const err = await this.device.popErrorScope();
    if (err) throw new Error(`GPU validation error: ${firstLine(err.message)}`);
  }
}

/** One kernel's dispatch in `pass`. */
function dispatch(pass: GPUComputePassEncoder, k: Kernel): void {
  pass.setPipeline(k.pipeline);
  pass.setBindGroup(0, k.bindGroup);
  pass.dispatchWorkgroups(...k.workgroups);
}

/**
 * How a CPU-emulated adapter (lavapipe, SwiftShader, WARP) shows itself (its fallback flag, or the rasterizer
 * its description names), or null: kernels that have a variant for software adapters choose by it.
 */
export function softwareAdapterName(gpu: Gpu): string | null {
  if (gpu.adapter.isFallbackAdapter) return "a software adapter (isFallbackAdapter)";
  const named = /llvmpipe|lavapipe|swiftshader|warp/.exec(gpu.adapter.description.toLowerCase());
  return named ? `a software adapter ("${named[0]}" in its description)` : null;
}

/** Invocations in one vector of a software adapter's lanes (lavapipe on AVX2: 8 floats). */
export const SOFTWARE_LANES = 8;

/**
 * The width of a workgroup whose invocations work through one thing together (a softmax row's reduction, an
 * embedding word's positions): `wide` (as the device allows), or on a software adapter one vector of its
 * lanes, where each barrier runs a workgroup's vectors one after another and each vector repeats the walk
 * (docs/performance.md, session 8).
 */
export function cooperativeWidth(gpu: Gpu, wide: number): number {
  return gpu.reductionWidth(softwareAdapterName(gpu) ? SOFTWARE_LANES : wide);
}

/**
 * Whether a backend label (AdapterSummary.backend, Deno's DENO_WEBGPU_BACKEND) asks first for OpenGL: wgpu's GL
 * backend, whose shader compiler (Mesa's GLSL front end) is far slower on large kernels.
 */
export function isGlBackend(label: string | undefined): boolean {
  return label?.split(",")[0].trim().toLowerCase() === "gl";
}

/** ceil(a / b) for workgroup counts. */
export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}
