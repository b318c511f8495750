/// <reference lib="dom" />
/**
 * The next-word distribution as horizontal bars: one row per word, most likely first, the longest bar the
 * most likely word (an undertrained model spreads its probability thinly: on a 0-1 scale every bar would be
 * a sliver), the probability printed at each bar's end.
 */
import { svg } from "./dom.ts";

const ROW = 24;
const LABEL_W = 110;
const VALUE_W = 52;
const WIDTH = 520;
const BAR_MAX = WIDTH - LABEL_W - VALUE_W;

export function barChart(words: string[], probs: number[]): SVGElement {
  const height = Math.max(1, words.length) * ROW + 6;
  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${height}`,
    role: "img",
    "aria-label": `next-word probabilities: ${words.map((w, i) => `${w} ${probs[i].toFixed(3)}`).join(", ")}`,
    "font-family": "system-ui, sans-serif",
    "font-size": 13,
  });
  chart.append(svg("line", { x1: LABEL_W, x2: LABEL_W, y1: 0, y2: height, stroke: "#c9ced8" }));
  const top = Math.max(...probs, 1e-12);
  words.forEach((word, i) => {
    const y = i * ROW + 4;
    const w = Math.max(1, (probs[i] / top) * BAR_MAX);
    const shown = word.length > 16 ? `${word.slice(0, 15)}…` : word;
    chart.append(
      svg(
        "text",
        { x: LABEL_W - 8, y: y + ROW / 2 + 1, "text-anchor": "end", "dominant-baseline": "middle" },
        shown,
      ),
      svg("rect", {
        x: LABEL_W,
        y: y + 3,
        width: w,
        height: ROW - 8,
        rx: 3,
        fill: i === 0 ? "#1f4e9c" : "#7fa2d6",
      }),
      svg("text", {
        x: LABEL_W + w + 6,
        y: y + ROW / 2 + 1,
        "dominant-baseline": "middle",
        fill: "#667085",
      }, probs[i].toFixed(3)),
    );
  });
  return chart;
}
