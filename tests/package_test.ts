/**
 * The published package (deno.json's name, version, exports and publish lists): `deno publish --dry-run`
 * passes without --allow-slow-types, and the files it would publish hold every local module the two entry
 * points load, the WGSL shaders among them (publish does not check those: its module graph stops at text
 * imports, so a shader left out of `publish.include` would only fail for the package's users), the licence
 * and the README, and none of the development files (tests, tools, the CLIs, the page).
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./assert.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

async function deno(args: string[]): Promise<{ ok: boolean; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { ok: r.success, out: text.decode(r.stdout) + text.decode(r.stderr) };
}

/** The repository files a module graph loads (file: URLs under the root, outside node_modules). */
async function localModules(entry: string): Promise<string[]> {
  const info = await deno(["info", "--json", entry]);
  assert(info.ok, info.out);
  const graph = JSON.parse(info.out.slice(0, info.out.lastIndexOf("}") + 1)) as {
    modules: Array<{ specifier: string }>;
  };
  const root = new URL(`file://${ROOT}`).href;
  return graph.modules.map((m) => m.specifier)
    .filter((s) => s.startsWith(root) && !s.includes("/node_modules/"))
    .map((s) => decodeURIComponent(s.slice(root.length)));
}

Deno.test({
  name: "package: publish --dry-run passes and holds every file mod.ts and core.ts load, and no dev files",
  sanitizeResources: false,
  async fn() {
    const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
    assertEquals(config.exports, { ".": "./mod.ts", "./core": "./core.ts" });
    assert(
      /^@[a-z0-9-]+\/[a-z0-9-]+$/.test(config.name) && /^\d+\.\d+\.\d+/.test(config.version),
      config.name,
    );

    const dry = await deno(["publish", "--dry-run", "--allow-dirty"]);
    assert(dry.ok, dry.out);
    const root = new URL(`file://${ROOT}`).href;
    const published = new Set(
      [...dry.out.matchAll(/^\s+(file:\/\/\S+)/gm)].map((m) => decodeURIComponent(m[1].slice(root.length))),
    );
    const needed = new Set([...await localModules("mod.ts"), ...await localModules("core.ts")]);
    assert(
      [...needed].some((f) => f.startsWith("shaders/") && f.endsWith(".wgsl")),
      "no shader in the graph",
    );
    assertEquals([...needed].filter((f) => !published.has(f)), [], "loaded but not published");
    for (const f of ["LICENSE", "README.md", "deno.json"]) assert(published.has(f), `${f} not published`);
    const dev = [...published].filter((f) =>
      /^(tests|tools|examples|web|scripts|bench|docs|src\/cli)\//.test(f)
    );
    assertEquals(dev, [], "development files published");
  },
});
