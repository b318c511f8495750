/**
 * `deno task serve` as a user runs it: --help, one-line errors for bad flags, a missing or broken model
 * directory and a port in use; and a running server on 127.0.0.1 that prints its URL and serves the page,
 * the bundle built from the sources (the WGSL inlined, no Deno API, nothing fetched from elsewhere) and the
 * model's files, and nothing else.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { assertFailed, runDeno, taskRun } from "./cli_harness.ts";
import { trainTinyModel } from "./web_harness.ts";

const tmp = await Deno.makeTempDir({ prefix: "serve_cli_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

const serve = (args: string[]) => runDeno([...taskRun("serve"), ...args]);

Deno.test("serve --help says what it serves and how", async () => {
  const r = await serve(["--help"]);
  assertEquals(r.code, 0);
  for (const flag of ["--model DIR", "--port N", "--host HOST", "?prompt=TEXT&k=N"]) {
    assert(r.stdout.includes(flag), `help lacks ${flag}`);
  }
});

Deno.test("serve: bad flags, a missing or broken model and a port in use are one line each", async () => {
  assertFailed(await serve(["--bogus"]), "unknown flag", /bogus/, "serve: error:");
  assertFailed(await serve(["--port", "http"]), "bad port", /--port must be a non-negative integer/);
  assertFailed(await serve(["--port", "70000"]), "port too large", /--port must be at most 65535/);
  assertFailed(
    await serve(["--model", join(tmp, "nothing")]),
    "missing model",
    /--model .*nothing: no such directory/,
  );
  await Deno.mkdir(join(tmp, "empty"));
  assertFailed(await serve(["--model", join(tmp, "empty")]), "empty model dir", /missing model\.safetensors/);
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  assertFailed(await serve(["--port", String(port)]), "port in use", new RegExp(`port ${port} .*is in use`));
});

Deno.test(
  "serve: prints its 127.0.0.1 URL and serves the page, the bundle and the model's files only",
  {},
  async () => {
    const run = join(tmp, "run");
    const model = await trainTinyModel(run, 2);
    const child = new Deno.Command(Deno.execPath(), {
      args: [...taskRun("serve"), "--model", run, "--port", "0"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      let first = "";
      while (!first.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`serve exited: ${await stderr}`);
        first += value;
      }
      const url = first.match(/serving the page at (http:\/\/\S+)/)?.[1];
      assert(url?.startsWith("http://127.0.0.1:"), `first line: ${first}`);
      assert(first.includes(`(model: ${model})`), first);

      const get = async (path: string) => {
        const r = await fetch(new URL(path, url));
        return {
          status: r.status,
          type: r.headers.get("content-type"),
          body: new Uint8Array(await r.arrayBuffer()),
        };
      };
      const page = await get("/");
      assertEquals(page.status, 200);
      const html = new TextDecoder().decode(page.body);
      assert(html.includes('src="app.js"') && html.includes('href="style.css"'), html);
      assert(!/https?:\/\//.test(html), "the page names no other host");

      const app = await get("/app.js");
      assertEquals(app.type, "text/javascript; charset=utf-8");
      const js = new TextDecoder().decode(app.body);
      assert(js.includes("fn main"), "the bundle carries the WGSL sources");
      assert(
        js.includes("// web/main.ts") && js.includes("// src/train/loop.ts"),
        "bundled from the sources",
      );
      assert(!/\bDeno\./.test(js), "the bundle uses no Deno API");
      assert(!/\bimport\s*\(|from\s*["']https?:/.test(js), "the bundle loads nothing more");
      assertEquals((await get("/style.css")).status, 200);

      assertEquals(JSON.parse(new TextDecoder().decode((await get("/model/")).body)), {
        files: ["model.safetensors", "vocab.json", "config.json", "optimizer.safetensors"],
      });
      assertEquals(
        (await get("/model/model.safetensors")).body,
        await Deno.readFile(join(model, "model.safetensors")),
      );
      for (
        const path of ["/model/metrics.jsonl", "/model/../deno.json", "/web/main.ts", "/core.ts", "/nothing"]
      ) {
        assertEquals((await get(path)).status, 404, path);
      }
    } finally {
      child.kill("SIGINT");
    }
    while (!(await lines.read()).done); // nothing more, until it exits
    const { code } = await child.status;
    assertEquals(code, 0, `serve after Ctrl-C: ${await stderr}`);
  },
);
