/**
 * The WGSL preprocessor: turns a shader's source into the text one pipeline compiles. Three directives,
 * each on a line of its own, and one kind of slot:
 *
 *   //#include NAME      replaced by the text of shader NAME (itself preprocessed)
 *   //#if FLAG          the lines up to the matching //#else or //#endif are kept only when FLAG is true
 *   //#if !FLAG         (or false, with !); FLAG is a boolean among the values; blocks nest
 *   //#else
 *   //#endif
 *   {{KEY}}             replaced by the value of KEY (a boolean prints as WGSL's true or false)
 *
 * A flag or slot the values do not give is an error naming the shader, never silently empty WGSL; so is an
 * unbalanced block. Directive lines vanish from the output (kept lines stay byte for byte as written).
 */

export type ShaderValues = Record<string, string | number | boolean>;

const INCLUDE = /^\s*\/\/#include (\w+)\s*$/;
const IF = /^\s*\/\/#if (!?)(\w+)\s*$/;
const ELSE = /^\s*\/\/#else\s*$/;
const ENDIF = /^\s*\/\/#endif\s*$/;

/**
 * The text of shader `name` from `sources` (shader name -> WGSL source), with includes expanded, blocks
 * chosen by the boolean values and slots filled with the others.
 */
export function preprocessShader(
  name: string,
  sources: Readonly<Record<string, string>>,
  values: ShaderValues = {},
): string {
  return fillSlots(name, chooseBlocks(name, expandIncludes(name, sources, []), values), values);
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
