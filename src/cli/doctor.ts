/**
 * `deno task doctor`: checks this machine's WebGPU adapter against the CPU reference (src/doctor/, the
 * platform-neutral core) and prints the report as text, row by row, or as one JSON object.
 */
import { numberFlag, parseFlags } from "./args.ts";
import { isGlBackend, stderrIsTerminal, webgpuBackendLabel } from "../deno/gpu_env.ts";
import { MODEL_SHAPES, runDoctor, SMALL_SHAPES } from "../doctor/doctor.ts";
import { doctorReportJson, formatHeader, formatKernelRow, formatTail } from "../doctor/format.ts";
import { errorLine, USAGE_EXIT, UserError } from "../errors.ts";
import { Gpu, type GpuOptions, NO_ADAPTER, NoAdapterError } from "../gpu/device.ts";

export const DOCTOR_HELP = `Check this machine's WebGPU adapter against the CPU reference.

usage: deno task doctor [--json] [--all] [flags]

Prints the adapter, its limits and features, the kernel variants the runtime chooses on it (and why) for the
window model and for a headline model (tied direct head, dropout, rows of many positions), then runs each of
those variants on seeded random odd shapes and on the models' shapes, forward and backward, against the CPU
reference (largest absolute and relative errors beside each tolerance), trains 3 steps of each model on
WebGPU and on the CPU reference from the same weights (the headline model then advances from its carried
state), and times each kernel. Exits 1 when anything FAILs.

  --all             also every variant this adapter can compile that the runtime would not choose here
  --json            print one JSON object on stdout instead of the text report
  --shapes WHICH    model: the notebook's model on April 2017 (V 2482, E 16, H 64, 5 layers, batch 64, a
                    last batch of 20) and a headline model (V 2484, E = H = 64, 2 layers, rows of 25
                    positions); small: V 886, H 32, 2 layers (headline: H 32, 12 positions) and fewer odd
                    shapes, for adapters whose shader compiler is slow; auto (default): small on
                    DENO_WEBGPU_BACKEND=gl, else model
  --seed N          seeds the odd shapes and all inputs (default 1)
  -h, --help        this text

The adapter is the one Deno's WebGPU opens: choose with DENO_WEBGPU_BACKEND (vulkan, gl) and, for Vulkan,
VK_ICD_FILENAMES (e.g. SwiftShader's vk_swiftshader_icd.json).`;

const FLAGS = {
  all: { type: "boolean" },
  json: { type: "boolean" },
  shapes: { type: "string" },
  seed: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Measured: on wgpu's GL backend (llvmpipe) the model's LSTM backward cell (H = 64) took 432 s to compile. */
const GL_REASON = "the GL backend's shader compiler (llvmpipe) needs minutes for the model's LSTM backward " +
  "cell at H = 64 (432 s measured, cold)";

/** What a test may change: the device's options (shader overrides plant faulty kernels) and the output. */
export interface DoctorDeps {
  gpu?: Omit<GpuOptions, "backend">;
  /** Where stdout's text goes (default console.log). */
  print?: (text: string) => void;
}

export async function doctorMain(args: string[], deps: DoctorDeps = {}): Promise<number> {
  const { values: v } = parseFlags(args, FLAGS);
  if (v.help) {
    (deps.print ?? console.log)(DOCTOR_HELP);
    return 0;
  }
  const seed = numberFlag("seed", v.seed, 1, "32-bit unsigned integer");
  const which = v.shapes ?? "auto";
  if (!["auto", "model", "small"].includes(which)) {
    throw new UserError(`--shapes must be auto, model or small, got "${which}"`, USAGE_EXIT);
  }
  const backend = webgpuBackendLabel();
  let reduced: string | undefined;
  if (which === "small") reduced = "--shapes small";
  else if (which === "auto" && isGlBackend(backend)) reduced = `auto on DENO_WEBGPU_BACKEND=gl: ${GL_REASON}`;

  let gpu: Gpu;
  try {
    gpu = await Gpu.open({
      ...deps.gpu,
      backend: backend ?? "default (DENO_WEBGPU_BACKEND unset: Vulkan, else GL)",
    });
  } catch (e) {
    // One line as train's, less its pointer to --backend cpu (doctor has nothing to check without WebGPU).
    if (e instanceof NoAdapterError) throw new UserError(NO_ADAPTER);
    throw new UserError(`could not open a WebGPU device: ${errorLine(e)}`);
  }
  const json = Boolean(v.json);
  const say = deps.print ?? ((text: string) => console.log(text));
  const progress = json && stderrIsTerminal();
  try {
    const report = await runDoctor(gpu, {
      shapes: reduced ? SMALL_SHAPES : MODEL_SHAPES,
      reduced: reduced && `${describe(SMALL_SHAPES)} instead of ${describe(MODEL_SHAPES)} (${reduced})`,
      all: Boolean(v.all),
      seed,
      onStart: json ? undefined : (header) => say(formatHeader(header)),
      onRow: json ? undefined : (row) => say(formatKernelRow(row)),
      onCheck: progress ? (name, i, n) => console.error(`doctor: [${i + 1}/${n}] ${name}`) : undefined,
    });
    if (json) {
      say(JSON.stringify(doctorReportJson(report)));
    } else {
      say(formatTail(report));
    }
    return report.pass ? 0 : 1;
  } finally {
    gpu.device.destroy();
  }
}

function describe(s: typeof MODEL_SHAPES): string {
  const m = s.model, h = s.headline;
  return `V ${m.vocab}, E ${m.embed}, H ${m.hidden}, ${m.layers} layers (headline: H ${h.model.hidden}, ` +
    `${h.steps} positions)`;
}
