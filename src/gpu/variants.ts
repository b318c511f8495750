/**
 * Which kernel variants this device gets, in words: what the kernel builders decide from the adapter and
 * its limits (matmul.ts, softmax_xent.ts, adam.ts), stated by calling the same functions, so that a page or
 * a report shows the choices actually made rather than a second copy of the rules.
 */
import { type Gpu, powerOfTwoUpTo } from "./device.ts";
import { canStage, isSoftwareAdapter, STAGE_MIN_FLOPS, WINDOW_FLOATS } from "./matmul.ts";

export interface KernelChoice {
  /** The kernel or group of kernels. */
  kernel: string;
  /** The variant used on this device. */
  choice: string;
  /** What decided it. */
  why: string;
}

const kib = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;

export function kernelChoices(gpu: Gpu): KernelChoice[] {
  const limits = gpu.device.limits;
  const software = isSoftwareAdapter(gpu);
  const width = powerOfTwoUpTo(Math.min(256, gpu.maxWorkgroupWidth));
  const out: KernelChoice[] = [
    software
      ? {
        kernel: "GEMM",
        choice: "matmul_regblock (16 x 8 outputs per invocation)",
        why: "a software adapter: registers beat workgroup memory there",
      }
      : { kernel: "GEMM", choice: "matmul_tiled (workgroup-memory tiles)", why: "a hardware adapter" },
  ];
  if (software) {
    out.push(
      canStage(gpu)
        ? {
          kernel: `GEMMs of >= ${STAGE_MIN_FLOPS.toExponential(0)} flops`,
          choice: `A staged through a ${kib(WINDOW_FLOATS * 4)} uniform window`,
          why: `uniform bindings up to ${kib(limits.maxUniformBufferBindingSize)}`,
        }
        : {
          kernel: `GEMMs of >= ${STAGE_MIN_FLOPS.toExponential(0)} flops`,
          choice: "A read from storage (not staged)",
          why: `uniform bindings only up to ${kib(limits.maxUniformBufferBindingSize)}`,
        },
    );
  }
  out.push({
    kernel: "softmax cross-entropy, Adam",
    choice: `${width} invocations per workgroup`,
    why: `the device allows ${gpu.maxWorkgroupWidth}`,
  }, {
    kernel: "tensors larger than one binding",
    choice: `split into blocks of at most ${Math.round(gpu.maxBinding / 2 ** 20)} MiB`,
    why: "maxStorageBufferBindingSize",
  });
  return out;
}
