/** Plain-text tables for the CLIs' reports. */

/**
 * Rows padded into columns (`align`: one l or r per column). A row shorter than the header is a note that
 * runs on from its first cell, e.g. "cpu  skipped: --no-cpu". `rule`: a line of dashes under the header.
 */
export function table(
  header: string[],
  rows: string[][],
  align: string,
  opts: { rule?: boolean } = {},
): string[] {
  const full = rows.filter((r) => r.length === header.length);
  const widths = header.map((h, c) => Math.max(h.length, ...full.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => (align[c] === "r" ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ").trimEnd();
  return [
    line(header),
    ...(opts.rule ? [line(widths.map((w) => "-".repeat(w)))] : []),
    ...rows.map((r) =>
      r.length === header.length ? line(r) : `${r[0].padEnd(widths[0])}  ${r.slice(1).join("  ")}`
    ),
  ];
}
