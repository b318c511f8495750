/**
 * A flag table as a form: the fields a web page shows (every flag with a label, in table order: a text
 * box, or a check box for an on/off flag) and what the page starts them with (the defaults), so that a
 * page reads its fields into the same FlagValues the command line gives and plans the run with the same
 * code.
 */
import type { FlagTable, FlagValues } from "./flags.ts";

/** A flag as a web page's field. */
export interface FormField {
  /** The flag's name (the field's id is its prefix and this). */
  name: string;
  /** What the page shows beside it. */
  label: string;
  /** A check box (on/off flags) or a text box. */
  checkbox: boolean;
  /** A text box for a number. */
  numeric: boolean;
  /** What it starts with: the default ("" for none; a check box: on or off). */
  value: string | boolean;
  /** Shown in an empty text box: what leaving it empty means. */
  placeholder: string;
}

/** The fields of a table's flags that have a label, in the table's order. */
export function formFields(table: FlagTable): FormField[] {
  return Object.entries(table).filter(([, spec]) => spec.label !== undefined).map(([name, spec]) => {
    const checkbox = spec.kind === "boolean";
    const shown = spec.default === undefined ? "" : String(spec.default);
    return {
      name,
      label: spec.label!,
      checkbox,
      numeric: typeof spec.kind === "string" && !["text", "boolean"].includes(spec.kind),
      value: checkbox ? spec.default === true : shown,
      placeholder: spec.defaultText ?? shown,
    };
  });
}

/**
 * What a form holds as flag values: a check box is its state, a text box its trimmed text (an empty one
 * is not given: the flag's default).
 */
export function formValues(fields: FormField[], read: (field: FormField) => string | boolean): FlagValues {
  const values: FlagValues = {};
  for (const field of fields) {
    const value = read(field);
    if (typeof value === "string") {
      if (value.trim() !== "") values[field.name] = value.trim();
    } else values[field.name] = value;
  }
  return values;
}
