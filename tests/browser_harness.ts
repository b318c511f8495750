/**
 * Headless Chromium for browser tests, driven over the DevTools protocol (CDP) through
 * `--remote-debugging-pipe`: no npm dependency, no port, and Chromium exits by itself when the pipe closes,
 * so a test process that dies cannot leave a browser behind (docs/browser-notes.md says why not
 * puppeteer-core).
 *
 * Without Chromium, `browserTest` tests fail when REQUIRE_BROWSER=1 and otherwise show as "ignored" with a
 * printed reason, never as a silent pass (as tests/gpu_harness.ts does with REQUIRE_GPU).
 *
 * A page signals readiness by setting `window.__ready` to something truthy: `{ error: "..." }` fails the
 * wait with that message, anything else is returned to the test (see Page.waitForReady).
 */

/** The two software WebGPU adapters Chromium offers on a GPU-less Linux machine. */
export type AdapterName = "lavapipe" | "swiftshader";

export const ADAPTERS: readonly AdapterName[] = ["lavapipe", "swiftshader"];

/** Chromium flags selecting each adapter. */
const ADAPTER_FLAGS: Record<AdapterName, string[]> = {
  // Mesa's lavapipe through ANGLE (OpenGL ES 3.1 on Vulkan): WebGPU compatibility level only.
  lavapipe: ["--use-angle=vulkan", "--use-webgpu-adapter=opengles"],
  // Chromium's own CPU Vulkan.
  swiftshader: ["--use-webgpu-adapter=swiftshader"],
};

/**
 * What a page passes to `navigator.gpu.requestAdapter` to get each adapter. On the lavapipe flags a request
 * without `featureLevel: "compatibility"` gets SwiftShader, not null (measured).
 */
export const ADAPTER_REQUEST: Record<AdapterName, { featureLevel?: "compatibility" | "core" }> = {
  lavapipe: { featureLevel: "compatibility" },
  swiftshader: {},
};

/** How each adapter's description reads (seen with --enable-webgpu-developer-features). */
const ADAPTER_MATCH: Record<AdapterName, RegExp> = {
  lavapipe: /llvmpipe|lavapipe/i,
  swiftshader: /swiftshader/i,
};

/** Flags every launch gets: headless, never the network, a fresh profile (added at launch). */
const BASE_FLAGS = [
  "--headless=new",
  "--no-sandbox", // Chromium refuses to run as root with its sandbox; tests load only local pages
  "--remote-debugging-pipe",
  "--enable-unsafe-webgpu",
  "--enable-webgpu-developer-features", // adapter.info.description
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-breakpad",
  "--disable-features=Translate,OptimizationHints,MediaRouter",
  "--password-store=basic",
  "--mute-audio",
  "--hide-scrollbars",
  "--window-size=1024,768",
];

const requireBrowser = Deno.env.get("REQUIRE_BROWSER") === "1";

/** The Chromium binary: $CHROMIUM if set (it must exist), else /usr/bin/chromium; null when absent. */
function findChromium(): string | null {
  const path = Deno.env.get("CHROMIUM") || "/usr/bin/chromium";
  try {
    return Deno.statSync(path).isFile ? path : null;
  } catch {
    return null;
  }
}

/** The binary the tests of this process use (null: none found). */
export const CHROMIUM: string | null = findChromium();
const MISSING =
  `no Chromium at ${Deno.env.get("CHROMIUM") || "/usr/bin/chromium"} (Debian: apt-get install -y ` +
  `chromium; or set CHROMIUM=/path/to/chrome)`;
if (!CHROMIUM) {
  if (requireBrowser) console.error(`REQUIRE_BROWSER=1 but ${MISSING}: browser tests will fail`);
  else console.warn(`${MISSING}: browser tests are ignored (set REQUIRE_BROWSER=1 to fail instead)`);
}

export interface BrowserTestOptions extends LaunchOptions {
  /** The whole test, launch included, fails after this long (default 60 s). */
  timeoutMs?: number;
}

/**
 * Registers a test that gets a freshly launched browser and one open page. On failure it prints the page's
 * console messages, page errors and the tail of Chromium's stderr, and saves a screenshot. The browser is
 * closed (and checked gone) whatever happens.
 */
export function browserTest(
  name: string,
  options: BrowserTestOptions,
  fn: (ctx: { browser: Browser; page: Page }) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: !CHROMIUM && !requireBrowser,
    async fn() {
      if (!CHROMIUM) throw new Error(`REQUIRE_BROWSER=1 but ${MISSING}`);
      const timeoutMs = options.timeoutMs ?? 60_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let browser: Browser | null = null;
      let page: Page | null = null;
      let over = false;
      const body = (async () => {
        const launched = await Browser.launch(options);
        if (over) return void await launched.close(); // the test timed out during the launch
        browser = launched;
        page = await browser.newPage();
        await fn({ browser, page });
      })();
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`browser test timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([body, deadline]);
      } catch (e) {
        body.catch(() => {}); // still running after a timeout: closing the browser below ends it
        const b = browser as Browser | null;
        const p = page as Page | null;
        if (p && !p.closed) {
          const shot = await p.screenshot(`FAILED ${name}`).catch((e) => `none (${e.message})`);
          console.error(`screenshot of the failed page: ${shot}`);
        }
        if (p) console.error(`page messages:\n${p.messages.join("\n") || "(none)"}`);
        if (b) console.error(`chromium stderr (last lines):\n${b.stderrTail()}`);
        throw e;
      } finally {
        over = true;
        clearTimeout(timer);
        await (browser as Browser | null)?.close();
      }
    },
  });
}

// ---------------------------------------------------------------------------------------------------------
// CDP over the pipe

/** CDP payloads, untyped JSON (the protocol's types would be a dependency of their own). */
// deno-lint-ignore no-explicit-any
type Json = any;

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Json;
  result?: Json;
  error?: { code: number; message: string; data?: string };
  sessionId?: string;
}

interface Pending {
  resolve: (result: Json) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** One CDP connection: NUL-terminated JSON messages on the child's stdin/stdout (fds 3/4 inside). */
class Cdp {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #nextId = 0;
  #pending = new Map<number, Pending>();
  #listeners = new Set<(msg: CdpMessage) => void>();
  #encoder = new TextEncoder();
  /** Why the connection ended (set once it has). */
  closedReason: string | null = null;
  /** Settles when Chromium's end of the pipe is closed. */
  readonly done: Promise<void>;

  constructor(stdin: WritableStream<Uint8Array>, stdout: ReadableStream<Uint8Array>, onEnd: () => string) {
    this.#writer = stdin.getWriter();
    this.done = this.#read(stdout).catch(() => {}).finally(() => this.#end(onEnd()));
  }

  async #read(stdout: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let parts: Uint8Array[] = [];
    for await (const chunk of stdout) {
      let start = 0;
      for (let i = chunk.indexOf(0); i >= 0; i = chunk.indexOf(0, start)) {
        parts.push(chunk.subarray(start, i));
        const bytes = parts.length === 1 ? parts[0] : concat(parts);
        parts = [];
        start = i + 1;
        this.#dispatch(JSON.parse(decoder.decode(bytes)));
      }
      if (start < chunk.length) parts.push(chunk.slice(start));
    }
  }

  #dispatch(msg: CdpMessage): void {
    if (msg.id !== undefined) {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error) {
        p.reject(new Error(`${msg.error.message}${msg.error.data ? `: ${msg.error.data}` : ""}`));
      } else p.resolve(msg.result);
      return;
    }
    for (const l of [...this.#listeners]) l(msg);
  }

  #end(reason: string): void {
    this.closedReason ??= reason;
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new Error(`CDP connection closed: ${this.closedReason}`));
    }
  }

  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
    timeoutMs = 30_000,
  ): Promise<Json> {
    if (this.closedReason) {
      return Promise.reject(new Error(`${method}: CDP connection closed: ${this.closedReason}`));
    }
    const id = ++this.#nextId;
    const reply = new Promise<Json>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method}: no answer from Chromium within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
    });
    const bytes = this.#encoder.encode(JSON.stringify({ id, method, params, sessionId }) + "\0");
    this.#writer.write(bytes).catch((e) => this.#end(`write failed: ${e}`));
    return reply;
  }

  /** Calls `listener` with every event; returns the unsubscribe function. */
  on(listener: (msg: CdpMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The first event for which `match` is true, or an error after `timeoutMs`. */
  waitForEvent(match: (msg: CdpMessage) => boolean, timeoutMs: number, what: string): Promise<CdpMessage> {
    return new Promise((resolve, reject) => {
      const off = this.on((msg) => {
        if (!match(msg)) return;
        off();
        clearTimeout(timer);
        resolve(msg);
      });
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
    });
  }

  /** Closes our end of the pipe (Chromium exits on EOF). */
  async close(): Promise<void> {
    this.#end("closed by the test");
    await this.#writer.close().catch(() => {});
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Browser

export interface LaunchOptions {
  /** Which WebGPU adapter to set up; without one, no WebGPU flags and no adapter probe. */
  adapter?: AdapterName;
  /** Extra Chromium flags. */
  args?: string[];
  /** Check at launch that a page gets the named adapter (default true when `adapter` is given). */
  probe?: boolean;
  /** Environment variables for Chromium, beside the inherited ones (e.g. MESA_SHADER_CACHE_DIR). */
  env?: Record<string, string>;
}

/** What a page saw of its adapter (requested with ADAPTER_REQUEST). */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** Whether the adapter offers core WebGPU (false: compatibility level only). */
  core: boolean;
  features: string[];
  limits: Record<string, number>;
}

/** A file the browser downloaded, read before the browser's temp folder goes. */
export interface Download {
  /** The name the page suggested. */
  name: string;
  bytes: Uint8Array;
  text(): string;
}

/** Browsers not yet closed, killed if the process exits without closing them. */
const live = new Set<Browser>();
globalThis.addEventListener("unload", () => {
  for (const b of live) b.kill();
});

export class Browser {
  readonly adapter: AdapterName | null;
  /** Milliseconds from spawn to Chromium's first CDP answer. */
  launchMs = 0;
  /** What the launch probe saw (null without a probe). */
  adapterInfo: AdapterReport | null = null;
  /** Temp folder holding the profile and downloads; removed by close. */
  readonly tempDir: string;
  readonly downloadDir: string;
  readonly cdp: Cdp;
  #child: Deno.ChildProcess;
  #stderr: string[] = [];
  #stderrDone: Promise<void>;
  #closed: Promise<void> | null = null;
  #pages = new Set<Page>();
  /** The probe's tab, handed out by the next newPage (a fresh tab costs a renderer start). */
  #spare: Page | null = null;

  private constructor(
    adapter: AdapterName | null,
    child: Deno.ChildProcess,
    tempDir: string,
  ) {
    this.adapter = adapter;
    this.#child = child;
    this.tempDir = tempDir;
    this.downloadDir = `${tempDir}/downloads`;
    this.#stderrDone = (async () => {
      let rest = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        const lines = (rest + chunk).split("\n");
        rest = lines.pop()!;
        for (const l of lines) this.#keepStderr(l);
      }
      if (rest) this.#keepStderr(rest);
    })().catch(() => {});
    this.cdp = new Cdp(child.stdin, child.stdout, () => "Chromium closed the pipe (exited?)");
  }

  #keepStderr(line: string): void {
    this.#stderr.push(line);
    if (this.#stderr.length > 400) this.#stderr.splice(0, 100);
  }

  /**
   * Launches headless Chromium. With an `adapter`, a probe page then asks for it; if requestAdapter gives
   * null (seen once in a fresh browser with some flag sets) the browser is relaunched once. A different
   * adapter than the one named is an error.
   */
  static async launch(options: LaunchOptions = {}): Promise<Browser> {
    const adapter = options.adapter ?? null;
    const probe = adapter !== null && options.probe !== false;
    for (let attempt = 1;; attempt++) {
      const browser = await Browser.#start(adapter, options.args ?? [], options.env ?? {});
      if (!probe) return browser;
      let info: AdapterReport | null;
      try {
        info = await browser.#probe();
      } catch (e) {
        await browser.close();
        throw e;
      }
      if (info) {
        browser.adapterInfo = info;
        const seen = `${info.description} (${info.vendor} ${info.architecture})`;
        if (!ADAPTER_MATCH[adapter].test(seen)) {
          await browser.close();
          throw new Error(`asked Chromium for the ${adapter} adapter but a page got ${seen}`);
        }
        return browser;
      }
      const tail = browser.stderrTail(15);
      await browser.close();
      if (attempt === 2) {
        throw new Error(
          `requestAdapter gave null for ${adapter} in two fresh browsers; chromium stderr:\n${tail}`,
        );
      }
      console.warn(`requestAdapter gave null for ${adapter} in a fresh browser; relaunching once`);
    }
  }

  static async #start(
    adapter: AdapterName | null,
    extra: string[],
    env: Record<string, string>,
  ): Promise<Browser> {
    if (!CHROMIUM) throw new Error(MISSING);
    const tempDir = await Deno.makeTempDir({ prefix: "browser-test-" });
    await Deno.mkdir(`${tempDir}/downloads`);
    const args = [
      ...BASE_FLAGS,
      `--user-data-dir=${tempDir}/profile`,
      ...(adapter ? ADAPTER_FLAGS[adapter] : []),
      ...extra,
      "about:blank",
    ];
    const start = performance.now();
    // The pipe is fds 3 (commands in) and 4 (answers out): the shell moves our stdin/stdout there.
    const child = new Deno.Command("/bin/sh", {
      args: ["-c", 'exec "$0" "$@" 3<&0 4>&1 </dev/null >&2', CHROMIUM, ...args],
      // Crashpad's database and caches follow XDG, not --user-data-dir: keep them in the temp folder too
      // (nothing written to $HOME, and every helper process names the folder, see killProcessesNaming).
      env: { ...env, XDG_CONFIG_HOME: `${tempDir}/config`, XDG_CACHE_HOME: `${tempDir}/cache` },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const browser = new Browser(adapter, child, tempDir);
    live.add(browser);
    try {
      await browser.cdp.send("Browser.getVersion", {}, undefined, 30_000);
      browser.launchMs = performance.now() - start;
      await browser.cdp.send("Browser.setDownloadBehavior", {
        behavior: "allow",
        downloadPath: browser.downloadDir,
        eventsEnabled: true,
      });
    } catch (e) {
      await browser.close();
      throw new Error(`Chromium did not start: ${(e as Error).message}\n${browser.stderrTail(15)}`);
    }
    return browser;
  }

  /** Asks a served blank page for the adapter; null when requestAdapter gives null. */
  async #probe(): Promise<AdapterReport | null> {
    await using server = serveStatic({ files: { "/": "<!doctype html><title>adapter probe</title>" } });
    const page = await this.newPage();
    await page.goto(server.url);
    const report = await page.evaluate(adapterReport, ADAPTER_REQUEST[this.adapter!]);
    await page.goto("about:blank");
    page.messages.length = 0;
    page.errors.length = 0;
    this.#spare = page;
    return report;
  }

  /** A new tab at about:blank, its console messages, page errors and log entries collected. */
  async newPage(): Promise<Page> {
    if (this.#spare) {
      const page = this.#spare;
      this.#spare = null;
      return page;
    }
    const { targetId } = await this.cdp.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.cdp.send("Target.attachToTarget", { targetId, flatten: true });
    const page = new Page(this, targetId, sessionId);
    this.#pages.add(page);
    await Promise.all([
      page.send("Page.enable"),
      page.send("Runtime.enable"),
      page.send("Log.enable"),
      page.send("Inspector.enable"),
    ]);
    return page;
  }

  /** The last `lines` lines of Chromium's stderr, its known harmless noise left out. */
  stderrTail(lines = 30): string {
    const noise = /dbus|unexpected operator|Fontconfig|artificially reduced/i;
    return this.#stderr.filter((l) => l.trim() && !noise.test(l)).slice(-lines).join("\n") || "(empty)";
  }

  /** Kills Chromium at once (for exit handlers; close() is the normal way). */
  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  /**
   * Closes the browser: Browser.close, then EOF on the pipe, then SIGKILL if it has not exited within 5 s;
   * kills any process still naming our temp folder; removes the folder. Safe to call twice.
   */
  close(): Promise<void> {
    return this.#closed ??= this.#close();
  }

  async #close(): Promise<void> {
    for (const p of this.#pages) p.closed = true;
    await this.cdp.send("Browser.close", {}, undefined, 3000).catch(() => {});
    await this.cdp.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      this.#child.status.then(() => true),
      new Promise<false>((r) => timer = setTimeout(() => r(false), 5000)),
    ]);
    clearTimeout(timer);
    if (!exited) this.kill();
    await this.#child.status;
    await Promise.all([this.cdp.done, this.#stderrDone]);
    live.delete(this);
    const stragglers = await killProcessesNaming(this.tempDir);
    if (stragglers.length > 0) {
      console.warn(`killed ${stragglers.length} chromium processes left after close`);
    }
    for (let i = 0;; i++) {
      try {
        await Deno.remove(this.tempDir, { recursive: true });
        break;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) break;
        if (i === 4) throw e;
        await new Promise((r) => setTimeout(r, 200)); // a helper process may still be writing its profile
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Runs in the page: the adapter that `request` gets, or null. */
async function adapterReport(request: Record<string, unknown>): Promise<AdapterReport | null> {
  const gpu = (navigator as PageGlobal).gpu;
  if (!gpu) throw new Error("navigator.gpu is missing (not a secure context, or WebGPU is off)");
  const adapter = await gpu.requestAdapter(request);
  if (!adapter) return null;
  const limits: Record<string, number> = {};
  for (const key in adapter.limits) limits[key] = adapter.limits[key];
  const info = adapter.info;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: Boolean(info.isFallbackAdapter),
    core: adapter.features.has("core-features-and-limits"),
    features: [...adapter.features].sort(),
    limits,
  };
}

/**
 * Linux: SIGKILLs every process whose command line contains `marker` (our unique temp folder) and waits
 * until they are gone; returns their pids. Elsewhere returns [].
 */
async function killProcessesNaming(marker: string): Promise<number[]> {
  const found = processesNaming(marker);
  for (const pid of found) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
  for (let i = 0; i < 20 && processesNaming(marker).length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  return found;
}

/** Pids of live processes (zombies have no command line) whose command line contains `marker`. */
export function processesNaming(marker: string): number[] {
  const pids: number[] = [];
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return pids;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(marker)) pids.push(Number(e.name));
    } catch {
      // exited, or not ours to read
    }
  }
  return pids;
}

// ---------------------------------------------------------------------------------------------------------
// Page

/**
 * The page's globals (DOM, WebGPU), untyped: Deno's type library has no DOM, and functions sent to the page
 * run there, not here.
 */
// deno-lint-ignore no-explicit-any
export type PageGlobal = any;

let screenshotDirPromise: Promise<string> | null = null;

/** $BROWSER_SCREENSHOTS (created if need be), else a temp folder whose path is printed once. */
function screenshotDir(): Promise<string> {
  return screenshotDirPromise ??= (async () => {
    const env = Deno.env.get("BROWSER_SCREENSHOTS");
    if (env) {
      await Deno.mkdir(env, { recursive: true });
      return env;
    }
    const dir = await Deno.makeTempDir({ prefix: "browser-screenshots-" });
    console.log(`browser screenshots go to ${dir} (set BROWSER_SCREENSHOTS to choose)`);
    return dir;
  })();
}

export class Page {
  readonly browser: Browser;
  readonly targetId: string;
  readonly sessionId: string;
  /** Console messages, page errors and browser log entries, one line each, e.g. "[console.error] x". */
  readonly messages: string[] = [];
  /** Uncaught exceptions and unhandled rejections in the page, and renderer crashes. */
  readonly errors: string[] = [];
  closed = false;
  #off: () => void;

  constructor(browser: Browser, targetId: string, sessionId: string) {
    this.browser = browser;
    this.targetId = targetId;
    this.sessionId = sessionId;
    this.#off = browser.cdp.on((msg) => {
      if (msg.sessionId === sessionId) this.#event(msg);
    });
  }

  #event(msg: CdpMessage): void {
    const p = msg.params;
    if (msg.method === "Runtime.consoleAPICalled") {
      this.messages.push(`[console.${p.type}] ${p.args.map((a: Json) => remoteText(a)).join(" ")}`);
    } else if (msg.method === "Runtime.exceptionThrown") {
      const d = p.exceptionDetails;
      // The description holds the stack; a thrown non-Error has only the text and place.
      const text = d.exception?.description ??
        `${d.text}${d.url ? ` (${d.url}:${d.lineNumber + 1}:${d.columnNumber + 1})` : ""}`;
      this.errors.push(text);
      this.messages.push(`[pageerror] ${text}`);
    } else if (msg.method === "Log.entryAdded") {
      const e = p.entry;
      this.messages.push(`[log.${e.level}] ${e.text}${e.url ? ` (${e.url})` : ""}`);
    } else if (msg.method === "Inspector.targetCrashed") {
      this.errors.push("the page's renderer crashed");
      this.messages.push("[crash] the page's renderer crashed");
    }
  }

  send(method: string, params: Record<string, unknown> = {}, timeoutMs?: number): Promise<Json> {
    return this.browser.cdp.send(method, params, this.sessionId, timeoutMs);
  }

  /** Navigates and waits for the load event; a network failure (refused, 404 is not one) throws. */
  async goto(url: string, timeoutMs = 30_000): Promise<void> {
    const loaded = this.browser.cdp.waitForEvent(
      (m) => m.sessionId === this.sessionId && m.method === "Page.loadEventFired",
      timeoutMs,
      `the load event of ${url}`,
    );
    loaded.catch(() => {});
    const nav = await this.send("Page.navigate", { url });
    if (nav.errorText) {
      await loaded.catch(() => {}); // the error page: until it has loaded, screenshots fail
      throw new Error(`navigating to ${url}: ${nav.errorText}`);
    }
    await loaded;
  }

  /**
   * Calls `fn(...args)` in the page and returns its (awaited) result, which must survive JSON (typed arrays
   * do not: return `Array.from(...)`). `fn` is sent as source text, so it cannot use variables of the test
   * module; pass them as arguments (JSON values). An exception in the page throws here with its message.
   */
  async evaluate<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Promise<Awaited<R>> {
    const expression = `(${fn.toString()})(...${JSON.stringify(args)})`;
    const r = await this.send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
      userGesture: true,
    }, 120_000);
    if (r.exceptionDetails) {
      const d = r.exceptionDetails;
      throw new Error(`in the page: ${d.exception?.description ?? d.text}`);
    }
    return r.result.value as Awaited<R>;
  }

  /**
   * Polls `fn` in the page every 50 ms until it returns something truthy, and returns that. Fails at once
   * if the page has thrown an uncaught error (unless `allowPageErrors`), and after `timeoutMs`.
   */
  async waitFor<R>(
    fn: () => R,
    { timeoutMs = 30_000, what = "the page", allowPageErrors = false } = {},
  ): Promise<Awaited<R>> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (!allowPageErrors && this.errors.length > 0) {
        throw new Error(`waiting for ${what}: page error: ${this.errors[0]}`);
      }
      const value = await this.evaluate(fn);
      if (value) return value;
      if (performance.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Waits for `window.__ready` to be set and returns it; `{ error }` in it fails with that message.
   */
  async waitForReady<R = unknown>(timeoutMs = 30_000): Promise<R> {
    const ready = await this.waitFor(() => (globalThis as PageGlobal).__ready, {
      timeoutMs,
      what: "window.__ready",
    });
    if (ready && typeof ready === "object" && "error" in ready) {
      throw new Error(`the page reported: ${(ready as { error: unknown }).error}`);
    }
    return ready as R;
  }

  /** Where an element is (its centre, in CSS pixels), scrolled into view; throws if nothing matches. */
  async #centre(selector: string): Promise<{ x: number; y: number }> {
    const c = await this.evaluate((sel: string) => {
      const el = (globalThis as PageGlobal).document.querySelector(sel);
      if (!el) return null;
      el.scrollIntoView({ block: "center", inline: "center" });
      const r = el.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, h: r.height };
    }, selector);
    if (!c) throw new Error(`no element matches ${selector}`);
    if (c.w === 0 || c.h === 0) throw new Error(`${selector} is not visible (zero size)`);
    return c;
  }

  /** A real left click (mouse events from the browser, a user gesture) at the element's centre. */
  async click(selector: string): Promise<void> {
    const { x, y } = await this.#centre(selector);
    await this.send("Input.dispatchMouseEvent", { type: "mouseMoved", x, y });
    await this.send("Input.dispatchMouseEvent", {
      type: "mousePressed",
      x,
      y,
      button: "left",
      clickCount: 1,
    });
    await this.send("Input.dispatchMouseEvent", {
      type: "mouseReleased",
      x,
      y,
      button: "left",
      clickCount: 1,
    });
  }

  /** Focuses the element and inserts `text` as if typed (fires `input` events; `change` fires on blur). */
  async type(selector: string, text: string): Promise<void> {
    const found = await this.evaluate((sel: string) => {
      const el = (globalThis as PageGlobal).document.querySelector(sel);
      el?.focus();
      return el !== null;
    }, selector);
    if (!found) throw new Error(`no element matches ${selector}`);
    await this.send("Input.insertText", { text });
  }

  /** Sets the files of an `<input type=file>` (fires `input` and `change`). */
  async upload(selector: string, paths: string[]): Promise<void> {
    const { root } = await this.send("DOM.getDocument", { depth: 0 });
    const { nodeId } = await this.send("DOM.querySelector", { nodeId: root.nodeId, selector });
    if (!nodeId) throw new Error(`no element matches ${selector}`);
    const files = paths.map((p) => Deno.realPathSync(p));
    await this.send("DOM.setFileInputFiles", { nodeId, files });
  }

  /**
   * Runs `trigger` (a click, say) and returns the file whose download it started, once complete. Every
   * download's end is watched from before the trigger: a small file's "completed" can come in the same pipe
   * read as its "downloadWillBegin", before a listener made after that one would exist.
   */
  async download(trigger: () => Promise<unknown>, timeoutMs = 30_000): Promise<Download> {
    const cdp = this.browser.cdp;
    const ends = new Map<string, CdpMessage>();
    const off = cdp.on((m) => {
      if (m.method === "Browser.downloadProgress" && m.params.state !== "inProgress") {
        ends.set(m.params.guid, m);
      }
    });
    let end: CdpMessage;
    let suggestedFilename: string;
    try {
      const begun = cdp.waitForEvent(
        (m) => m.method === "Browser.downloadWillBegin",
        timeoutMs,
        "a download",
      );
      begun.catch(() => {});
      await trigger();
      const { params } = await begun;
      suggestedFilename = params.suggestedFilename;
      const deadline = performance.now() + timeoutMs;
      while (!ends.has(params.guid)) {
        if (performance.now() > deadline) {
          throw new Error(
            `timed out after ${timeoutMs} ms waiting for the download of ${suggestedFilename} to finish`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      end = ends.get(params.guid)!;
    } finally {
      off();
    }
    if (end.params.state !== "completed") {
      throw new Error(`download of ${suggestedFilename}: ${end.params.state}`);
    }
    const path = end.params.filePath ?? `${this.browser.downloadDir}/${suggestedFilename}`;
    const bytes = await Deno.readFile(path);
    return { name: suggestedFilename, bytes, text: () => new TextDecoder().decode(bytes) };
  }

  /**
   * Saves a PNG of the viewport (or of the element `selector` matches, whole, even where it runs past the
   * viewport) as NAME.png in screenshotDir() and returns its path.
   */
  async screenshot(name: string, selector?: string): Promise<string> {
    let clip: Record<string, number> | undefined;
    if (selector) {
      clip = await this.evaluate((sel: string) => {
        const g = globalThis as PageGlobal;
        const el = g.document.querySelector(sel);
        if (!el) return undefined;
        const r = el.getBoundingClientRect();
        return { x: r.left + g.scrollX, y: r.top + g.scrollY, width: r.width, height: r.height, scale: 1 };
      }, selector);
      if (!clip) throw new Error(`no element matches ${selector}`);
    }
    const { data } = await this.send("Page.captureScreenshot", {
      format: "png",
      ...(clip ? { clip, captureBeyondViewport: true } : {}),
    });
    const file = `${await screenshotDir()}/${name.replace(/[^\w.-]+/g, "_")}.png`;
    await Deno.writeFile(file, Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
    return file;
  }

  /** Closes the tab. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.#off();
    await this.browser.cdp.send("Target.closeTarget", { targetId: this.targetId }).catch(() => {});
  }
}

/** A CDP RemoteObject as text. */
function remoteText(
  o: { type: string; value?: unknown; unserializableValue?: string; description?: string },
) {
  if ("value" in o) return typeof o.value === "string" ? o.value : JSON.stringify(o.value);
  return o.unserializableValue ?? o.description ?? o.type;
}

// ---------------------------------------------------------------------------------------------------------
// Static file server

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  wgsl: "text/plain; charset=utf-8",
  txt: "text/plain; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  wasm: "application/wasm",
  csv: "text/csv; charset=utf-8",
  safetensors: "application/octet-stream",
};

export interface StaticServer {
  /** http://127.0.0.1:PORT/ */
  url: string;
  port: number;
  /** Every request's path, in order (for debugging a page that fetched the wrong thing). */
  requests: string[];
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Serves `files` (path -> content, e.g. { "/": "<!doctype html>..." }) and the folder `root` (files take
 * precedence; "/dir/" serves dir/index.html; a missing /favicon.ico is an empty 204) on 127.0.0.1 at an
 * ephemeral port. `headers` go on every
 * response (COOP/COEP, say). Nothing outside `root` is reachable.
 */
export function serveStatic(
  { root, files = {}, headers = {} }: {
    root?: string;
    files?: Record<string, string | Uint8Array>;
    headers?: Record<string, string>;
  },
): StaticServer {
  const requests: string[] = [];
  const rootPath = root ? Deno.realPathSync(root) : null;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const pathname = decodeURIComponent(new URL(req.url).pathname);
    requests.push(pathname);
    const type = (p: string) =>
      CONTENT_TYPES[p.endsWith("/") ? "html" : p.slice(p.lastIndexOf(".") + 1)] ?? "application/octet-stream";
    const respond = (body: BodyInit, p: string) =>
      new Response(body, { headers: { "content-type": type(p), "cache-control": "no-store", ...headers } });
    if (pathname in files) return respond(files[pathname] as BodyInit, pathname);
    if (rootPath && !pathname.split("/").includes("..")) {
      const rel = pathname.endsWith("/") ? `${pathname}index.html` : pathname;
      try {
        const path = await Deno.realPath(`${rootPath}${rel}`);
        if (path.startsWith(rootPath + "/")) return respond(await Deno.readFile(path), path);
      } catch {
        // not there
      }
    }
    // Chromium asks every page's origin for one; a 404 would land in every page's messages.
    if (pathname === "/favicon.ico") return new Response(null, { status: 204, headers });
    return new Response("not found", { status: 404, headers });
  });
  const port = server.addr.port;
  const close = () => server.shutdown();
  return { url: `http://127.0.0.1:${port}/`, port, requests, close, [Symbol.asyncDispose]: close };
}
