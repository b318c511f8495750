/**
 * Headline cleaning exactly as the reference notebook: drop the "Unknown" placeholder, delete Python's
 * `string.punctuation`, lower-case, split on whitespace.
 */

/** The NYT files' placeholder for a missing headline; compared with the raw field, before cleaning. */
export const UNKNOWN_HEADLINE = "Unknown";

/** Python's `string.punctuation`: the 32 ASCII punctuation characters. */
export const ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

// Every character of ASCII_PUNCTUATION, escaped for a character class.
const PUNCTUATION_RE = new RegExp(`[${ASCII_PUNCTUATION.replace(/[\\\]^-]/g, "\\$&")}]`, "g");

// Python's str.split() whitespace (str.isspace): JS's \s differs (it lacks \x1c-\x1f and \x85 but has \ufeff).
const PYTHON_WHITESPACE_RE =
  // deno-lint-ignore no-control-regex -- \x1c-\x1f are whitespace to Python, so they must split here too.
  /[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** True for a raw headline field the notebook keeps (everything but the exact placeholder). */
export function isRealHeadline(raw: string): boolean {
  return raw !== UNKNOWN_HEADLINE;
}

/**
 * The words of one headline: ASCII punctuation removed (so "Trump's" -> "trumps", "U.S." -> "us"),
 * lower-cased, split on whitespace as Python's str.split() defines it. Non-ASCII characters (curly quotes, accents) stay as they are,
 * like Python's str.translate with string.punctuation. May return [] (e.g. "--").
 */
export function cleanHeadline(text: string): string[] {
  return text.replace(PUNCTUATION_RE, "").toLowerCase().split(PYTHON_WHITESPACE_RE).filter((w) => w !== "");
}
