/// <reference lib="dom" />
/**
 * The Adapter section: which WebGPU adapter the page got (description, software or not, feature level, the
 * limits the kernels care about), the kernel variants the core chooses for the model on it and why (doctor's
 * describeAdapter, as `deno task doctor` prints them), and the "Check this GPU" button: doctor's checks on
 * this adapter, with their table of largest errors against the CPU reference.
 */
import { describeAdapter, type Gpu } from "../core.ts";
import { byId, el } from "./dom.ts";
import { checkThisGpu } from "./check_gpu.ts";
import { reporting } from "./messages.ts";

const LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupStorageSize",
  "maxUniformBufferBindingSize",
  "maxStorageBuffersPerShaderStage",
] as const;

const size = (n: number) =>
  n >= 2 ** 20 && n % 2 ** 20 === 0
    ? `${n / 2 ** 20} MiB`
    : n >= 1024 && n % 1024 === 0
    ? `${n / 1024} KiB`
    : `${n}`;

export function setupAdapter(gpu: Gpu | null, unavailable: string | null): void {
  const info = byId("adapter-info");
  const choices = byId("kernel-choices");
  const button = byId<HTMLButtonElement>("check-gpu");
  const results = byId("check-results");
  const kv = (k: string, v: string) => el("tr", {}, el("th", {}, k), el("td", {}, v));
  if (!gpu) {
    info.replaceChildren(kv("adapter", `none: ${unavailable ?? "no WebGPU"}`));
    button.disabled = true;
    return;
  }
  const a = gpu.adapter;
  const limits = gpu.device.limits;
  info.replaceChildren(
    kv("adapter", a.description),
    kv("vendor / architecture", [a.vendor, a.architecture].filter(Boolean).join(" / ") || "(not reported)"),
    kv("software (fallback) adapter", a.isFallbackAdapter ? "yes" : "no"),
    kv("feature level", a.featureLevel),
    ...LIMITS.map((name) => kv(name, size(limits[name]))),
  );
  choices.replaceChildren(
    el("tr", {}, el("th", {}, "operation"), el("th", {}, "kernel"), el("th", {}, "why")),
    ...describeAdapter(gpu).choices.map((c) =>
      el("tr", {}, el("td", {}, `${c.op} ${c.shape}`), el("td", {}, c.kernel), el("td", {}, c.reason))
    ),
  );
  const section = byId("adapter");
  button.addEventListener("click", () =>
    void reporting(async () => {
      button.disabled = true;
      section.dataset.check = "running";
      const running = (what: string) =>
        results.replaceChildren(el("tr", {}, el("td", {}, `running ${what}…`)));
      running("the kernels");
      try {
        const rows = await checkThisGpu(gpu, running);
        const exp = (x: number) => Number.isFinite(x) ? x.toExponential(1) : String(x);
        results.replaceChildren(
          el(
            "tr",
            {},
            ...["kernel", "largest error", "largest relative error", "allowed", ""].map((h) =>
              el("th", {}, h)
            ),
          ),
          ...rows.map((r) =>
            el(
              "tr",
              { "data-pass": String(r.pass) },
              el("td", {}, r.kernel),
              el("td", { class: "num" }, exp(r.maxAbs)),
              el("td", { class: "num" }, exp(r.maxRel)),
              el("td", {}, r.error ?? r.tolerance),
              el("td", { class: r.pass ? "pass" : "fail" }, r.pass ? "pass" : "FAIL"),
            )
          ),
        );
        section.dataset.check = rows.every((r) => r.pass) ? "pass" : "fail";
      } catch (e) {
        results.replaceChildren();
        section.dataset.check = "error";
        throw e;
      } finally {
        button.disabled = false;
      }
    }));
}
