/**
 * The browser harness itself: a WGSL kernel run in headless Chromium on both software adapters and checked
 * against JS, the adapters' reports, screenshots, typing, clicking, upload and download, failure reporting,
 * and that closing leaves no process and no temp folder behind.
 */
import { assert, assertEquals, assertRejects, randomArray } from "./assert.ts";
import {
  ADAPTER_REQUEST,
  type AdapterReport,
  ADAPTERS,
  Browser,
  browserTest,
  type PageGlobal,
  processesNaming,
  serveStatic,
} from "./browser_harness.ts";

/** Limits the page raises to the adapter's (compatibility-level defaults are low) and reports. */
const KEY_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeWorkgroupsPerDimension",
];

/** out[i] = a[i] + b[i] for i < n; 64 invocations per workgroup, so odd lengths leave idle ones. */
const ADD_WGSL = `
struct Params { n: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < params.n) { out[id.x] = a[id.x] + b[id.x]; }
}
`;

/**
 * Requests the adapter named in ?request= (JSON for requestAdapter), a device with KEY_LIMITS raised to the
 * adapter's, and the add pipeline; defines window.addArrays(a, b); sets window.__ready to a report.
 */
const ADD_PAGE = `<!doctype html>
<meta charset="utf-8"><title>WebGPU add</title>
<h1>WebGPU add</h1><p id="status">starting</p>
<script type="module">
const request = JSON.parse(new URLSearchParams(location.search).get("request") ?? "{}");
const KEYS = ${JSON.stringify(KEY_LIMITS)};
const status = document.getElementById("status");
async function main() {
  const adapter = await navigator.gpu.requestAdapter(request);
  if (!adapter) throw new Error("requestAdapter gave null");
  const requiredLimits = Object.fromEntries(KEYS.map((k) => [k, adapter.limits[k]]));
  const device = await adapter.requestDevice({ requiredLimits });
  device.addEventListener("uncapturederror", (e) => console.error("WebGPU error:", e.error.message));
  const module = device.createShaderModule({ code: ${JSON.stringify(ADD_WGSL)} });
  const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === "error");
  if (errors.length) throw new Error("WGSL: " + errors.map((m) => m.lineNum + ": " + m.message).join("; "));
  const pipeline = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  window.addArrays = async (a, b) => {
    const n = a.length, bytes = n * 4;
    const make = (data) => {
      const buf = device.createBuffer({ size: bytes, usage });
      if (data) device.queue.writeBuffer(buf, 0, new Float32Array(data));
      return buf;
    };
    const [bufA, bufB, bufOut] = [make(a), make(b), make(null)];
    const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(params, 0, new Uint32Array([n, 0, 0, 0]));
    const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [bufA, bufB, bufOut, params].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(Math.ceil(n / 64));
    pass.end();
    enc.copyBufferToBuffer(bufOut, 0, staging, 0, bytes);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = Array.from(new Float32Array(staging.getMappedRange()));
    staging.unmap();
    for (const buf of [bufA, bufB, bufOut, params, staging]) buf.destroy();
    status.textContent = "added " + n + " floats on " + adapter.info.description;
    return out;
  };
  const info = adapter.info;
  return {
    description: info.description, vendor: info.vendor, architecture: info.architecture,
    isFallbackAdapter: info.isFallbackAdapter, core: adapter.features.has("core-features-and-limits"),
    features: [...adapter.features].sort(),
    adapterLimits: Object.fromEntries(KEYS.map((k) => [k, adapter.limits[k]])),
    deviceLimits: Object.fromEntries(KEYS.map((k) => [k, device.limits[k]])),
  };
}
main().then((report) => {
  status.textContent = "ready: " + report.description;
  window.__ready = report;
}, (e) => {
  status.textContent = "failed: " + e.message;
  window.__ready = { error: String(e.message ?? e) };
});
</script>
`;

type AddReport = Omit<AdapterReport, "device" | "limits"> & {
  adapterLimits: Record<string, number>;
  deviceLimits: Record<string, number>;
};

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

for (const adapter of ADAPTERS) {
  browserTest(`browser WebGPU (${adapter}): a WGSL kernel adds two arrays as JS does`, { adapter }, async ({
    browser,
    page,
  }) => {
    await using server = serveStatic({ files: { "/": ADD_PAGE } });
    const probe = browser.adapterInfo!;
    await page.goto(`${server.url}?request=${encodeURIComponent(JSON.stringify(ADAPTER_REQUEST[adapter]))}`);
    const report = await page.waitForReady<AddReport>();
    console.log(
      `${adapter}: launch ${browser.launchMs.toFixed(0)} ms; "${report.description}" (vendor ` +
        `"${report.vendor}", architecture "${report.architecture}"), fallback ${report.isFallbackAdapter}, ` +
        `core ${report.core}\n` +
        `  ${report.features.length} features: ${report.features.join(" ")}\n` +
        `  adapter limits: ${JSON.stringify(report.adapterLimits)}\n` +
        `  device limits:  ${JSON.stringify(report.deviceLimits)}`,
    );
    assertEquals(report.description, probe.description, "the page and the launch probe saw one adapter");
    assertEquals(report.isFallbackAdapter, adapter === "swiftshader");
    assertEquals(
      report.core,
      adapter === "swiftshader",
      "lavapipe through ANGLE is compatibility level only",
    );
    assertEquals(report.deviceLimits, report.adapterLimits, "the device got every limit it asked for");
    assert(report.deviceLimits.maxComputeInvocationsPerWorkgroup >= 256);
    assert(report.deviceLimits.maxStorageBufferBindingSize >= 128 * 2 ** 20);

    for (const n of [1, 1001]) {
      const a = randomArray(n, 7 + n, -100, 100);
      const b = randomArray(n, 8 + n, -1, 1);
      const got = await page.evaluate(
        (a: number[], b: number[]) => (globalThis as PageGlobal).addArrays(a, b) as Promise<number[]>,
        Array.from(a),
        Array.from(b),
      );
      // An f32 sum is the double sum rounded to f32 (double rounding is exact for +), so equality is exact.
      assertEquals(got, Array.from(a, (x, i) => Math.fround(x + b[i])), `sum of ${n}`);
    }

    const status = await page.evaluate(() => (globalThis as PageGlobal).document.body.innerText as string);
    assert(status.includes("added 1001 floats"), status);
    const shot = await page.screenshot(`webgpu-add-${adapter}`);
    const png = await Deno.readFile(shot);
    assertEquals(Array.from(png.subarray(0, 8)), PNG_MAGIC);
    assert(png.length > 1000, `${shot}: ${png.length} bytes`);
    assert(!page.messages.some((m) => /WebGPU error/.test(m)), page.messages.join("\n"));
  });
}

const FORM_PAGE = `<!doctype html>
<meta charset="utf-8"><title>upload and download</title>
<input type="file" id="file"> <input id="name" value=""> <button id="save">save</button>
<script>
  document.getElementById("file").addEventListener("change", async (e) => {
    window.__uploaded = await e.target.files[0].text();
    console.log("uploaded", e.target.files[0].name, e.target.files[0].size);
  });
  document.getElementById("save").addEventListener("click", () => {
    const name = document.getElementById("name").value;
    const blob = new Blob([name + ":" + window.__uploaded.toUpperCase()], { type: "text/plain" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name + ".txt";
    a.click();
  });
  window.__ready = true;
</script>
`;

browserTest(
  "browser harness: type, click, upload a file and read back the download",
  {},
  async ({ page }) => {
    await using server = serveStatic({ files: { "/form.html": FORM_PAGE } });
    const dir = await Deno.makeTempDir({ prefix: "browser-harness-test-" });
    try {
      await Deno.writeTextFile(`${dir}/in.txt`, "hello from deno");
      await page.goto(`${server.url}form.html`);
      assertEquals(await page.waitForReady(), true);
      await page.upload("#file", [`${dir}/in.txt`]);
      assertEquals(
        await page.waitFor(() => (globalThis as PageGlobal).__uploaded as string),
        "hello from deno",
      );
      assert(page.messages.includes("[console.log] uploaded in.txt 15"), page.messages.join("\n"));
      await page.type("#name", "report");
      const file = await page.download(() => page.click("#save"));
      assertEquals(file.name, "report.txt");
      assertEquals(file.text(), "report:HELLO FROM DENO");
      await assertRejects(() => page.click("#nothing"), /no element matches #nothing/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

browserTest("browser harness: page errors fail waits at once; closing leaves nothing behind", {}, async ({
  browser,
  page,
}) => {
  await using server = serveStatic({
    files: {
      "/throws.html": `<script>console.warn("about to throw"); throw new Error("boom in the page");</script>`,
      "/reports.html": `<script>window.__ready = { error: "no adapter, say" };</script>`,
    },
  });
  await page.goto(`${server.url}throws.html`);
  const t0 = performance.now();
  await assertRejects(() => page.waitForReady(), /page error: Error: boom in the page/);
  assert(performance.now() - t0 < 5000, "a page error ends the wait at once");
  assert(page.messages.includes("[console.warning] about to throw"), page.messages.join("\n"));
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = listener.addr.port;
  listener.close();
  await assertRejects(() => page.goto(`http://127.0.0.1:${closedPort}/`), /ERR_CONNECTION_REFUSED/);
  const other = await browser.newPage();
  await other.goto(`${server.url}reports.html`);
  await assertRejects(() => other.waitForReady(), /the page reported: no adapter, say/);
  await assertRejects(() => other.evaluate(() => JSON.parse("{")), /in the page: SyntaxError/);
  await other.close();

  // A second browser, closed here: its processes and temp folder are gone afterwards.
  const second = await Browser.launch();
  assert(processesNaming(second.tempDir).length > 0, "the launched browser's processes are found");
  await second.close();
  await second.close(); // twice is harmless
  assertEquals(processesNaming(second.tempDir), [], "no process left");
  await assertRejects(() => Deno.stat(second.tempDir), Deno.errors.NotFound);
});
