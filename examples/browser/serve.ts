/**
 * Serves the browser example: bundles examples/browser/main.ts for the browser (`deno bundle`, with the
 * package's core and its WGSL inlined) and serves it with index.html and a model's checkpoint files under
 * /model/.
 *
 *   deno run --allow-read --allow-net --allow-run --allow-env examples/browser/serve.ts --model runs/train
 *
 * then open the printed address (add `?prompt=the%20mayor` to ask straight away, `&backend=cpu` for the CPU
 * reference). `--model` takes a run directory (its checkpoint/ is served) or a checkpoint directory.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..", "..");
/** The checkpoint's files the page may ask for. */
const MODEL_FILES = ["model.safetensors", "vocab.json", "config.json", "optimizer.safetensors"];

/** The page's script: main.ts bundled for browsers (csv-parse's browser build, as the project's page). */
export async function bundleExample(): Promise<string> {
  const importMap = join(ROOT, "web", "bundle_imports.json");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", "--import-map", importMap, join(HERE, "main.ts")],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno bundle failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** The example served on `hostname:port` (port 0: a free one) with the model in `modelDir`. */
export async function serveExample(
  opts: { modelDir: string; port?: number; hostname?: string },
): Promise<{ url: string; finished: Promise<void>; close(): Promise<void> }> {
  const inner = join(opts.modelDir, "checkpoint");
  const checkpoint = (await Deno.stat(inner).catch(() => null))?.isDirectory ? inner : opts.modelDir;
  const script = await bundleExample();
  const page = await Deno.readFile(join(HERE, "index.html"));
  const server = Deno.serve(
    { hostname: opts.hostname ?? "127.0.0.1", port: opts.port ?? 0, onListen() {} },
    (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/") {
        return new Response(page, {
          headers: { "content-type": "text/html; charset=utf-8" },
        });
      }
      if (path === "/main.js") {
        return new Response(script, {
          headers: { "content-type": "text/javascript" },
        });
      }
      const name = path.slice("/model/".length);
      if (path.startsWith("/model/") && MODEL_FILES.includes(name)) {
        return Deno.readFile(join(checkpoint, name)).then(
          (bytes) => new Response(bytes, { headers: { "content-type": "application/octet-stream" } }),
          () => new Response("not found", { status: 404 }),
        );
      }
      return new Response("not found", { status: 404 });
    },
  );
  const { hostname, port } = server.addr;
  return { url: `http://${hostname}:${port}/`, finished: server.finished, close: () => server.shutdown() };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { model: { type: "string" }, port: { type: "string" }, hostname: { type: "string" } },
  });
  if (!values.model) {
    console.error("usage: examples/browser/serve.ts --model DIR [--port N] [--hostname H]");
    Deno.exit(2);
  }
  const served = await serveExample({
    modelDir: values.model,
    port: Number(values.port ?? 8000),
    hostname: values.hostname,
  });
  console.log(`serving the example with ${values.model} at ${served.url}`);
  await served.finished;
}
