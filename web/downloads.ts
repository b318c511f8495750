/// <reference lib="dom" />
/**
 * Checkpoint files as download links: each file its own link (a browser saves them side by side, and
 * `deno task predict --model THAT_FOLDER` reads them), and a button that clicks them all. Links made for an
 * older checkpoint are revoked when a newer one replaces them.
 */
import { el } from "./dom.ts";
import type { CheckpointFileList } from "./training.ts";

let urls: string[] = [];

/** Links for these files (ids "download-" + the name's stem, e.g. download-model), replacing older ones. */
export function downloadLinks(files: CheckpointFileList): HTMLAnchorElement[] {
  for (const url of urls) URL.revokeObjectURL(url);
  urls = [];
  return files.map(([name, bytes]) => {
    const type = name.endsWith(".json") ? "application/json" : "application/octet-stream";
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
    urls.push(url);
    return el("a", { href: url, download: name, id: `download-${name.slice(0, name.indexOf("."))}` }, name);
  });
}

/** Clicks each link in turn, a moment apart (browsers may drop downloads started in one burst). */
export async function downloadAll(links: HTMLAnchorElement[]): Promise<void> {
  for (const a of links) {
    a.click();
    await new Promise((r) => setTimeout(r, 250));
  }
}
