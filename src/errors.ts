/**
 * An error the user caused and can fix (bad flag, bad file): scripts print its message as one line and
 * exit with `exitCode`, never a stack trace.
 */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "UserError";
    this.exitCode = exitCode;
  }
}

/** Exit code for bad command-line usage (unknown flag, bad value). */
export const USAGE_EXIT = 2;

/** Any thrown value as the one line a person reads (UserErrors are already worded for people). */
export function errorLine(e: unknown): string {
  return firstLine(e instanceof Error ? e.message : String(e));
}

/** The first non-blank line of an error message (wgpu's and Deno's are often multi-line, some blank-led). */
export function firstLine(message: string): string {
  return message.split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "(no message)";
}
