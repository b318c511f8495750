/**
 * A WGSL uniform struct declared once in TypeScript, as its fields in order with their scalar types: the
 * packer writes a value object keyed by field name into the bytes the shader's struct reads (each field 4
 * bytes at its position), so no caller packs fields by position. The shader keeps its own `struct` text
 * (with its comments); tests/uniform_struct_test.ts reads every uniform struct of every shader and fails
 * when its order, a name or a type differs from the declaration here.
 */

/** The 4-byte scalar types a uniform field may have. */
export type UniformScalar = "u32" | "i32" | "f32";

/** A uniform struct: its WGSL name, the shader that declares it, its fields in order, and its packer. */
export interface UniformStruct<F extends string> {
  /** The struct's WGSL name. */
  readonly name: string;
  /** The shader that declares it (shaders/NAME.wgsl; others may include it). */
  readonly shader: string;
  /** Its fields in declaration order. */
  readonly fields: ReadonlyArray<{ name: F; type: UniformScalar }>;
  /** Bytes of the packed struct: 4 a field, padded to a multiple of 16 (a uniform buffer's size). */
  readonly bytes: number;
  /** The `bytes` of `values` in the struct's layout. */
  pack(values: Readonly<Record<F, number>>): Uint8Array;
  /** The declaration as WGSL (`struct Name { a: u32, b: f32 }`), for messages. */
  wgsl(): string;
}

const RANGES: Record<UniformScalar, { min: number; max: number; integer: boolean }> = {
  u32: { min: 0, max: 2 ** 32 - 1, integer: true },
  i32: { min: -(2 ** 31), max: 2 ** 31 - 1, integer: true },
  f32: { min: -Infinity, max: Infinity, integer: false },
};

/**
 * Declares struct `name` of shader `shader` with `fields` (field name -> type, in the order the shader
 * declares them: an object's string keys keep their order).
 */
export function uniformStruct<const F extends string>(
  name: string,
  shader: string,
  fields: Readonly<Record<F, UniformScalar>>,
): UniformStruct<F> {
  const list = (Object.entries(fields) as Array<[F, UniformScalar]>).map(([field, type]) => {
    // Integer-like keys would be enumerated first, whatever their place in the literal.
    if (/^\d+$/.test(field)) throw new Error(`uniform ${name}: field name ${field} is a number`);
    return { name: field, type };
  });
  const bytes = Math.max(16, Math.ceil((list.length * 4) / 16) * 16);
  return {
    name,
    shader,
    fields: list,
    bytes,
    pack(values: Readonly<Record<F, number>>): Uint8Array {
      const out = new ArrayBuffer(bytes);
      const view = new DataView(out);
      const given = Object.keys(values).filter((k) => !(k in fields));
      if (given.length) throw new Error(`uniform ${name}: no field ${given.join(", ")}`);
      list.forEach((f, i) => {
        const v = values[f.name];
        const r = RANGES[f.type];
        const ok = typeof v === "number" && Number.isFinite(v) && (!r.integer || Number.isInteger(v)) &&
          v >= r.min && v <= r.max;
        if (!ok) throw new Error(`uniform ${name}: ${f.name} must be a finite ${f.type}, got ${v}`);
        if (f.type === "f32") view.setFloat32(i * 4, v, true);
        else if (f.type === "i32") view.setInt32(i * 4, v, true);
        else view.setUint32(i * 4, v, true);
      });
      return new Uint8Array(out);
    },
    wgsl(): string {
      return `struct ${name} { ${list.map((f) => `${f.name}: ${f.type}`).join(", ")} }`;
    },
  };
}
