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
