/**
 * File-name globs for --files: `*` any run of characters, `?` one character, `[abc]` / `[!abc]` a set
 * (ranges like `[0-9]` allowed); everything else literal. Own code because node:path's matchesGlob
 * needs env access that `deno task prepare` does not grant.
 */
function globToRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    const close = c === "[" ? glob.indexOf("]", i + 2) : -1;
    if (c === "*") source += ".*";
    else if (c === "?") source += ".";
    else if (close > 0) {
      const set = glob.slice(i + 1, close);
      const negated = set.startsWith("!");
      // Inside a class only \ ] ^ need escaping; "-" stays special so ranges keep working.
      const body = (negated ? set.slice(1) : set).replace(/[\\\]^]/g, "\\$&");
      source += `[${negated ? "^" : ""}${body}]`;
      i = close;
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "s");
}

/** Whether a file name matches a glob (the whole name, case-sensitively). */
export function matchesGlob(name: string, glob: string): boolean {
  return globToRegExp(glob).test(name);
}
