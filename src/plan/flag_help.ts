/**
 * A command's --help, from its flag table: a heading per group, a line per flag (its name, its value's
 * placeholder, what it does and its default), wrapped to the project's line width.
 */
import type { FlagSpec, FlagTable } from "./flags.ts";

/** Help lines are wrapped at this width (deno fmt's). */
const WIDTH = 110;
/** The column help text starts in. */
const INDENT = 23;

/** The flags of `table` under their group headings, in table order; `groups` gives each heading's text. */
export function flagHelp(table: FlagTable, groups: Readonly<Record<string, string>>): string {
  const lines: string[] = [];
  for (const [group, heading] of Object.entries(groups)) {
    const flags = Object.entries(table).filter(([, spec]) => spec.group === group);
    if (flags.length === 0) continue;
    if (heading) lines.push(`${heading}:`);
    for (const [name, spec] of flags) lines.push(...flagLines(name, spec));
  }
  return lines.join("\n");
}

function flagLines(name: string, spec: FlagSpec): string[] {
  const left = [
    spec.short ? `-${spec.short}, ` : "",
    `--${name}`,
    spec.arg ? ` ${spec.arg}` : "",
    spec.negatable ? ` / --no-${name}` : "",
  ].join("");
  const shown = spec.defaultText ?? (spec.kind === "boolean" ? undefined : spec.default);
  const text = spec.help + (shown === undefined ? "" : ` (default ${shown})`);
  const head = `  ${left}`;
  const first = head.length + 2 <= INDENT ? head.padEnd(INDENT) : `${head}  `;
  return wrap(text, WIDTH - first.length, WIDTH - INDENT).map((line, i) =>
    (i === 0 ? first : " ".repeat(INDENT)) + line
  );
}

/** Words into lines of at most `firstWidth` characters, then `width` (a longer word stands alone). */
function wrap(text: string, firstWidth: number, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    const limit = lines.length === 0 ? firstWidth : width;
    if (line !== "" && line.length + 1 + word.length > limit) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}
