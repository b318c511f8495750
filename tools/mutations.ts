/**
 * The planted bugs `deno task mutate` (tools/mutate.ts) checks the tests against. Each is an exact text
 * replacement (every `find` must occur exactly once in its file) and names the test files that must catch
 * it, with a --filter where one test is enough (to keep each run short). `quick` marks the subset
 * `deno task mutate --quick` runs (in CI, after the test suite): one or two per kernel family, the CPU
 * reference and the training loop. When you add a kernel, an op or a guard, add its bugs here.
 */

/** One text replacement in one file. */
export interface Edit {
  file: string;
  find: string;
  replace: string;
}

export interface Mutation {
  name: string;
  edits: Edit[];
  /** Test files (repository paths) that must fail with the edits applied. */
  tests: string[];
  /** `deno test --filter` value: only the tests whose name contains it run. */
  filter?: string;
  quick?: boolean;
}

/** A mutation of one edit. */
function one(
  name: string,
  file: string,
  find: string,
  replace: string,
  tests: string[],
  more: Partial<Mutation> = {},
): Mutation {
  return { name, edits: [{ file, find, replace }], tests, ...more };
}

const ADAM_WGSL = "shaders/adam.wgsl";
const ADAM_CPU = "src/cpu/adam.ts";
const SOFTMAX_WGSL = "shaders/softmax_xent.wgsl";
const SOFTMAX_CPU = "src/cpu/softmax_xent.ts";
const REGBLOCK = "shaders/matmul_regblock.wgsl";
const MATMUL_COMMON = "shaders/matmul_common.wgsl";
const LSTM_WGSL = "shaders/lstm_cell.wgsl";
const LSTM_BACK_WGSL = "shaders/lstm_cell_backward.wgsl";
const LSTM_CPU = "src/cpu/lstm.ts";
const GRAD_NORM_WGSL = "shaders/grad_norm.wgsl";
const GRAD_NORM_FINAL_WGSL = "shaders/grad_norm_final.wgsl";
const SCHEDULE = "src/train/schedule.ts";
const LSTM_SEQ = "shaders/lstm_seq.wgsl";
const LSTM_SEQ_BACK = "shaders/lstm_seq_backward.wgsl";
const LSTM_HOST = "src/gpu/lstm.ts";
const GPU_MODEL = "src/gpu/model.ts";
const GPU_BACKEND = "src/gpu/backend.ts";

const T_ADAM = ["tests/gpu_adam_test.ts"];
const T_ADAM_CPU = ["tests/gpu_adam_test.ts", "tests/cpu_model_test.ts"];
const T_SOFTMAX = ["tests/gpu_softmax_xent_test.ts"];
const T_SOFTMAX_CPU = ["tests/gpu_softmax_xent_test.ts", "tests/cpu_ops_test.ts"];
const T_MATMUL = ["tests/gpu_matmul_test.ts"];
const T_LSTM = ["tests/gpu_lstm_test.ts"];
const T_LSTM_CPU = ["tests/gpu_lstm_test.ts", "tests/cpu_ops_test.ts"];
const T_EMBEDDING = ["tests/gpu_embedding_test.ts"];
const KN = "src/eval/kneser_ney.ts";
const MIXTURE = "src/eval/mixture.ts";
const T_KN = ["tests/eval_kneser_ney_test.ts"];
const T_MIXTURE = ["tests/eval_mixture_test.ts"];
const T_GRAD_NORM = ["tests/gpu_grad_norm_test.ts"];
const T_SCHEDULE = ["tests/train_schedule_test.ts"];
const T_GPU_HEADLINE = ["tests/gpu_headline_test.ts"];
/** Bugs made alike in the WGSL and in the CPU reference agree with each other: only PyTorch can tell. */
const T_PARITY = ["tests/parity_cpu_test.ts", "tests/parity_gpu_test.ts"];

export const MUTATIONS: Mutation[] = [
  // ---- Adam: each term, in WGSL (the host computes the bias corrections) and in the CPU reference ----
  one("adam wgsl: eps removed", ADAM_WGSL, "sqrt(v1) / h.bc2Sqrt + h.eps)", "sqrt(v1) / h.bc2Sqrt)", T_ADAM, {
    filter: "eps",
    quick: true,
  }),
  one("adam wgsl: m without (1 - beta1)", ADAM_WGSL, "h.oneMinusBeta1 * g;", "g;", T_ADAM),
  one("adam wgsl: v not decayed by beta2", ADAM_WGSL, "h.beta2 * v[i] +", "v[i] +", T_ADAM),
  one(
    "adam wgsl: v from |g| instead of g²",
    ADAM_WGSL,
    "h.oneMinusBeta2 * g * g",
    "h.oneMinusBeta2 * abs(g)",
    T_ADAM,
  ),
  one(
    "adam host: no bias correction of m (step size lr)",
    "src/gpu/adam.ts",
    "stepSize: h.lr / (1 - Math.pow(h.beta1, t)),",
    "stepSize: h.lr,",
    T_ADAM,
  ),
  one(
    "adam host: bias correction of v without the square root",
    "src/gpu/adam.ts",
    "bc2Sqrt: Math.sqrt(1 - Math.pow(h.beta2, t)),",
    "bc2Sqrt: 1 - Math.pow(h.beta2, t),",
    T_ADAM,
  ),
  one(
    "adam wgsl: weight decay with the wrong sign",
    ADAM_WGSL,
    "g += h.weightDecay * p;",
    "g -= h.weightDecay * p;",
    T_ADAM,
  ),
  one(
    "adam cpu: eps removed",
    ADAM_CPU,
    "Math.sqrt(v[i]) / bc2Sqrt + h.eps)",
    "Math.sqrt(v[i]) / bc2Sqrt)",
    T_ADAM_CPU,
  ),
  one("adam cpu: m with (1 - beta2)", ADAM_CPU, "(1 - h.beta1) * g;", "(1 - h.beta2) * g;", T_ADAM_CPU),
  one(
    "adam cpu: no bias correction of m",
    ADAM_CPU,
    "const bc1 = 1 - Math.pow(h.beta1, t);",
    "const bc1 = 1;",
    T_ADAM_CPU,
  ),
  one(
    "adam cpu: weight decay ignored",
    ADAM_CPU,
    "grads[i] + h.weightDecay * params[i]",
    "grads[i]",
    T_ADAM_CPU,
  ),

  // ---- gradient-norm clipping: the reduction's partials, the scale in Adam, the CPU reference ----
  one(
    "clip wgsl: the scale not applied (gradients used unclipped)",
    ADAM_WGSL,
    "g *= min(h.maxNorm / (gradNorm[0] + 1e-6), 1.0);",
    "g *= 1.0;",
    T_GRAD_NORM,
    { filter: "active", quick: true },
  ),
  one(
    "clip wgsl: the scale applied when not needed (no min with 1: small gradients scaled up)",
    ADAM_WGSL,
    "g *= min(h.maxNorm / (gradNorm[0] + 1e-6), 1.0);",
    "g *= h.maxNorm / (gradNorm[0] + 1e-6);",
    T_GRAD_NORM,
    { filter: "changes nothing" },
  ),
  one(
    "grad norm wgsl: the final sum misses the last partial",
    GRAD_NORM_FINAL_WGSL,
    "for (var i = lid; i < n; i += WG) {",
    "for (var i = lid; i + 1u < n; i += WG) {",
    T_GRAD_NORM,
    { filter: "reduction" },
  ),
  one(
    "grad norm wgsl: every chunk writes its partials over the first chunk's",
    GRAD_NORM_WGSL,
    "partials[chunk.base + wid.x] = total;",
    "partials[wid.x] = total;",
    T_GRAD_NORM,
    { filter: "reduction" },
  ),
  one(
    "grad norm wgsl: a workgroup's sum misses its last row of invocations",
    GRAD_NORM_WGSL,
    "for (var r = 0u; r < WG / SPAN; r++) {",
    "for (var r = 0u; r + 1u < WG / SPAN; r++) {",
    T_GRAD_NORM,
    { filter: "reduction" },
  ),
  one(
    "clip host: the limit never reaches the uniform (clipping off)",
    "src/gpu/adam.ts",
    "h.clip ?? 0, // 0: no clipping",
    "0,",
    T_GRAD_NORM,
    { filter: "active" },
  ),
  one(
    "clip host: the norm's reduction not submitted (Adam reads a stale norm)",
    "src/gpu/adam.ts",
    "return hyper.clip === undefined ? kernels : [...norm.kernels, ...kernels];",
    "return kernels;",
    ["tests/gpu_backend_test.ts"],
    { filter: "gradient clipping" },
  ),
  one(
    "clip cpu: the scale not applied",
    "src/cpu/grad_norm.ts",
    "for (let i = 0; i < grads.length; i++) grads[i] *= scale;",
    "",
    ["tests/cpu_ops_test.ts", "tests/parity_cpu_test.ts"],
    { filter: "clip", quick: true },
  ),
  one(
    "clip cpu: torch's 1e-6 left out of the divisor",
    "src/cpu/grad_norm.ts",
    "return Math.min(maxNorm / (norm + CLIP_EPS), 1);",
    "return Math.min(maxNorm / norm, 1);",
    ["tests/cpu_ops_test.ts"],
    { filter: "clipGradNorm" },
  ),
  one(
    "clip cpu backend: hyper.clip ignored",
    "src/cpu/backend.ts",
    "if (hyper.clip !== undefined) clipGradNorm(this.#grads, hyper.clip);",
    "",
    ["tests/parity_cpu_test.ts"],
    { filter: "clip_grad_norm_" },
  ),

  // ---- learning-rate schedules and early stopping ----
  one(
    "plateau: patience off by one (reduces one epoch early)",
    SCHEDULE,
    "if (next.badEpochs > schedule.patience) {",
    "if (next.badEpochs >= schedule.patience) {",
    T_SCHEDULE,
    { filter: "torch's StepLR", quick: true },
  ),
  one(
    "plateau: the 1e-4 relative threshold ignored",
    SCHEDULE,
    "if (valLoss < state.plateauBest * (1 - PLATEAU_THRESHOLD)) {",
    "if (valLoss < state.plateauBest) {",
    T_SCHEDULE,
    { filter: "torch's StepLR" },
  ),
  one(
    "plateau: torch's eps ignored (reductions below 1e-8 still made)",
    SCHEDULE,
    "if (state.lr - reduced > PLATEAU_EPS) next.lr = reduced;",
    "next.lr = reduced;",
    T_SCHEDULE,
    { filter: "torch's StepLR" },
  ),
  one(
    "step decay: at the wrong epoch (one early)",
    SCHEDULE,
    "if (epoch % schedule.every === 0) next.lr = state.lr * schedule.factor;",
    "if ((epoch + 1) % schedule.every === 0) next.lr = state.lr * schedule.factor;",
    T_SCHEDULE,
    { filter: "torch's StepLR" },
  ),
  one(
    "early stop: one epoch late",
    SCHEDULE,
    "return earlyStop !== undefined && state.sinceBest >= earlyStop;",
    "return earlyStop !== undefined && state.sinceBest > earlyStop;",
    T_SCHEDULE,
    { filter: "early stopping" },
  ),
  one(
    "train loop: the schedule's lr not used by the steps",
    "src/train/loop.ts",
    "lr: this.#at.schedule.lr,",
    "lr: this.#opts.lr,",
    T_SCHEDULE,
    { filter: "scripted" },
  ),
  one(
    "train loop: schedule state not restored on resume",
    "src/train/loop.ts",
    "? resumed.schedule",
    "? initialSchedule(opts.lr)",
    ["tests/train_resume_test.ts"],
    { filter: "cpu: reduce-on-plateau" },
  ),
  one(
    "train loop: early stopping's count not restored on resume (without a schedule)",
    "src/train/loop.ts",
    ": { ...initialSchedule(opts.lr), ...resumed?.schedule, lr: opts.lr },",
    ": initialSchedule(opts.lr),",
    T_SCHEDULE,
    { filter: "early stopping alone" },
  ),
  one(
    "train loop: no checkpoint at an early stop between --save-every epochs",
    "src/train/loop.ts",
    'if (epoch % opts.saveEvery === 0 || epoch === opts.epochs || stopping) kinds.push("checkpoint");',
    'if (epoch % opts.saveEvery === 0 || epoch === opts.epochs) kinds.push("checkpoint");',
    T_SCHEDULE,
    { filter: "scripted" },
  ),
  one(
    "cli: an early-stopped run, resumed, says it has epochs left",
    "src/cli/train.ts",
    "if (trained === 0 && early) {",
    "if (trained < 0 && early) {",
    ["tests/train_cli_test.ts"],
    { filter: "--early-stop" },
  ),
  one(
    "checkpoint: the schedule's state not written to config.json",
    "src/io/checkpoint.ts",
    "...(ck.progress.schedule ? { schedule: scheduleJson(ck.progress.schedule) } : {}),",
    "",
    ["tests/io_checkpoint_test.ts"],
    { filter: "learning-rate schedule" },
  ),
  one(
    "flags: --clip 0 accepted",
    "src/train/optim_flags.ts",
    'numberFlag("clip", clip, 0, "positive number")',
    'numberFlag("clip", clip, 0, "number")',
    T_SCHEDULE,
    { filter: "bad value" },
  ),

  // ---- softmax cross-entropy: stability, the gradient's 1/B, the mean, rows past the batch ----
  {
    name: "softmax wgsl: no max subtraction (exp of raw logits)",
    edits: [
      { file: SOFTMAX_WGSL, find: "var m = -0x1.fffffep+127f;", replace: "var m = 0.0;" },
      { file: SOFTMAX_WGSL, find: "if (z > m) {", replace: "if (false) {" },
      { file: SOFTMAX_WGSL, find: "s += exp(max(z - m, MIN_EXP_ARG));", replace: "s += exp(z - m);" },
    ],
    tests: T_SOFTMAX,
    filter: "stability",
    quick: true,
  },
  one(
    "softmax wgsl: gradient divided by the largest batch, not the step's size",
    SOFTMAX_WGSL,
    "let invSize = 1.0 / f32(select(step.size, targetCount[0], PER_POSITION));",
    "let invSize = 1.0 / f32(arrayLength(&rowLoss));",
    T_SOFTMAX,
  ),
  one(
    "softmax mean wgsl: mean over the largest batch",
    "shaders/softmax_xent_mean.wgsl",
    "total / f32(max(n, 1u))",
    "total / f32(arrayLength(&rowLoss))",
    T_SOFTMAX,
  ),
  one(
    "softmax wgsl: the row at size counted in the batch",
    SOFTMAX_WGSL,
    "if (b >= step.size) {",
    "if (b > step.size) {",
    T_SOFTMAX,
  ),
  {
    name: "softmax cpu: no max subtraction",
    edits: [
      { file: SOFTMAX_CPU, find: "let max = -Infinity;", replace: "const max = 0;" },
      {
        file: SOFTMAX_CPU,
        find: "for (let v = 0; v < V; v++) max = Math.max(max, logits[row + v]);",
        replace: "",
      },
    ],
    tests: T_SOFTMAX_CPU,
  },
  one(
    "softmax cpu: gradient without 1/N on the softmax term",
    SOFTMAX_CPU,
    "Math.exp(logits[row + v] - logSum) / N;",
    "Math.exp(logits[row + v] - logSum);",
    T_SOFTMAX_CPU,
  ),

  // ---- GEMM edges, for each variant ----
  // Not listed, because no result can show them (equivalent mutants): a whole-block bound of N - 8 or
  // M - 1 (whole blocks then take the edge path, which is only slower), and edge stores or whole blocks
  // reaching row M: past the end of C's binding, where WebGPU drops (lavapipe) or clamps writes.
  one(
    "gemm regblock: whole-block column bound N + 8",
    REGBLOCK,
    "wg.x * (LANES * 8u) + LANES * 8u <= s.N",
    "wg.x * (LANES * 8u) + LANES * 8u <= s.N + 8u",
    T_MATMUL,
    { filter: "column edges", quick: true },
  ),
  one(
    "gemm edge store: column N stored",
    MATMUL_COMMON,
    "if (i >= rowsM() || j >= s.N) {",
    "if (i >= rowsM() || j > s.N) {",
    T_MATMUL,
    {
      filter: "column edges",
    },
  ),
  one(
    "gemm vec4 C edge: accumulate reads component 0",
    MATMUL_COMMON,
    "value += C[at / 4u][at % 4u];",
    "value += C[at / 4u][0u];",
    T_MATMUL,
    { filter: "column edges" },
  ),
  one(
    "gemm vec4 C whole block: last bias component off by one",
    REGBLOCK,
    "bias[j + 2u], bias[j + 3u]",
    "bias[j + 2u], bias[j + 2u]",
    T_MATMUL,
    { filter: "split" },
  ),
  one(
    "gemm vec4 B: chosen for every even N",
    "src/gpu/matmul.ts",
    'const b = !transB && N % 4 === 0 ? "vec4"',
    'const b = !transB && N % 2 === 0 ? "vec4"',
    T_MATMUL,
    { filter: "column edges" },
  ),
  one(
    "gemm vec2 B: second pair of a lane off by one column",
    "src/gpu/matmul.ts",
    '"0u, 1u, 16u, 17u"',
    '"0u, 1u, 17u, 18u"',
    T_MATMUL,
    { filter: "column edges" },
  ),
  one(
    "gemm scalar B: fourth column of a lane clamped one short",
    REGBLOCK,
    "let b3 = s.bOff + min(colBase + COL[3], s.N - 1u) * s.bCol;",
    "let b3 = s.bOff + min(colBase + COL[3], s.N - 2u) * s.bCol;",
    T_MATMUL,
    { filter: "column edges" },
  ),
  one(
    "gemm staged: the last k of each window not staged",
    "shaders/matmul_stage_a.wgsl",
    "if (i < p.rows && k < p.cols) {",
    "if (i < p.rows && k + 1u < p.cols) {",
    T_MATMUL,
    { filter: "(staged): column edges" },
  ),
  {
    name: "gemm tiled: one k past K loaded",
    edits: [
      {
        file: "shaders/matmul_tiled.wgsl",
        find: "if (row0 + i < M && k0 + ka < K) {",
        replace: "if (row0 + i < M && k0 + ka <= K) {",
      },
      {
        file: "shaders/matmul_tiled.wgsl",
        find: "if (col0 + j < s.N && k0 + kb < K) {",
        replace: "if (col0 + j < s.N && k0 + kb <= K) {",
      },
    ],
    tests: T_MATMUL,
    filter: "(tiled): column edges",
  },
  one(
    "gemm split: blocks along K overwrite instead of adding up",
    "src/gpu/matmul.ts",
    "if (first ? spec.accumulate : true) flags |= EPI_ACCUMULATE;",
    "if (spec.accumulate) flags |= EPI_ACCUMULATE;",
    T_MATMUL,
    { filter: "split" },
  ),
  // ---- GEMM: 32 rows a workgroup (the staged form), and the grid ----
  // (Not listed: a whole-block row bound of 16 with 32 rows is equivalent: whole blocks store min(ROWS,
  // M - row0) rows anyway.)
  one(
    "gemm 32 rows: rows 16-31 read the window's rows 0-15",
    REGBLOCK,
    "let xs{{q}} = A[ka + {{q}}u];",
    "let xs{{q}} = A[ka + {{q}}u % 4u];",
    T_MATMUL,
    { filter: "(staged, 32 rows): odd shapes" },
  ),
  one(
    "gemm 32 rows: the window's rows read 16 apart",
    REGBLOCK,
    "let ka = (k * s.aK + row0) / 4u;",
    "let ka = (k * s.aK + wg.y * 16u) / 4u;",
    T_MATMUL,
    { filter: "(staged, 32 rows): odd shapes" },
  ),
  one(
    "gemm staged: the window's last 64 floats not staged",
    "shaders/matmul_stage_a.wgsl",
    "for (var e = gid.x; e < WINDOW; e += groups.x * 64u) {",
    "for (var e = gid.x; e + 64u < WINDOW; e += groups.x * 64u) {",
    T_MATMUL,
    { filter: "several windows" },
  ),
  one(
    "lstm plan: the GL backend's backward rows not capped (its compiler takes minutes at 16)",
    "src/gpu/lstm.ts",
    "gl ? Math.min(wanted.backward, SEQUENCE_BACKWARD_ROWS_GL) : wanted.backward,",
    "wanted.backward,",
    T_LSTM,
    { filter: "lstm plan" },
  ),
  one(
    "gemm staged together: every block along M staged from A's first rows",
    "src/gpu/matmul.ts",
    "const aOff = b.aOff + (spec.transA ? b.k0 * spec.M : b.m0 * spec.K);",
    "const aOff = b.aOff + (spec.transA ? b.k0 * spec.M : 0);",
    T_MATMUL,
    { filter: "several windows" },
  ),
  one(
    "gemm grid: 32-row workgroups for every block size",
    "src/gpu/matmul.ts",
    'const rowsPerWorkgroup = variant !== "tiled" ? blockRows : 64;',
    'const rowsPerWorkgroup = variant !== "tiled" ? 32 : 64;',
    T_MATMUL,
    { filter: "(regblock): odd shapes" },
  ),
  one(
    "gemm 32 rows: chosen where A is read from storage too",
    "src/gpu/matmul.ts",
    'if (variant !== "staged") return { rows: 16, reason: "16 rows per workgroup" };',
    'if (variant === "tiled") return { rows: 16, reason: "16 rows per workgroup" };',
    T_MATMUL,
    { filter: "32 rows a workgroup" },
  ),

  // ---- fixed costs: what a step and a predicted word send to the GPU (tests/gpu_counts_test.ts) ----
  one(
    "gpu backend: Adam in a submit of its own",
    "src/gpu/backend.ts",
    "this.#gpu.submit([...training.step, ...training.adam.stepKernels(hyper)]);",
    "this.#gpu.submit(training.step);\n    this.#gpu.submit(training.adam.stepKernels(hyper));",
    ["tests/gpu_counts_test.ts"],
    { filter: "window model's step" },
  ),
  one(
    "gpu backend: advance submits its kernels apart from their readback",
    "src/gpu/backend.ts",
    "const [rowsLogits, ...states] = await this.#submitAndRead(model.advanceKernels(), slices);",
    "this.#gpu.submit(model.advanceKernels());\n      const [rowsLogits, ...states] = await this.#submitAndRead([], slices);",
    ["tests/gpu_counts_test.ts"],
    { filter: "generated word" },
  ),
  one(
    "gpu device: every kernel of a submit in a pass of its own",
    "src/gpu/device.ts",
    "    this.#pass(enc, kernels);\n    this.#submit(enc);\n  }",
    "    for (const k of kernels) this.#pass(enc, [k]);\n    this.#submit(enc);\n  }",
    ["tests/gpu_counts_test.ts"],
    { filter: "window model's step" },
  ),
  one(
    "kernel profile: each kernel timed from the start of the submit",
    "src/gpu/profile.ts",
    "const ms = Math.max(0, Number(stamps[2 * i + 1] - stamps[2 * i])) / 1e6;",
    "const ms = Math.max(0, Number(stamps[2 * i + 1] - stamps[0])) / 1e6;",
    ["tests/gpu_counts_test.ts"],
    { filter: "profiling" },
  ),

  // ---- GEMM and column sums with rows at run time (B * Tb from the step uniform) ----
  one(
    "gemm runtime rows: M stays the built one",
    MATMUL_COMMON,
    "return runtimeExtent(s.M);",
    "return s.M;",
    T_MATMUL,
    { filter: "rows at run time along M" },
  ),
  one(
    "gemm runtime rows: K stays the built one",
    MATMUL_COMMON,
    "return runtimeExtent(s.K);",
    "return s.K;",
    T_MATMUL,
    { filter: "rows at run time along K" },
  ),
  one(
    "gemm runtime rows: every block counts from row 0",
    MATMUL_COMMON,
    "return min(built, total - min(total, s.runStart));",
    "return min(built, total);",
    T_MATMUL,
    { filter: "split blocks and staging" },
  ),
  one(
    "colsum runtime rows: the built rows summed",
    "shaders/colsum.wgsl",
    "rows = min(p.rows, total - min(total, p.rowStart));",
    "",
    ["tests/gpu_linear_test.ts"],
    { filter: "run time" },
  ),

  // ---- uniform structs: the WGSL declaration and the TypeScript one that packs it ----
  one(
    "uniform struct: two fields of the GEMM's Shape swapped in WGSL",
    MATMUL_COMMON,
    "  aRow: u32, aK: u32, aOff: u32,",
    "  aK: u32, aRow: u32, aOff: u32,",
    ["tests/uniform_struct_test.ts"],
    { filter: "field by field" },
  ),
  one(
    "uniform struct: dropout's threshold and scale swapped in the TypeScript declaration",
    "src/gpu/dropout.ts",
    '  threshold: "u32",\n  scale: "f32",',
    '  scale: "f32",\n  threshold: "u32",',
    ["tests/uniform_struct_test.ts"],
    { filter: "field by field" },
  ),

  // ---- embedding: forward rows past the batch, backward sums ----
  one(
    "embedding backward wgsl: a repeated id keeps only its last row",
    "shaders/embedding_backward.wgsl",
    "sum[e] += dx[(c0 + p) * E + e];",
    "sum[e] = dx[(c0 + p) * E + e];",
    T_EMBEDDING,
    { quick: true },
  ),
  one(
    "embedding backward wgsl: the last position of each chunk skipped",
    "shaders/embedding_backward.wgsl",
    "for (var p = 0u; p < n; p++) {",
    "for (var p = 0u; p + 1u < n; p++) {",
    T_EMBEDDING,
  ),
  one(
    "embedding forward wgsl: the row at size gathered",
    "shaders/embedding.wgsl",
    "if (b >= step.size) {",
    "if (b > step.size) {",
    T_EMBEDDING,
  ),
  one(
    "embedding backward cpu: a repeated id keeps only its last row",
    "src/cpu/embedding.ts",
    "dTable[row + e] += dOut[n * dim + e];",
    "dTable[row + e] = dOut[n * dim + e];",
    ["tests/gpu_embedding_test.ts", "tests/cpu_ops_test.ts"],
  ),

  // ---- column sums (bias gradients) ----
  one(
    "colsum wgsl: first row dropped",
    "shaders/colsum.wgsl",
    "for (var i = 0u; i < rows; i++) {",
    "for (var i = 1u; i < rows; i++) {",
    [
      "tests/gpu_linear_test.ts",
    ],
  ),
  one(
    "colsum wgsl: row blocks overwrite instead of adding up",
    "shaders/colsum.wgsl",
    "if (p.accumulate != 0u) {",
    "if (false) {",
    [
      "tests/gpu_linear_test.ts",
    ],
    { filter: "column sum" },
  ),
  one(
    "colsum cpu: last row dropped",
    "src/cpu/linear.ts",
    "for (let r = 0; r < rows; r++) s += x[r * cols + c];",
    "for (let r = 1; r < rows; r++) s += x[r * cols + c];",
    [
      "tests/gpu_linear_test.ts",
      "tests/cpu_ops_test.ts",
    ],
  ),

  // ---- LSTM gates, forward and backward, WGSL and CPU (each against the other) ----
  one(
    "lstm wgsl: forget gate ignored",
    LSTM_WGSL,
    "let cNew = f * cPrev[r] + i * g;",
    "let cNew = cPrev[r] + i * g;",
    T_LSTM,
    { filter: "odd shape", quick: true },
  ),
  one(
    "lstm wgsl: g gate through sigmoid",
    LSTM_WGSL,
    "let g = tanhSafe(pre[r].z);",
    "let g = sigmoid(pre[r].z);",
    T_LSTM,
  ),
  one(
    "lstm wgsl: h without tanh of c",
    LSTM_WGSL,
    "h[at] = o * tanhSafe(cNew);",
    "h[at] = o * cNew;",
    T_LSTM,
  ),
  one(
    "lstm wgsl: forget bias b_ih twice",
    LSTM_WGSL,
    "bih[H + j] + bhh[H + j]",
    "bih[H + j] + bih[H + j]",
    T_LSTM,
  ),
  one(
    "lstm backward wgsl: input gate without sigmoid'",
    LSTM_BACK_WGSL,
    "dct * g * i * (1.0 - i),",
    "dct * g * i,",
    T_LSTM,
  ),
  one(
    "lstm backward wgsl: forget gate without sigmoid'",
    LSTM_BACK_WGSL,
    "dct * cp * f * (1.0 - f),",
    "dct * cp * (1.0 - f),",
    T_LSTM,
  ),
  one(
    "lstm backward wgsl: g gate with 1 - g",
    LSTM_BACK_WGSL,
    "dct * i * (1.0 - g * g),",
    "dct * i * (1.0 - g),",
    T_LSTM,
  ),
  one(
    "lstm backward wgsl: output gate without o",
    LSTM_BACK_WGSL,
    "dh * tc * o * (1.0 - o),",
    "dh * tc * (1.0 - o),",
    T_LSTM,
  ),
  one(
    "lstm backward wgsl: dc carried without the forget gate",
    LSTM_BACK_WGSL,
    "carry[B * H + b * H + j] = dct * f;",
    "carry[B * H + b * H + j] = dct;",
    T_LSTM,
  ),
  one("lstm backward wgsl: dc without tanh'", LSTM_BACK_WGSL, "dh * o * (1.0 - tc * tc)", "dh * o", T_LSTM),
  one(
    "lstm cpu: forget gate ignored",
    LSTM_CPU,
    "const c = f * (cPrev ? cPrev[b * H + j] : 0) + i * g;",
    "const c = (cPrev ? cPrev[b * H + j] : 0) + i * g;",
    T_LSTM_CPU,
  ),
  one(
    "lstm cpu: g gate through sigmoid",
    LSTM_CPU,
    "const g = Math.tanh(pre[g0 + 2 * H + j]);",
    "const g = sigmoid(pre[g0 + 2 * H + j]);",
    T_LSTM_CPU,
  ),
  one(
    "lstm cpu: h without tanh of c",
    LSTM_CPU,
    "hOut[b * H + j] = o * Math.tanh(c);",
    "hOut[b * H + j] = o * c;",
    T_LSTM_CPU,
  ),
  one(
    "lstm backward cpu: input gate without sigmoid'",
    LSTM_CPU,
    "dPre[g0 + j] = dct * g * i * (1 - i);",
    "dPre[g0 + j] = dct * g * i;",
    T_LSTM_CPU,
  ),
  one(
    "lstm backward cpu: forget gate without sigmoid'",
    LSTM_CPU,
    "dct * cp * f * (1 - f);",
    "dct * cp * (1 - f);",
    T_LSTM_CPU,
  ),
  one(
    "lstm backward cpu: g gate with 1 - g",
    LSTM_CPU,
    "dct * i * (1 - g * g);",
    "dct * i * (1 - g);",
    T_LSTM_CPU,
  ),
  one(
    "lstm backward cpu: output gate without o",
    LSTM_CPU,
    "dh[n] * tc * o * (1 - o);",
    "dh[n] * tc * (1 - o);",
    T_LSTM_CPU,
  ),
  one(
    "lstm backward cpu: dc carried without the forget gate",
    LSTM_CPU,
    "dcPrev[n] = dct * f;",
    "dcPrev[n] = dct;",
    T_LSTM_CPU,
    { filter: "lstm", quick: true },
  ),

  // ---- the LSTM sequence kernels: time, state carried between steps, barriers, the packed layout ----
  one(
    "lstm seq wgsl: positions read in reverse (wrong time index)",
    LSTM_SEQ,
    "let row = (b0 + r) * T + t;",
    "let row = (b0 + r) * T + (T - 1u - t);",
    T_LSTM,
    { filter: "(sequence)" },
  ),
  one(
    "lstm seq wgsl: c not carried to the next step",
    LSTM_SEQ,
    "cs[r] = cNew;",
    "",
    T_LSTM,
    { filter: "(sequence)", quick: true },
  ),
  one(
    "lstm seq wgsl: h written to the copy being read (h not carried)",
    LSTM_SEQ,
    "hs[nxt + r * QUADS + q] = select(vec4f(0.0), hNew, live);",
    "hs[cur + r * QUADS + q] = select(vec4f(0.0), hNew, live);",
    T_LSTM,
    { filter: "(sequence)" },
  ),
  one(
    "lstm seq wgsl: no barrier between steps",
    LSTM_SEQ,
    "    workgroupBarrier();\n  }\n}\n",
    "  }\n}\n",
    T_LSTM,
    { filter: "(sequence)" },
  ),
  one(
    "lstm seq wgsl: time-major rows (wrong row stride)",
    LSTM_SEQ,
    "let row = (b0 + r) * T + t;",
    "let row = t * B + b0 + r;",
    T_LSTM,
    { filter: "(sequence)" },
  ),
  one(
    "lstm seq wgsl: the recurrent sums not cleared between steps",
    LSTM_SEQ,
    "    ai{{r}} = vec4f(0.0);\n    af{{r}} = vec4f(0.0);\n    ag{{r}} = vec4f(0.0);\n    ao{{r}} = vec4f(0.0);\n",
    "",
    T_LSTM,
    { filter: "(sequence)" },
  ),
  one(
    "lstm seq wgsl: forget gate ignored",
    LSTM_SEQ,
    "let cNew = f * cs[r] + i * g;",
    "let cNew = cs[r] + i * g;",
    T_LSTM,
    { filter: "(sequence)" },
  ),
  one(
    "lstm seq wgsl: the initial h ignored",
    LSTM_SEQ,
    "hs[r * QUADS + q] = select(vec4f(0.0), ldH0(b * H, j4), live);",
    "hs[r * QUADS + q] = vec4f(0.0);",
    T_LSTM,
    { filter: "initial state" },
  ),
  one(
    "lstm seq wgsl: units past H of the last quad not zeroed in h",
    LSTM_SEQ,
    "hs[nxt + r * QUADS + q] = select(vec4f(0.0), hNew, live);",
    "hs[nxt + r * QUADS + q] = hNew;",
    T_LSTM,
    { filter: "(sequence)" },
  ),
  one(
    "lstm seq backward wgsl: positions walked forward (wrong time index)",
    LSTM_SEQ_BACK,
    "let t = T - 1u - s;",
    "let t = s;",
    T_LSTM,
    { filter: "(sequence)" },
  ),
  one(
    "lstm seq backward wgsl: dh not carried to the previous step",
    LSTM_SEQ_BACK,
    "      dhRec[{{r}}u] = d{{r}};\n",
    "",
    T_LSTM,
    { filter: "(sequence)", quick: true },
  ),
  one(
    "lstm seq backward wgsl: the recurrent sums not cleared between steps",
    LSTM_SEQ_BACK,
    "      d{{r}} = vec4f(0.0);\n",
    "",
    T_LSTM,
    { filter: "(sequence)" },
  ),
  one(
    "lstm seq backward wgsl: dc carried without the forget gate",
    LSTM_SEQ_BACK,
    "dcRec[r] = dct * f;",
    "dcRec[r] = dct;",
    T_LSTM,
    { filter: "(sequence)" },
  ),
  one(
    "lstm seq backward wgsl: no barrier between the gate gradients and dh",
    LSTM_SEQ_BACK,
    "    workgroupBarrier();\n",
    "",
    T_LSTM,
    { filter: "(sequence)" },
  ),
  one(
    "lstm seq backward wgsl: time-major rows (wrong row stride)",
    LSTM_SEQ_BACK,
    "let row = b * T + t;",
    "let row = t * B + b;",
    T_LSTM,
    { filter: "(sequence)" },
  ),
  one(
    "lstm seq backward wgsl: h_{t-1} for dW_hh not shifted",
    LSTM_SEQ_BACK,
    "hp = ldH((row - 1u) * H, j4);",
    "hp = ldH(row * H, j4);",
    T_LSTM,
    { filter: "(sequence)" },
  ),
  one(
    "lstm seq backward wgsl: the initial c ignored",
    LSTM_SEQ_BACK,
    "cp = ldC0(b * H, j4);",
    "cp = vec4f(0.0);",
    T_LSTM,
    { filter: "initial state" },
  ),
  one(
    "lstm seq backward wgsl: forget gate without sigmoid'",
    LSTM_SEQ_BACK,
    "let df = dct * cp * f * (1.0 - f);",
    "let df = dct * cp * (1.0 - f);",
    T_LSTM,
    { filter: "(sequence)" },
  ),
  one(
    "lstm host: the input projection over the built rows, not B * Tb",
    LSTM_HOST,
    '        runtimeRows: { dim: "M", perStep: B },\n',
    "",
    T_LSTM,
    { filter: "Tb below" },
  ),
  one(
    "lstm host: the bias gradients summed over the built rows",
    LSTM_HOST,
    "bufs.dbhh, {\n      perStep: B,\n      step,\n    }),",
    "bufs.dbhh),",
    T_LSTM,
    { filter: "Tb below" },
  ),
  one(
    "lstm cell wgsl: the initial state ignored",
    LSTM_WGSL,
    "    return h0[b * H + k];",
    "    return 0.0;",
    T_LSTM,
    { filter: "(steps): from an initial state" },
  ),
  one(
    "lstm cell backward wgsl: the batch's last position taken as the buffers' last",
    LSTM_BACK_WGSL,
    "let last = STEP + 1u == T;",
    "let last = false;",
    T_LSTM,
    { filter: "(steps): Tb below" },
  ),
  one(
    "lstm cpu: the initial state ignored by the backward",
    LSTM_CPU,
    "lstmCellBackward(gates, t > 0 ? cPrev : init?.c ?? null, c, dh, dcNext, B, H, dPre, dcPrev);",
    "lstmCellBackward(gates, t > 0 ? cPrev : null, c, dh, dcNext, B, H, dPre, dcPrev);",
    ["tests/cpu_ops_test.ts"],
    { filter: "initial state" },
  ),

  // ---- 0.1% errors (the audit's table): PyTorch parity on the in-repository fixture must see them ----
  one(
    "lstm cpu: forget gate x 0.999 (parity alone)",
    LSTM_CPU,
    "const f = sigmoid(pre[g0 + H + j]);",
    "const f = 0.999 * sigmoid(pre[g0 + H + j]);",
    ["tests/parity_cpu_test.ts"],
  ),
  {
    name: "lstm cpu: c_prev x 0.999 in forward and backward alike (parity alone)",
    edits: [
      {
        file: LSTM_CPU,
        find: "const c = f * (cPrev ? cPrev[b * H + j] : 0) + i * g;",
        replace: "const c = f * (cPrev ? 0.999 * cPrev[b * H + j] : 0) + i * g;",
      },
      {
        file: LSTM_CPU,
        find: "const cp = cPrev ? cPrev[n] : 0;",
        replace: "const cp = cPrev ? 0.999 * cPrev[n] : 0;",
      },
      { file: LSTM_CPU, find: "dcPrev[n] = dct * f;", replace: "dcPrev[n] = 0.999 * dct * f;" },
    ],
    tests: ["tests/parity_cpu_test.ts"],
  },
  one(
    "lstm wgsl: forget gate x 0.999 (parity alone)",
    LSTM_WGSL,
    "let f = sigmoid(pre[r].y);",
    "let f = 0.999 * sigmoid(pre[r].y);",
    ["tests/parity_gpu_test.ts"],
    { filter: "per-position LSTM kernels" },
  ),
  one(
    "lstm seq wgsl: forget gate x 0.999 (parity alone)",
    LSTM_SEQ,
    "let f = sigmoid4(pre[ROWS + r] + ldGates(row * G + H, j4) + bf);",
    "let f = 0.999 * sigmoid4(pre[ROWS + r] + ldGates(row * G + H, j4) + bf);",
    ["tests/parity_gpu_test.ts"],
    { filter: "parity, tiny fixture: the WebGPU" },
  ),
  one(
    "lstm seq backward wgsl: output gate gradient x 0.999 (parity alone)",
    LSTM_SEQ_BACK,
    "let dO = dh * tc * o * (1.0 - o);",
    "let dO = 0.999 * dh * tc * o * (1.0 - o);",
    ["tests/parity_gpu_test.ts"],
    { filter: "parity, tiny fixture: the WebGPU" },
  ),

  // ---- LSTM gates planted alike in WGSL and the CPU reference: only PyTorch parity can tell (the per-position
  // kernels through the parity test that forces them, the sequence kernels through the others) ----
  {
    name: "lstm seq wgsl + cpu alike: forget gate ignored",
    edits: [
      { file: LSTM_SEQ, find: "let cNew = f * cs[r] + i * g;", replace: "let cNew = cs[r] + i * g;" },
      {
        file: LSTM_CPU,
        find: "const c = f * (cPrev ? cPrev[b * H + j] : 0) + i * g;",
        replace: "const c = (cPrev ? cPrev[b * H + j] : 0) + i * g;",
      },
      { file: LSTM_SEQ_BACK, find: "let df = dct * cp * f * (1.0 - f);", replace: "let df = vec4f(0.0);" },
      { file: LSTM_SEQ_BACK, find: "dcRec[r] = dct * f;", replace: "dcRec[r] = dct;" },
      { file: LSTM_CPU, find: "dct * cp * f * (1 - f);", replace: "0;" },
      { file: LSTM_CPU, find: "dcPrev[n] = dct * f;", replace: "dcPrev[n] = dct;" },
    ],
    tests: T_PARITY,
  },
  {
    name: "lstm wgsl + cpu alike: forget gate ignored",
    edits: [
      { file: LSTM_WGSL, find: "let cNew = f * cPrev[r] + i * g;", replace: "let cNew = cPrev[r] + i * g;" },
      {
        file: LSTM_CPU,
        find: "const c = f * (cPrev ? cPrev[b * H + j] : 0) + i * g;",
        replace: "const c = (cPrev ? cPrev[b * H + j] : 0) + i * g;",
      },
      { file: LSTM_BACK_WGSL, find: "dct * cp * f * (1.0 - f),", replace: "0.0," },
      {
        file: LSTM_BACK_WGSL,
        find: "carry[B * H + b * H + j] = dct * f;",
        replace: "carry[B * H + b * H + j] = dct;",
      },
      { file: LSTM_CPU, find: "dct * cp * f * (1 - f);", replace: "0;" },
      { file: LSTM_CPU, find: "dcPrev[n] = dct * f;", replace: "dcPrev[n] = dct;" },
    ],
    tests: T_PARITY,
  },
  {
    name: "lstm wgsl + cpu alike: g gate through sigmoid",
    edits: [
      { file: LSTM_WGSL, find: "let g = tanhSafe(pre[r].z);", replace: "let g = sigmoid(pre[r].z);" },
      {
        file: LSTM_CPU,
        find: "const g = Math.tanh(pre[g0 + 2 * H + j]);",
        replace: "const g = sigmoid(pre[g0 + 2 * H + j]);",
      },
      { file: LSTM_BACK_WGSL, find: "dct * i * (1.0 - g * g),", replace: "dct * i * g * (1.0 - g)," },
      { file: LSTM_CPU, find: "dct * i * (1 - g * g);", replace: "dct * i * g * (1 - g);" },
    ],
    tests: T_PARITY,
  },
  {
    name: "lstm wgsl + cpu alike: input and forget gates swapped",
    edits: [
      { file: LSTM_WGSL, find: "let i = sigmoid(pre[r].x);", replace: "let i = sigmoid(pre[r].y);" },
      { file: LSTM_WGSL, find: "let f = sigmoid(pre[r].y);", replace: "let f = sigmoid(pre[r].x);" },
      {
        file: LSTM_CPU,
        find: "const i = sigmoid(pre[g0 + j]);",
        replace: "const i = sigmoid(pre[g0 + H + j]);",
      },
      {
        file: LSTM_CPU,
        find: "const f = sigmoid(pre[g0 + H + j]);",
        replace: "const f = sigmoid(pre[g0 + j]);",
      },
      {
        file: LSTM_BACK_WGSL,
        find: "      dct * g * i * (1.0 - i),\n        dct * cp * f * (1.0 - f),",
        replace: "      dct * cp * f * (1.0 - f),\n        dct * g * i * (1.0 - i),",
      },
      {
        file: LSTM_CPU,
        find: "dPre[g0 + j] = dct * g * i * (1 - i);",
        replace: "dPre[g0 + H + j] = dct * g * i * (1 - i);",
      },
      {
        file: LSTM_CPU,
        find: "dPre[g0 + H + j] = dct * cp * f * (1 - f);",
        replace: "dPre[g0 + j] = dct * cp * f * (1 - f);",
      },
    ],
    tests: T_PARITY,
  },

  // ---- the WebGPU backend ----
  one(
    "gpu backend: an out-of-memory error while building goes unreported",
    "src/gpu/backend.ts",
    "  if (oom) {",
    "  if (false) {",
    ["tests/gpu_backend_test.ts"],
    { filter: "out of GPU memory" },
  ),
  one(
    "gpu backend: a model refused for lack of memory keeps its buffers",
    "src/gpu/backend.ts",
    "    backend.destroy();\n    throw new UserError(",
    "    throw new UserError(",
    ["tests/gpu_backend_test.ts"],
    { filter: "out of GPU memory" },
  ),

  // ---- the headline graph on WebGPU (src/gpu/model.ts, backend.ts, dropout.ts) ----
  one(
    "gpu tie: the embedding's backward overwrites the tied output layer's gradient (ACCUMULATE off)",
    GPU_MODEL,
    "      this.config.tie === true,\n",
    "      false,\n",
    T_GPU_HEADLINE,
    { filter: "tied" },
  ),
  one(
    "gpu dropout: the gradient pass between LSTM layers omitted",
    GPU_MODEL,
    "if (k > 0 && dropping) backward.push(await this.#drop(dropoutSite.lstmInput(k), H, act.dh[k - 1]));",
    "",
    T_GPU_HEADLINE,
    { filter: "headline model" },
  ),
  one(
    "gpu dropout: the head input's gradient pass omitted",
    GPU_MODEL,
    "if (dropping) backward.push(await this.#drop(dropoutSite.fc1Input(L), H, act.dh[L - 1]));",
    "",
    T_GPU_HEADLINE,
    { filter: "headline model" },
  ),
  one(
    "gpu dropout: the embedding output's gradient pass omitted",
    GPU_MODEL,
    "if (dropping) backward.push(await this.#drop(dropoutSite.embedding, E, act.dx));",
    "",
    T_GPU_HEADLINE,
    { filter: "headline model" },
  ),
  one(
    "gpu dropout: fc2's input gradient pass omitted",
    GPU_MODEL,
    "        backward.push(await this.#drop(dropoutSite.fc2Input(L), M, act.dz1, undefined, this.#headline));\n",
    "",
    T_GPU_HEADLINE,
    { filter: "window model" },
  ),
  one(
    "gpu headline: a batch's Tb one short of its longest row",
    GPU_BACKEND,
    "model.step.set(start, size, this.#queued++, steps);",
    "model.step.set(start, size, this.#queued++, Math.max(1, steps - 1));",
    T_GPU_HEADLINE,
    { filter: "headline model" },
  ),
  one(
    "gpu headline: a batch's Tb from all its rows but the last",
    GPU_BACKEND,
    "for (let n = start; n < start + size; n++) steps = Math.max(",
    "for (let n = start; n < start + size - 1; n++) steps = Math.max(",
    T_GPU_HEADLINE,
    { filter: "headline model" },
  ),
  one(
    "gpu dropout: a batch's positions past the first not masked (PER_STEP ignored)",
    "src/gpu/dropout.ts",
    "PER_STEP: maxSteps > 0,",
    "PER_STEP: false,",
    ["tests/gpu_dropout_test.ts", ...T_GPU_HEADLINE],
  ),
  one(
    "gpu dropout: a pass per row masks the step's positions too (PER_STEP always on)",
    "src/gpu/dropout.ts",
    "PER_STEP: maxSteps > 0,",
    "PER_STEP: true,",
    ["tests/gpu_dropout_test.ts"],
    { filter: "per row" },
  ),
  one(
    "gpu dropout: every step's masks those of the first step",
    GPU_BACKEND,
    "model.dropout?.set(dropout ?? { rate: 0, seed: 0 }, this.#adamStep);",
    "model.dropout?.set(dropout ?? { rate: 0, seed: 0 }, 1);",
    T_GPU_HEADLINE,
    { filter: "headline model" },
  ),
  one(
    "gpu advance: the LSTM built without the carried state (h0, c0)",
    GPU_MODEL,
    "            h0: act.h0[k],\n            c0: act.c0[k],\n",
    "",
    T_GPU_HEADLINE,
    { filter: "headline model" },
  ),
  one(
    "gpu advance: the carried c not written to c0",
    GPU_BACKEND,
    "this.#gpu.write(c0.buffer, c0.offset, c);",
    "",
    T_GPU_HEADLINE,
    { filter: "headline model" },
  ),

  // ---- doctor's rows of the headline model's variants ----
  one(
    "doctor: the per-position loss row checks the loss per row",
    "src/doctor/doctor.ts",
    "(ctx) => checkSoftmaxXent(ctx, shapes, true, true),",
    "(ctx) => checkSoftmaxXent(ctx, shapes, true),",
    ["tests/doctor_test.ts"],
    { filter: "headline model's variants" },
  ),
  one(
    "doctor: the accumulating embedding row checks the overwriting backward",
    "src/doctor/doctor.ts",
    '(ctx) => checkEmbedding(ctx, shapes, "accumulate"),',
    '(ctx) => checkEmbedding(ctx, shapes, "backward"),',
    ["tests/doctor_test.ts"],
    { filter: "headline model's variants" },
  ),

  // ---- the training loop, run files and the CLIs ----
  one(
    "train loop: only NaN stops training (Inf passes)",
    "src/train/loss_queue.ts",
    "if (!Number.isFinite(loss)) {",
    "if (Number.isNaN(loss)) {",
    ["tests/train_cli_test.ts"],
    { filter: "infinite loss", quick: true },
  ),
  one(
    "train loop: resume redraws the epoch's shuffle from the seed",
    "src/train/loop.ts",
    "epochRng: resumed ? resumed.rng : new Rng(opts.seed).state,",
    "epochRng: new Rng(opts.seed).state,",
    ["tests/robust_crash_test.ts"],
    { filter: "loss for loss" },
  ),
  one(
    "metrics: a resume keeps the killed run's records past its checkpoint",
    "src/deno/metrics_file.ts",
    "(r) => through === undefined || r.step === undefined || r.step <= through,",
    "() => true,",
    ["tests/robust_crash_test.ts"],
    { filter: "loss for loss" },
  ),
  one(
    "cli: --init read but its weights not used",
    "src/cli/train.ts",
    "? (await loadModelFile(plan.init.path, plan.config)).params",
    "? (await loadModelFile(plan.init.path, plan.config), initParams(plan.config, plan.seed))",
    ["tests/train_cli_test.ts"],
    { filter: "init FILE starts" },
  ),
  one(
    "package: the shaders left out of the published files",
    "deno.json",
    '"shaders/"',
    '"shaders/README.md"',
    ["tests/package_test.ts"],
  ),
  one(
    "example: the Deno example trains one epoch",
    "examples/train_and_predict.ts",
    "epochs: 60,",
    "epochs: 1,",
    ["tests/examples_test.ts"],
    { filter: "example (cpu)" },
  ),
  one(
    "example: the browser example reads a one-word window",
    "examples/browser/main.ts",
    "encodePrompt(text, model.vocab, model.config.window)",
    "encodePrompt(text, model.vocab, 1)",
    ["tests/examples_test.ts"],
    { filter: "browser example (cpu)" },
  ),
  one(
    "lint: a function one line over the limit passes",
    "tools/lint_plugin.ts",
    "const lines = lineOf(node.range[1]) - lineOf(node.range[0]) + 1;",
    "const lines = lineOf(node.range[1]) - lineOf(node.range[0]);",
    ["tests/lint_plugin_test.ts"],
  ),
  one(
    "cli: WEBGPU_LSTM_DEBUG=1 prints no stack",
    "src/cli/args.ts",
    "if (debugWanted() && e instanceof Error) console.error(e.stack);",
    "",
    ["tests/predict_cli_test.ts"],
    { filter: "WEBGPU_LSTM_DEBUG" },
  ),
  // ---- the plan of a run (src/plan/): one table and one planner for the CLI and the page ----
  one(
    "train flags: --batch not recorded, so --resume takes the default",
    "src/plan/train_flags.ts",
    'label: "batch",\n    recorded: true,',
    'label: "batch",',
    ["tests/train_plan_test.ts"],
    { filter: "plans what the recorded run planned", quick: true },
  ),
  one(
    "train plan: recorded flags win over the flags given now",
    "src/plan/train_plan.ts",
    "return { ...recordedValues(TRAIN_FLAGS, recorded), ...given };",
    "return { ...given, ...recordedValues(TRAIN_FLAGS, recorded) };",
    ["tests/train_plan_test.ts"],
    { filter: "a resumed run keeps" },
  ),
  one(
    "train plan: a file picked in the page is not recorded as picked",
    "src/plan/train_plan.ts",
    "if (s.data === undefined && naming.picked !== undefined) flags.picked = naming.picked;",
    "",
    ["tests/train_plan_test.ts"],
    { filter: "picked in the page" },
  ),
  one(
    "page fields: check boxes start off (--shuffle's default is on)",
    "src/plan/form_fields.ts",
    "value: checkbox ? spec.default === true : shown,",
    "value: checkbox ? false : shown,",
    ["tests/train_plan_test.ts"],
    { filter: "the page's fields give" },
  ),
  one(
    "page: the backend chosen is not recorded",
    "web/train_form.ts",
    "values.backend = backend;",
    "",
    ["tests/web_resume_test.ts"],
  ),
  one(
    "train --config: the file wins over the command line",
    "src/cli/train.ts",
    "return { ...configFileValues(text, file, TRAIN_FLAGS), ...commandLine };",
    "return { ...commandLine, ...configFileValues(text, file, TRAIN_FLAGS) };",
    ["tests/train_cli_test.ts"],
    { filter: "--config FILE" },
  ),
  one(
    "progress: ETA from the whole run's average (slow first steps count)",
    "src/train/loss_queue.ts",
    "etaSeconds: this.#pace.etaSeconds(totalSteps - last.step),",
    "etaSeconds: (elapsed / (last.step - this.#settings.firstStep)) * (totalSteps - last.step),",
    ["tests/train_plan_test.ts"],
    { filter: "slow first steps" },
  ),
  one(
    "data: punctuation kept in words",
    "src/data/clean.ts",
    'return text.replace(PUNCTUATION_RE, "").toLowerCase()',
    "return text.toLowerCase()",
    ["tests/data_test.ts"],
  ),

  // ---- evaluation: the Kneser-Ney count model, its bytes, the targets it is scored on, the mixture ----
  one(
    "kn: continuation counts replaced by raw counts below the highest order",
    KN,
    "const raw = k === order;",
    "const raw = true;",
    T_KN,
  ),
  one(
    "kn: an n-gram at a headline's start adds no continuation count",
    KN,
    "if (seen[k - 1].has(extended)) continue;",
    "if (seen[k - 1].has(extended) || j - k < runStart) continue;",
    T_KN,
  ),
  one(
    "kn: discount bucket off by one (a count of 1 takes D2)",
    KN,
    "discounts[3 * depth + Math.min(c, 3) - 1]",
    "discounts[3 * depth + Math.min(c, 2)]",
    T_KN,
  ),
  one(
    "kn: gamma from D1 for every word (plain KN's count)",
    KN,
    "left += d;",
    "left += discounts[3 * depth];",
    T_KN,
  ),
  one(
    "kn: gamma divided by the number of words instead of their total count",
    KN,
    "gamma: left / total",
    "gamma: left / node.words.length",
    T_KN,
  ),
  one("kn: Y from n1 / (n1 + n2)", KN, "const y = n1 / (n1 + 2 * n2);", "const y = n1 / (n1 + n2);", T_KN),
  one(
    "kn: headlines framed with one <s> too few",
    KN,
    "frame(headline, pad)",
    "frame(headline, pad - 1)",
    T_KN,
  ),
  one(
    "kn: a history is not framed with <s>",
    KN,
    "i >= position - (this.order - 1) && i >= -pad;",
    "i >= position - (this.order - 1) && i >= 0;",
    T_KN,
  ),
  one(
    "kn: a NO_ID in a history skipped instead of cutting it",
    KN,
    "if (id === NO_ID) break;\n      if (!(Number.isInteger(id)",
    "if (id === NO_ID) continue;\n      if (!(Number.isInteger(id)",
    T_KN,
  ),
  one("kn: n-grams counted across a NO_ID", KN, "runStart = j + 1;", "runStart = 0;", T_KN),
  one(
    "kn bytes: word steps written one too large",
    "src/io/kneser_ney.ts",
    "varints.push(id - previous);",
    "varints.push(id - previous + 1);",
    T_KN,
    { filter: "bytes" },
  ),
  one(
    "kn: a negative discount not sent to the fallback",
    KN,
    "d.every((x, r) => x > 0 && x <= r + 1)",
    "d.every((x, r) => x <= r + 1)",
    T_KN,
    { filter: "modifiedDiscounts" },
  ),
  one(
    "kn: a fixed discount above 1 accepted",
    KN,
    "!(fixed > 0 && fixed <= 1)",
    "!(fixed > 0)",
    T_KN,
    { filter: "bad input" },
  ),
  one(
    "kn bytes: bytes after the counts accepted",
    "src/io/kneser_ney.ts",
    "if (offset !== bytes.length) bad(",
    "if (offset > bytes.length) bad(",
    T_KN,
    { filter: "bytes" },
  ),
  one(
    "eval targets: a NO_ID in the window not skipped",
    "src/eval/targets.ts",
    "ids.subarray(Math.max(0, p - window), p + 1)",
    "ids.subarray(p, p + 1)",
    T_KN,
    { filter: "headlineTargets" },
  ),
  one(
    "eval ranks: ties go to the higher id",
    "src/eval/scores.ts",
    "(row[v] === row[target] && v < target)",
    "(row[v] === row[target] && v > target)",
    T_KN,
    { filter: "scoreKneserNey" },
  ),
  one(
    "mixture: bisection moves the wrong end",
    MIXTURE,
    "if (slope(mid) > 0) lo = mid;",
    "if (slope(mid) < 0) lo = mid;",
    T_MIXTURE,
  ),
  one("mixture: an optimum at weight 0 not seen", MIXTURE, "if (slope(0) <= 0) return 0;", "", T_MIXTURE),
  one(
    "mixture: ranks from the count model alone",
    MIXTURE,
    "rankOf(mixed, target)",
    "rankOf(countProbs, target)",
    T_MIXTURE,
  ),

  // ---- the headline model, the head's width and dropout (CPU reference, WGSL, the partner) ----
  one(
    "dropout cpu: the mask not applied to fc2's gradient",
    "src/cpu/model.ts",
    "    undrop(dFc2Input, dropoutSite.fc2Input(L), masks);\n",
    "",
    ["tests/cpu_headline_test.ts", "tests/parity_cpu_test.ts"],
    { quick: true },
  ),
  one(
    "dropout cpu: the embedding output's mask reused for an LSTM layer's input",
    "src/cpu/model.ts",
    "if (k > 0) x = drop(x, dropoutSite.lstmInput(k), opts, masks);",
    "if (k > 0) x = drop(x, dropoutSite.embedding, opts, masks);",
    ["tests/parity_cpu_test.ts"],
    { filter: "headline" },
  ),
  one(
    "dropout hash: one multiplier off",
    "src/model/dropout.ts",
    "x = Math.imul(x, 0x7feb352d) >>> 0;",
    "x = Math.imul(x, 0x7feb352c) >>> 0;",
    ["tests/cpu_headline_test.ts"],
    { filter: "masks" },
  ),
  one(
    "dropout wgsl: kept values not scaled",
    "shaders/dropout.wgsl",
    "let value = x[i] * select(0.0, d.scale, kept);",
    "let value = x[i] * select(0.0, 1.0, kept);",
    ["tests/gpu_dropout_test.ts"],
  ),
  one(
    "dropout wgsl: only the first position's share of the elements masked (the step's positions ignored)",
    "shaders/dropout.wgsl",
    "select(1u, step.steps, PER_STEP)",
    "select(1u, step.steps, false)",
    ["tests/gpu_dropout_test.ts"],
  ),
  one(
    "tie cpu: the output layer's gradient overwritten by the embedding's",
    "src/cpu/model.ts",
    'embeddingBackward(dh, cache.ids, E, g("embed.weight"), cfg.tie === true);',
    'embeddingBackward(dh, cache.ids, E, g("embed.weight"), false);',
    ["tests/cpu_headline_test.ts", "tests/parity_cpu_test.ts"],
    { filter: "tied" },
  ),
  one(
    "headline rows: no </s> after a headline's last word",
    "src/data/sequences.ts",
    "      targets[ids.length] = EOS_ID;\n",
    "",
    ["tests/cpu_headline_test.ts"],
    { filter: "makeSequences" },
  ),
  one(
    "headline cpu: advance ignores the carried c",
    "src/cpu/backend.ts",
    "c.set(state.subarray(at + H, at + 2 * H), r * H);",
    "",
    ["tests/cpu_headline_test.ts"],
    { filter: "advance" },
  ),
  one(
    "softmax wgsl per position: padding counted in the mean",
    "shaders/softmax_xent_count.wgsl",
    "if (targets[row + t] >= 0) {",
    "if (targets[row + t] >= -1) {",
    T_SOFTMAX,
    { filter: "per position" },
  ),
  one(
    "softmax cpu: ignored targets counted in the mean",
    SOFTMAX_CPU,
    "for (let b = 0; b < B; b++) if (targets[b] >= 0) N++;",
    "N = B;",
    ["tests/cpu_headline_test.ts"],
    { filter: "longest row" },
  ),
  one(
    "embedding wgsl: a short step strided by the data's rows",
    "shaders/embedding.wgsl",
    "  let b = p / step.steps;\n  let t = p % step.steps;",
    "  let b = p / T;\n  let t = p % T;",
    T_EMBEDDING,
  ),
  one(
    "partner: the count model reads only the model's window of a prompt",
    "src/sample/contexts.ts",
    "model.distribution(model.history(h, h.length), count);",
    "model.distribution(model.history(h.slice(-1), 1), count);",
    ["tests/partner_test.ts"],
  ),

  // ---- the test harness itself ----
  one(
    "gpu harness: REQUIRE_GPU=1 without an adapter ignores GPU tests instead of failing them",
    "tests/gpu_harness.ts",
    "ignore: options.ignore || (!hasAdapter && !REQUIRE_GPU),",
    "ignore: options.ignore || !hasAdapter,",
    ["tests/gpu_harness_test.ts"],
    { quick: true },
  ),
  // ---- length buckets and the word-language-model init ----
  one(
    "order: bucketed batches not shuffled (every epoch short to long)",
    "src/train/order.ts",
    "const batches = rng.shuffle(Int32Array.from({ length: full }, (_, i) => i));",
    "const batches = Int32Array.from({ length: full }, (_, i) => i);",
    ["tests/train_order_test.ts"],
  ),
  one(
    "order: a bucket's last rows sorted into the next bucket's span (span off by one batch)",
    "src/train/order.ts",
    "const span = opts.bucket * opts.batch;",
    "const span = (opts.bucket + 1) * opts.batch;",
    ["tests/train_order_test.ts"],
  ),
  one(
    "init: --init-range leaves fc2.bias at PyTorch's default",
    "src/model/init.ts",
    '"fc2.bias": "zero",',
    "",
    ["tests/cpu_model_test.ts"],
    { filter: "init:" },
  ),
  one(
    "init: --init-range not passed from the plan",
    "src/plan/train_plan.ts",
    ': { kind: "seed", ...(s["init-range"] !== undefined ? { range: s["init-range"] } : {}) };',
    ': { kind: "seed" };',
    ["tests/train_plan_test.ts"],
  ),
  one(
    "page: a headline model's training buffers one position short",
    "web/train_view.ts",
    "maxSteps: longestRow(setup.data, modelKind(config)),",
    "maxSteps: longestRow(setup.data, modelKind(config)) - 1,",
    ["tests/web_headline_test.ts"],
    { filter: "trained in the page" },
  ),
];
