#!/usr/bin/env bash
# The real-GPU check, for a machine with a GPU and a fresh clone: installs what is missing (Deno from npm,
# the Vulkan loader), then runs `deno task doctor` (every kernel variant of the window and the headline model
# against the CPU reference), `deno task bench` (WebGPU vs the CPU reference vs PyTorch, which runs on CUDA
# when torch.cuda.is_available(): the notebook's window model, then the headline model at the recipe's size,
# each with a step's counts, kernel time and fixed cost, and generation's ms per word), the notebook's 200 epochs on ArticlesApril2017.csv, and a headline model
# (tied direct head, dropout, clipping) for a few epochs whose predictions (advance from carried states) on
# WebGPU must equal the CPU reference's; and prints one summary.
#
#   bash scripts/gpu-check.sh --data PATH [--out DIR] [--epochs N] [--headline-epochs N]
#
# PATH: ArticlesApril2017.csv, or a directory holding it. Logs and JSON go to DIR (default runs/gpu-check).
# UNTESTED ON GPU HARDWARE: written and checked on GPU-less machines only (see README, "doctor").
set -uo pipefail
cd "$(dirname "$0")/.."

data="" out="runs/gpu-check" epochs=200 headline_epochs=10
while [ $# -gt 0 ]; do
  case "$1" in
  --data) data="${2:?--data needs a path}"; shift 2 ;;
  --out) out="${2:?--out needs a directory}"; shift 2 ;;
  --epochs) epochs="${2:?--epochs needs a number}"; shift 2 ;;
  --headline-epochs) headline_epochs="${2:?--headline-epochs needs a number}"; shift 2 ;;
  -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "gpu-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -d "$data" ] && data="$data/ArticlesApril2017.csv"
if [ ! -f "$data" ]; then
  echo "gpu-check: --data must name ArticlesApril2017.csv or a directory holding it (got '${data}')" >&2
  exit 2
fi
mkdir -p "$out"
say() { echo "gpu-check: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

# ---- install what is missing ----
if ! command -v npm >/dev/null; then
  say "installing Node.js and npm (Deno comes from npm)"
  as_root apt-get update -qq && as_root apt-get install -y -qq nodejs npm >/dev/null ||
    { say "no npm and no way to install it: install Node.js >= 18 with npm"; exit 1; }
fi
[ -x node_modules/.bin/deno ] || npm ci --no-audit --no-fund || { say "npm ci failed"; exit 1; }
export PATH="$PWD/node_modules/.bin:$PATH"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

gpu_name="none found"
if command -v nvidia-smi >/dev/null; then
  gpu_name=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -n 1)
fi
say "GPU (nvidia-smi): $gpu_name"

# wgpu needs the Vulkan loader and the driver's ICD file. Containers often put NVIDIA's ICD outside the
# loader's default directories: point the loader at it.
# (grep without -q: with pipefail, -q's early exit can fail ldconfig with SIGPIPE and the pipeline with it)
if ! ldconfig -p 2>/dev/null | grep 'libvulkan\.so\.1' >/dev/null; then
  say "installing the Vulkan loader (libvulkan1)"
  as_root apt-get update -qq && as_root apt-get install -y -qq libvulkan1 >/dev/null ||
    say "could not install libvulkan1: WebGPU may find no GPU adapter"
fi
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d; do
    if [ -f "$d/nvidia_icd.json" ]; then
      export VK_DRIVER_FILES="$d/nvidia_icd.json" VK_ICD_FILENAMES="$d/nvidia_icd.json"
      say "Vulkan driver: $d/nvidia_icd.json"
      break
    fi
  done
fi
# Vulkan only: never fall back to GL (or to a software adapter) without saying so.
export DENO_WEBGPU_BACKEND="${DENO_WEBGPU_BACKEND:-vulkan}"

# The interpreters the bench tries, in its order (src/deno/train_bench.ts).
torch="not importable"
for python in python3 /usr/bin/python3; do
  if v=$("$python" -c 'import torch; print(torch.__version__, "with CUDA" if torch.cuda.is_available() else "without CUDA")' 2>/dev/null); then
    torch="$python: torch $v"
    break
  fi
done
say "PyTorch: $torch"

# ---- run ----
timed() { # timed NAME CMD...: runs CMD with its stdout in $out/NAME.out and stderr shown; sets $rc, $secs
  local t0=$SECONDS
  "${@:2}" >"$out/$1.out"
  rc=$?
  secs=$((SECONDS - t0))
}

say "doctor (every variant the runtime would use for the window and the headline model, against the CPU reference)"
timed doctor deno task doctor --all
doctor_rc=$rc doctor_secs=$secs
cat "$out/doctor.out"
deno task doctor --json --shapes model >"$out/doctor.json" 2>/dev/null

say "bench (WebGPU, the CPU reference, PyTorch)"
timed bench deno task bench --data "$data" --json
bench_rc=$rc bench_secs=$secs
cat "$out/bench.out"

say "bench, headline model at the recipe's size (configs/headline.json: tied direct head, 512 wide, batch 32)"
timed bench_headline deno task bench --data "$data" --model-kind headline --embed 512 --hidden 512 --layers 1 \
  --head 0 --tie --dropout 0.6 --clip 5 --batch 32 --no-cpu --json
hbench_rc=$rc hbench_secs=$secs
cat "$out/bench_headline.out"

say "training: $epochs epochs on $data"
timed train deno task train --data "$data" --epochs "$epochs" --out "$out/train" --force --json
train_rc=$rc train_secs=$secs
tail -n 3 "$out/train.out"

say "headline model: $headline_epochs epochs on $data (tied direct head, dropout 0.3, clip 1), then predictions"
timed headline deno task train --data "$data" --boundaries --model-kind headline --embed 64 --hidden 64 \
  --layers 2 --head 0 --tie --dropout 0.3 --clip 1 --val-fraction 0.1 --epochs "$headline_epochs" \
  --out "$out/headline" --force --json
headline_rc=$rc headline_secs=$secs
tail -n 3 "$out/headline.out"
# A headline model predicts by advancing its LSTM state word by word (h0, c0): WebGPU against the reference.
prompts=("" "the" "new york" "trump says")
deno task predict --model "$out/headline" --top-k 10 --json "${prompts[@]}" >"$out/predict-webgpu.out"
deno task predict --model "$out/headline" --top-k 10 --json --backend cpu "${prompts[@]}" >"$out/predict-cpu.out"

# ---- summary ----
summary=$(
  deno eval --ext=ts '
const [
  out, doctorRc, doctorSecs, benchRc, benchSecs, hbenchRc, hbenchSecs, trainRc, trainSecs, headlineRc, headlineSecs,
  gpu, torch,
] = Deno.args;
const last = (f: string) => {
  try {
    const lines = Deno.readTextFileSync(f).trim().split("\n");
    return JSON.parse(lines[lines.length - 1]);
  } catch {
    return null;
  }
};
const d = last(`${out}/doctor.json`), b = last(`${out}/bench.out`), t = last(`${out}/train.out`);
const h = last(`${out}/headline.out`), hb = last(`${out}/bench_headline.out`);
// The largest difference of a top-10 probability between WebGPU and the CPU reference (words must agree).
const predictions = (f: string) => {
  try {
    return Deno.readTextFileSync(f).trim().split("\n").map((l) => JSON.parse(l));
  } catch {
    return null;
  }
};
const pw = predictions(`${out}/predict-webgpu.out`), pc = predictions(`${out}/predict-cpu.out`);
const predictLine = () => {
  if (!pw || !pc || pw.length !== pc.length) return "failed (see the predict-*.out files)";
  let diff = 0;
  for (const [i, w] of pw.entries()) {
    if (w.words.join(" ") !== pc[i].words.join(" ")) return `FAIL: "${w.prompt}" ranks other words than the CPU reference`;
    w.probabilities.forEach((p: number, k: number) => diff = Math.max(diff, Math.abs(p - pc[i].probabilities[k])));
  }
  return `${diff <= 1e-4 ? "PASS" : "FAIL"}: top-10 of ${pw.length} prompts as the CPU reference, ` +
    `probabilities within ${diff.toExponential(1)} (1e-4 allowed)`;
};
type Costs = { step_ms?: number; step?: { kernel_ms: number | null; fixed_ms: number | null; per_step: { submits: number } } | null; generation?: { ms_per_word: number } | null };
const costs = (x: Costs | undefined) =>
  `${x?.step?.kernel_ms != null ? `; step ${x.step_ms!.toFixed(1)} ms = kernels ${x.step.kernel_ms.toFixed(1)} + fixed ${x.step.fixed_ms!.toFixed(1)}` : ""}` +
  `${x?.step ? `, ${x.step.per_step.submits} submit(s)` : ""}${x?.generation ? `; ${x.generation.ms_per_word.toFixed(1)} ms per word` : ""}`;
const ratio = (x: { ratios?: { webgpu_over_pytorch: number | null } } | null) =>
  x?.ratios?.webgpu_over_pytorch ? ` (webgpu/pytorch ${x.ratios.webgpu_over_pytorch.toFixed(2)}x)` : "";
const rate = (x: { status: string; pairs_per_s?: number; reason?: string; detail?: string } | undefined, unit = "pairs") =>
  x?.status === "ok" ? `${x.pairs_per_s!.toFixed(0)} ${unit}/s${x.detail ? ` (${x.detail})` : ""}` : `${x?.status}: ${x?.reason}`;
const lines = [
  `GPU (nvidia-smi):  ${gpu}; PyTorch: ${torch}`,
  `adapter:           ${d ? `${d.adapter.description} (${d.adapter.backend}${d.adapter.fallback ? ", a SOFTWARE adapter: the GPU was not used" : ""})` : "none (see doctor)"}`,
  `doctor --all:      ${doctorRc === "0" ? "PASS" : `FAIL (exit ${doctorRc})`} in ${doctorSecs} s` +
    (d ? `; model shapes: ${d.kernels.filter((k: { pass: boolean }) => !k.pass).length} of ${d.kernels.length} kernel rows fail, training ${d.training?.pass ? "PASS" : "FAIL"}, headline training ${d.headline_training?.pass ? "PASS" : "FAIL"}` : ""),
  `bench:             ${benchRc === "0" && b ? `webgpu ${rate(b.backends.webgpu)}; pytorch ${rate(b.backends.pytorch)}; cpu ${rate(b.backends.cpu)}${ratio(b)}${costs(b.backends.webgpu)}` : `failed (exit ${benchRc})`} [${benchSecs} s]`,
  `bench, headline:   ${hbenchRc === "0" && hb ? `webgpu ${rate(hb.backends.webgpu, "headlines")}; pytorch ${rate(hb.backends.pytorch, "headlines")}${ratio(hb)}${costs(hb.backends.webgpu)}` : `failed (exit ${hbenchRc})`} [${hbenchSecs} s]`,
  `train:             ${trainRc === "0" && t ? `${t.epochs} epochs, ${t.steps} steps in ${t.seconds.toFixed(0)} s (${t.pairsPerSecond.toFixed(0)} pairs/s), last loss ${t.lastLoss.toFixed(4)}` : `failed (exit ${trainRc})`} [${trainSecs} s]`,
  `headline train:    ${headlineRc === "0" && h ? `${h.epochs} epochs, ${h.steps} steps in ${h.seconds.toFixed(0)} s (${h.pairsPerSecond.toFixed(0)} pairs/s), last loss ${h.lastLoss?.toFixed(4) ?? "-"}` : `failed (exit ${headlineRc})`} [${headlineSecs} s]`,
  `headline predict:  ${predictLine()}`,
];
console.log(lines.join("\n"));
' "$out" "$doctor_rc" "$doctor_secs" "$bench_rc" "$bench_secs" "$hbench_rc" "$hbench_secs" "$train_rc" \
    "$train_secs" "$headline_rc" "$headline_secs" "$gpu_name" "$torch"
)
echo
echo "==== gpu-check summary (logs in $out) ===="
echo "$summary"
[ "$doctor_rc" = 0 ] && [ "$bench_rc" = 0 ] && [ "$hbench_rc" = 0 ] && [ "$train_rc" = 0 ] && [ "$headline_rc" = 0 ] &&
  [[ "$summary" == *"headline predict:  PASS"* ]]
