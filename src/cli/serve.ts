/**
 * `deno task serve`: the web page (web/) on 127.0.0.1. The page's script is bundled at start from
 * web/main.ts with `deno bundle --platform browser` into memory (the same sources as the CLIs, WGSL
 * included), and served with web/index.html and web/style.css; a --model directory's checkpoint files are
 * served under /model/. Nothing the page loads comes from anywhere else, so it works offline.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { numberFlag, parseFlags } from "./args.ts";
import { firstLine, USAGE_EXIT, UserError } from "../errors.ts";
import { osReason, statOrNull } from "../deno/fs.ts";
import { loadCheckpoint, modelCheckpointDir } from "../deno/checkpoint_files.ts";
import { committedDir } from "../deno/atomic.ts";
import { CHECKPOINT_DIR, CONFIG_FILE, MODEL_FILE, OPTIMIZER_FILE, VOCAB_FILE } from "../io/file_names.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WEB = join(ROOT, "web");
const DEFAULT_PORT = 8000;
/** Where the --model directory's files are served (web/main.ts loads "model/" unless a link says otherwise). */
const MODEL_PATH = "/model/";
const MODEL_FILES = [MODEL_FILE, VOCAB_FILE, CONFIG_FILE, OPTIMIZER_FILE];

export const SERVE_HELP =
  `Serve the web page: predict, generate and train in a browser, on the same WGSL kernels.

usage: deno task serve [--model DIR] [--port N] [--host HOST]

  --model DIR     a checkpoint directory (or a run directory: its ${CHECKPOINT_DIR}/) the page opens, as
                  predict --model reads it; without one, pick or drop model files in the page, or train one
  --port N        port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host HOST     address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 lets others in)
  -h, --help      this text

The page's script is bundled from web/main.ts at start (deno bundle); everything the page needs comes from
this server, so it works offline. Links: ?prompt=TEXT&k=N (and model=PATH, generate=N, count=M,
temperature=T, top-p=P, seed=S, backend=cpu) open straight to a result. Ctrl-C stops the server.`;

const FLAGS = {
  model: { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export async function serveMain(args: string[]): Promise<number> {
  const { values: v } = parseFlags(args, FLAGS);
  if (v.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  const port = numberFlag("port", v.port, DEFAULT_PORT, "non-negative integer");
  if (port > 65535) throw new UserError(`--port must be at most 65535, got "${v.port}"`, USAGE_EXIT);
  const hostname = v.host ?? "127.0.0.1";
  if (hostname.trim() === "") throw new UserError(`--host must not be empty`, USAGE_EXIT);
  const modelDir = v.model === undefined ? undefined : await checkModelDir(v.model);
  const bundle = await buildPageBundle();
  const server = startServer({ hostname, port, bundle, modelDir });
  console.log(
    `serving the page at ${server.url}` +
      (modelDir ? ` (model: ${modelDir})` : " (no model: pick one in the page)"),
  );
  const stop = () => server.close();
  Deno.addSignalListener("SIGINT", stop);
  try {
    await server.finished;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
  }
  return 0;
}

/**
 * The checkpoint directory --model names (a run directory's checkpoint/, as predict reads it), after
 * loading it once, so that a missing or broken model is one line now rather than an error in the page.
 */
async function checkModelDir(dir: string): Promise<string> {
  const info = await statOrNull(dir);
  if (!info) throw new UserError(`--model ${dir}: no such directory`);
  if (!info.isDirectory) throw new UserError(`--model ${dir}: not a directory`);
  const checkpoint = await modelCheckpointDir(dir);
  await loadCheckpoint(checkpoint);
  // A save interrupted mid-swap leaves the previous complete checkpoint beside it (loadCheckpoint said so).
  return await committedDir(checkpoint) ?? checkpoint;
}

/**
 * The page's script: web/main.ts and the core it imports, bundled for browsers (WGSL sources inlined), as
 * text. Built from the sources at every start, so the page never runs a stale copy.
 */
export async function buildPageBundle(): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(Deno.execPath(), {
      // csv-parse's Node build (what the core's import resolves to) uses Node's Buffer; the import map
      // gives the page the package's own browser build of the same version instead.
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--import-map",
        join(WEB, "bundle_imports.json"),
        join(WEB, "main.ts"),
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw new UserError(`cannot run deno bundle: ${osReason(e)}`);
  }
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new UserError(`bundling web/main.ts failed: ${firstLine(stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

export interface PageServer {
  /** http://HOST:PORT/ */
  url: string;
  port: number;
  /** Settles once the server has stopped. */
  finished: Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  safetensors: "application/octet-stream",
};

/**
 * Everything from this origin: no CDN, no other host, nothing inline but styles (SVG charts carry style
 * attributes); blob: for the checkpoint downloads.
 */
const HEADERS = {
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:",
  "x-content-type-options": "nosniff",
};

/** Serves the page, its bundle and the model's files; a taken port is a one-line UserError. */
export function startServer(
  opts: { hostname: string; port: number; bundle: string; modelDir?: string },
): PageServer {
  const files: Record<string, { body: string | (() => Promise<Uint8Array>); type: string }> = {
    "/": { body: () => Deno.readFile(join(WEB, "index.html")), type: CONTENT_TYPES.html },
    "/app.js": { body: opts.bundle, type: CONTENT_TYPES.js },
    "/style.css": { body: () => Deno.readFile(join(WEB, "style.css")), type: CONTENT_TYPES.css },
  };
  // The directory itself lists the model's files ([] without --model), so the page can tell "no model
  // served" from a broken one without asking for a file that is not there.
  files[MODEL_PATH] = {
    body: async () => {
      const present: string[] = [];
      for (const name of opts.modelDir === undefined ? [] : MODEL_FILES) {
        if ((await statOrNull(join(opts.modelDir!, name)))?.isFile) present.push(name);
      }
      return new TextEncoder().encode(JSON.stringify({ files: present }));
    },
    type: CONTENT_TYPES.json,
  };
  if (opts.modelDir !== undefined) {
    const dir = opts.modelDir;
    for (const name of MODEL_FILES) {
      const type = CONTENT_TYPES[name.slice(name.lastIndexOf(".") + 1)];
      // Read at each request: a model trained into the directory meanwhile is what the page gets.
      files[MODEL_PATH + name] = { body: () => Deno.readFile(join(dir, name)), type };
    }
  }
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname: opts.hostname, port: opts.port, onListen() {} }, async (req) => {
      const path = new URL(req.url).pathname;
      const file = files[path];
      if (req.method !== "GET" && req.method !== "HEAD") {
        return new Response(null, { status: 405, headers: HEADERS });
      }
      if (!file) {
        // Browsers ask every origin for one; an empty answer keeps a 404 out of the page's console.
        if (path === "/favicon.ico") return new Response(null, { status: 204, headers: HEADERS });
        return new Response("not found", { status: 404, headers: HEADERS });
      }
      try {
        const body = typeof file.body === "string" ? file.body : await file.body();
        return new Response(body as BodyInit, { headers: { ...HEADERS, "content-type": file.type } });
      } catch (e) {
        // An optional checkpoint file (config.json, optimizer.safetensors) the directory does not have.
        if (e instanceof Deno.errors.NotFound) {
          return new Response("not found", { status: 404, headers: HEADERS });
        }
        throw e;
      }
    });
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new UserError(
        `port ${opts.port} on ${opts.hostname} is in use: pick another with --port (0 picks a free one)`,
      );
    }
    throw new UserError(`cannot listen on ${opts.hostname}:${opts.port}: ${osReason(e)}`);
  }
  const { hostname, port } = server.addr;
  const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
  const close = () => server.shutdown();
  return {
    url: `http://${shown}:${port}/`,
    port,
    finished: server.finished,
    close,
    [Symbol.asyncDispose]: close,
  };
}
