/**
 * The WGSL preprocessor: turns a shader's source into the text one pipeline compiles. Four directives,
 * each on a line of its own, and one kind of slot:
 *
 *   //#include NAME      replaced by the text of shader NAME (itself preprocessed)
 *   //#if FLAG          the lines up to the matching //#else or //#endif are kept only when FLAG is true
 *   //#if !FLAG         (or false, with !); FLAG is a boolean among the values; blocks nest
 *   //#else
 *   //#endif
 *   //#for I in COUNT   the lines up to the matching //#endfor, written COUNT times (a whole number among the
 *   //#endfor           values, or written out: //#for r in 4) with {{I}} standing for 0, 1, ...: code
 *                       unrolled by hand where WGSL's own loops over local arrays compile slowly and spill
 *                       (docs/performance.md); blocks nest
 *   {{KEY}}             replaced by the value of KEY (a boolean prints as WGSL's true or false)
 *
 * A flag, count or slot the values do not give is an error naming the shader, never silently empty WGSL; so
 * is an unbalanced block. Directive lines vanish from the output (kept lines stay byte for byte as written).
 */

export type ShaderValues = Record<string, string | number | boolean>;

const INCLUDE = /^\s*\/\/#include (\w+)\s*$/;
const IF = /^\s*\/\/#if (!?)(\w+)\s*$/;
const ELSE = /^\s*\/\/#else\s*$/;
const ENDIF = /^\s*\/\/#endif\s*$/;
const FOR = /^\s*\/\/#for (\w+) in (\w+)\s*$/;
const ENDFOR = /^\s*\/\/#endfor\s*$/;

/**
 * The text of shader `name` from `sources` (shader name -> WGSL source), with includes expanded, blocks
 * chosen by the boolean values and slots filled with the others.
 */
export function preprocessShader(
  name: string,
  sources: Readonly<Record<string, string>>,
  values: ShaderValues = {},
): string {
  const chosen = chooseBlocks(name, expandIncludes(name, sources, []), values);
  return fillSlots(name, repeatBlocks(name, chosen, values), values);
}

function source(name: string, sources: Readonly<Record<string, string>>): string {
  const text = sources[name];
  if (text === undefined) throw new Error(`shaders/${name}.wgsl: no such shader`);
  return text;
}

function expandIncludes(name: string, sources: Readonly<Record<string, string>>, stack: string[]): string {
  if (stack.includes(name)) throw new Error(`shaders/${name}.wgsl: includes itself (${stack.join(" -> ")})`);
  return source(name, sources).split("\n").map((line) => {
    const m = INCLUDE.exec(line);
    return m ? expandIncludes(m[1], sources, [...stack, name]).replace(/\n$/, "") : line;
  }).join("\n");
}

/** Keeps the lines of the blocks whose flags hold; drops the directive lines themselves. */
function chooseBlocks(name: string, text: string, values: ShaderValues): string {
  const kept: string[] = [];
  // One entry per open block: whether its lines are kept, and whether its //#else was seen.
  const open: Array<{ keep: boolean; sawElse: boolean; flag: string }> = [];
  const keeping = () => open.every((b) => b.keep);
  text.split("\n").forEach((line, i) => {
    const where = `shaders/${name}.wgsl (line ${i + 1} after includes)`;
    const ifMatch = IF.exec(line);
    if (ifMatch) {
      const [, not, flag] = ifMatch;
      const value = values[flag];
      if (typeof value !== "boolean") {
        throw new Error(`${where}: //#if ${not}${flag} needs a boolean value for ${flag}, got ${value}`);
      }
      open.push({ keep: not ? !value : value, sawElse: false, flag });
    } else if (ELSE.test(line)) {
      const block = open.at(-1);
      if (!block || block.sawElse) throw new Error(`${where}: //#else without an open //#if`);
      block.keep = !block.keep;
      block.sawElse = true;
    } else if (ENDIF.test(line)) {
      if (!open.pop()) throw new Error(`${where}: //#endif without an open //#if`);
    } else if (keeping()) {
      kept.push(line);
    }
  });
  if (open.length) throw new Error(`shaders/${name}.wgsl: //#if ${open.at(-1)!.flag} is never closed`);
  return kept.join("\n");
}

/** Writes out every //#for block, innermost first, its index slot filled in each copy. */
function repeatBlocks(name: string, text: string, values: ShaderValues): string {
  const lines = text.split("\n");
  // Expands lines[from ..] up to an //#endfor (inside a block) or the end; returns the lines and where it stopped.
  const expand = (from: number, inBlock: string | null): { out: string[]; next: number } => {
    const out: string[] = [];
    for (let i = from; i < lines.length; i++) {
      const where = `shaders/${name}.wgsl (line ${i + 1} after includes and //#if blocks)`;
      if (ENDFOR.test(lines[i])) {
        if (inBlock === null) throw new Error(`${where}: //#endfor without an open //#for`);
        return { out, next: i + 1 };
      }
      const m = FOR.exec(lines[i]);
      if (!m) {
        out.push(lines[i]);
        continue;
      }
      const [, index, key] = m;
      const count = /^\d+$/.test(key) ? Number(key) : values[key];
      if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
        throw new Error(`${where}: //#for ${index} in ${key} needs a whole number for ${key}, got ${count}`);
      }
      const body = expand(i + 1, index);
      const slot = new RegExp(`\\{\\{${index}\\}\\}`, "g");
      for (let k = 0; k < count; k++) out.push(...body.out.map((l) => l.replace(slot, String(k))));
      i = body.next - 1;
    }
    if (inBlock !== null) throw new Error(`shaders/${name}.wgsl: //#for ${inBlock} is never closed`);
    return { out, next: lines.length };
  };
  return expand(0, null).out.join("\n");
}

/** Replaces every `{{KEY}}` in a shader; a slot left unfilled is an error, not silent WGSL. */
export function fillSlots(name: string, text: string, values: ShaderValues): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) {
      throw new Error(`shaders/${name}.wgsl: template slot {{${key}}} not given`);
    }
    return String(value);
  });
}
