/**
 * The errors every layer shares, and the one way a thrown value becomes the line a person reads.
 *
 * A message that names a setting (the learning rate, the backend) names it as a {@linkcode SettingRef}: the
 * core does not know how a host spells its settings. {@linkcode errorLine} writes a setting in words by
 * default ("try a lower learning rate"), and a host passes its own spelling: the CLIs write flags
 * ({@linkcode asFlag}: "try a lower --lr").
 *
 * @example A message naming a setting, read in words and as the CLIs print it
 * ```ts
 * import { asFlag, errorLine, setting, UserError, words } from "./errors.ts";
 *
 * const e = new UserError(words`loss became NaN: try a lower ${setting("lr", "learning rate")}`);
 * if (errorLine(e) !== "loss became NaN: try a lower learning rate") throw new Error(errorLine(e));
 * if (errorLine(e, asFlag) !== "loss became NaN: try a lower --lr") throw new Error(errorLine(e, asFlag));
 * ```
 *
 * @module
 */

/**
 * A setting named inside a message: `name` is its flag's name without dashes (`lr`, `backend`), `value` a
 * value the message suggests (`cpu`), `words` how it reads in prose.
 */
export interface SettingRef {
  /** The setting's name as the CLIs' flag has it, without the dashes. */
  readonly name: string;
  /** A value the message suggests for it (the CLIs write `--name value`), if any. */
  readonly value?: string;
  /** The setting (and the value) in words, for hosts without flags. */
  readonly words: string;
}

/** A message as text and the settings it names, in order. */
export type MessagePart = string | SettingRef;

/** How a host writes a setting named in a message. */
export type SettingSpelling = (setting: SettingRef) => string;

/**
 * A setting to name in a message (see {@linkcode words}); `inWords` defaults to the name, followed by the
 * value when there is one.
 */
export function setting(name: string, inWords?: string, value?: string): SettingRef {
  return {
    name,
    ...(value !== undefined ? { value } : {}),
    words: inWords ?? (value !== undefined ? `${name} ${value}` : name),
  };
}

/** Settings in words: the default spelling, and the one `Error.message` carries. */
export function inWords(s: SettingRef): string {
  return s.words;
}

/** Settings as the CLIs' flags: `--lr`, `--backend cpu`. */
export function asFlag(s: SettingRef): string {
  return `--${s.name}${s.value !== undefined ? ` ${s.value}` : ""}`;
}

/** A template tag: a message whose interpolated {@linkcode SettingRef}s stay settings, everything else text. */
export function words(
  strings: TemplateStringsArray,
  ...values: Array<string | number | SettingRef>
): MessagePart[] {
  const parts: MessagePart[] = [];
  strings.forEach((text, i) => {
    parts.push(text);
    if (i < values.length) {
      const v = values[i];
      parts.push(typeof v === "object" ? v : String(v));
    }
  });
  return parts;
}

/** The parts of a message as one text, each setting written by `spelling`. */
export function spell(parts: readonly MessagePart[], spelling: SettingSpelling = inWords): string {
  return parts.map((p) => typeof p === "string" ? p : spelling(p)).join("");
}

/**
 * An error the user caused and can fix (bad flag, bad file): scripts print its message as one line and
 * exit with `exitCode`, never a stack trace. Its message may name settings (give it {@linkcode words}).
 */
export class UserError extends Error {
  /** The exit code of a CLI that ends with this error. */
  readonly exitCode: number;
  /** The message as parts: text, and the settings it names (its `message` writes them in words). */
  readonly parts: readonly MessagePart[];
  /** `message`: text, or parts made with {@linkcode words}. */
  constructor(message: string | readonly MessagePart[], exitCode = 1) {
    const parts = typeof message === "string" ? [message] : message;
    super(spell(parts));
    this.name = "UserError";
    this.exitCode = exitCode;
    this.parts = parts;
  }
}

/**
 * The GPU device was lost (a driver reset, out of memory, destroyed): nothing computed on it since means
 * anything, and it cannot be used again. The WebGPU backend and doctor throw it.
 */
export class DeviceLostError extends Error {
  /** What WebGPU said about the loss (`GPUDeviceLostInfo.reason`): "destroyed", or "unknown". */
  readonly reason: string;
  /** `during` says what was running ("the softmax check"); `details` is WebGPU's message. */
  constructor(reason: string, details: string, during?: string) {
    super(
      `the GPU device was lost (${reason})${during ? ` during ${during}` : ""}: ${
        firstLine(details || "no details")
      }`,
    );
    this.name = "DeviceLostError";
    this.reason = reason;
  }
}

/** Exit code for bad command-line usage (unknown flag, bad value). */
export const USAGE_EXIT = 2;

/**
 * Any thrown value as the one line a person reads (UserErrors are already worded for people), the
 * settings it names written by `spelling` (in words unless a host gives its own, as the CLIs give
 * {@linkcode asFlag}).
 */
export function errorLine(e: unknown, spelling: SettingSpelling = inWords): string {
  if (e instanceof UserError) return firstLine(spell(e.parts, spelling));
  return firstLine(e instanceof Error ? e.message : String(e));
}

/** The first non-blank line of an error message (wgpu's and Deno's are often multi-line, some blank-led). */
export function firstLine(message: string): string {
  return message.split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "(no message)";
}
