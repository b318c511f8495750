/**
 * loss.svg: the loss of every step (thin line) with the per-epoch mean training loss and validation loss
 * (lines with markers) against the step, built as a plain string so it needs nothing to render but a browser.
 * Epoch values sit at the step that ended the epoch (the last step record before the epoch's record); a
 * file with epoch records only is plotted against the epoch number instead.
 */
import { isStepRecord, type MetricRecord } from "./metrics.ts";

const WIDTH = 900;
const HEIGHT = 520;
const MARGIN = { left: 78, right: 24, top: 56, bottom: 62 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const COLORS = { step: "#9db9d8", train: "#1f4e9c", val: "#d9541e", axis: "#333", grid: "#e4e4e4" };

interface Point {
  x: number;
  y: number;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** About `target` round tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 6): { ticks: number[]; spacing: number } {
  const raw = (hi - lo) / target;
  const pow = 10 ** Math.floor(Math.log10(raw));
  // The first round spacing not much below the raw one: between target / 1.5 and 2.5 * target ticks.
  const spacing = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw / 1.5)!;
  const ticks: number[] = [];
  // Multiples of an integer index, not a running sum, so no rounding drift accumulates.
  // `|| 0` turns a -0 start into 0 (a "-0" tick label otherwise).
  for (let i = Math.ceil(lo / spacing - 1e-9) || 0; i * spacing <= hi + spacing * 1e-9; i++) {
    ticks.push(i * spacing);
  }
  return { ticks, spacing };
}

function tickLabel(v: number, spacing: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(spacing) + 1e-9));
  return v.toFixed(decimals);
}

/** Widens a degenerate or empty range so scales stay finite. */
function range(values: number[], padFraction: number): [number, number] {
  if (!values.length) return [0, 1];
  // A loop, not Math.min(...values): a long run has more values than a call may take arguments.
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi - lo < 1e-12) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * padFraction;
  return [lo - pad, hi + pad];
}

/**
 * Keeps, per pixel column, the lowest and highest point (in x order): the drawn line looks the same while
 * a long run's hundreds of thousands of steps shrink to about 2 points per pixel.
 */
function decimate(points: Point[], toPx: (p: Point) => Point): Point[] {
  if (points.length <= 2 * PLOT_W) return points.map(toPx);
  const out: Point[] = [];
  let col = NaN;
  let lo: Point | null = null;
  let hi: Point | null = null;
  let loIdx = 0;
  let hiIdx = 0;
  const flush = () => {
    if (!lo || !hi) return;
    if (lo === hi) out.push(lo);
    else out.push(...(loIdx < hiIdx ? [lo, hi] : [hi, lo]));
  };
  points.forEach((p, i) => {
    const px = toPx(p);
    const c = Math.round(px.x);
    if (c !== col) {
      flush();
      col = c;
      lo = hi = px;
      loIdx = hiIdx = i;
    } else {
      if (px.y > lo!.y) [lo, loIdx] = [px, i]; // svg y grows downwards: larger y is a lower loss
      if (px.y < hi!.y) [hi, hiIdx] = [px, i];
    }
  });
  flush();
  return out;
}

const fmt = (n: number) => (Math.round(n * 10) / 10).toString();
const pointsAttr = (ps: Point[]) => ps.map((p) => `${fmt(p.x)},${fmt(p.y)}`).join(" ");

function markers(ps: Point[], color: string, shape: "circle" | "square"): string {
  return ps.map((p) =>
    shape === "circle"
      ? `<circle cx="${fmt(p.x)}" cy="${fmt(p.y)}" r="3.5" fill="${color}"/>`
      : `<rect x="${fmt(p.x - 3.5)}" y="${fmt(p.y - 3.5)}" width="7" height="7" fill="${color}"/>`
  ).join("");
}

/** The points of a run's three series, non-finite ones left out, and what the x axis counts. */
interface Series {
  steps: Point[];
  train: Point[];
  val: Point[];
  /** Whether x is the step (the records have step records) or the epoch. */
  bySteps: boolean;
}

/** Records -> series: epoch values at the step that ended the epoch, or at the epoch with no steps. */
function plotSeries(records: MetricRecord[]): Series {
  const finite = (p: Point) => Number.isFinite(p.x) && Number.isFinite(p.y);
  const steps: Point[] = [];
  const train: Point[] = [];
  const val: Point[] = [];
  const bySteps = records.some(isStepRecord);
  let lastStep = NaN;
  for (const r of records) {
    if (isStepRecord(r)) {
      lastStep = r.step;
      steps.push({ x: r.step, y: r.loss });
      continue;
    }
    const x = bySteps ? lastStep : r.epoch;
    if (r.train_loss !== undefined) train.push({ x, y: r.train_loss });
    if (r.val_loss !== undefined) val.push({ x, y: r.val_loss });
  }
  return { steps: steps.filter(finite), train: train.filter(finite), val: val.filter(finite), bySteps };
}

/** The data's ranges and their mapping to pixels. */
interface Scale {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  sx(x: number): number;
  sy(y: number): number;
  toPx(p: Point): Point;
}

function scaleOf(all: Point[]): Scale {
  const [x0, x1] = range(all.map((p) => p.x), 0);
  const [y0, y1] = range(all.map((p) => p.y), 0.05);
  const sx = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0)) * PLOT_W;
  const sy = (y: number) => MARGIN.top + (1 - (y - y0) / (y1 - y0)) * PLOT_H;
  return { x0, x1, y0, y1, sx, sy, toPx: (p) => ({ x: sx(p.x), y: sy(p.y) }) };
}

/** The SVG document for a run's metrics records. */
export function lossPlotSvg(records: MetricRecord[], title = "Training loss"): string {
  const series = plotSeries(records);
  const all = [...series.steps, ...series.train, ...series.val];
  const scale = scaleOf(all);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
    `font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="30" text-anchor="middle" font-size="18" font-weight="bold">${
      escapeXml(title)
    }</text>`,
    ...axes(scale, series.bySteps),
    ...(all.length ? [] : [
      `<text x="${MARGIN.left + PLOT_W / 2}" y="${
        MARGIN.top + PLOT_H / 2
      }" text-anchor="middle" fill="#888">no data</text>`,
    ]),
    ...dataLines(series, scale.toPx),
    ...legend(series),
    `</svg>`,
  ].join("\n") + "\n";
}

/** Grid, ticks and their labels, the plot's frame and the axis titles. */
function axes(scale: Scale, bySteps: boolean): string[] {
  const { sx, sy } = scale;
  const parts: string[] = [];
  const yt = niceTicks(scale.y0, scale.y1);
  for (const t of yt.ticks) {
    const y = fmt(sy(t));
    parts.push(
      `<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + PLOT_W}" y2="${y}" stroke="${COLORS.grid}"/>`,
      `<line x1="${MARGIN.left - 5}" y1="${y}" x2="${MARGIN.left}" y2="${y}" stroke="${COLORS.axis}"/>`,
      `<text x="${MARGIN.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${
        tickLabel(t, yt.spacing)
      }</text>`,
    );
  }
  const xt = niceTicks(scale.x0, scale.x1);
  // Steps and epochs are whole numbers: no ticks between them.
  for (const t of xt.ticks.filter((t) => Number.isInteger(t))) {
    const x = fmt(sx(t));
    const yb = MARGIN.top + PLOT_H;
    parts.push(
      `<line x1="${x}" y1="${yb}" x2="${x}" y2="${yb + 5}" stroke="${COLORS.axis}"/>`,
      `<text x="${x}" y="${yb + 20}" text-anchor="middle">${tickLabel(t, Math.max(xt.spacing, 1))}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="${COLORS.axis}"/>`,
    `<text x="${MARGIN.left + PLOT_W / 2}" y="${HEIGHT - 16}" text-anchor="middle">${
      bySteps ? "step" : "epoch"
    }</text>`,
    `<text transform="translate(20 ${
      MARGIN.top + PLOT_H / 2
    }) rotate(-90)" text-anchor="middle">cross-entropy loss</text>`,
  );
  return parts;
}

/** The series' lines, clipped to the plot area, and the epoch values' markers. */
function dataLines(series: Series, toPx: (p: Point) => Point): string[] {
  const parts = [
    `<clipPath id="plot-area"><rect x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_W}" height="${PLOT_H}"/></clipPath>`,
    `<g clip-path="url(#plot-area)" fill="none" stroke-linejoin="round">`,
  ];
  if (series.steps.length) {
    parts.push(
      `<polyline points="${
        pointsAttr(decimate(series.steps, toPx))
      }" stroke="${COLORS.step}" stroke-width="1"/>`,
    );
  }
  for (const [ps, color] of [[series.train, COLORS.train], [series.val, COLORS.val]] as const) {
    if (ps.length > 1) {
      parts.push(`<polyline points="${pointsAttr(ps.map(toPx))}" stroke="${color}" stroke-width="2"/>`);
    }
  }
  parts.push(`</g>`);
  parts.push(
    markers(series.train.map(toPx), COLORS.train, "circle"),
    markers(series.val.map(toPx), COLORS.val, "square"),
  );
  return parts;
}

/** The legend, top right inside the plot, for the series present. */
function legend(series: Series): string[] {
  const entries: Array<[string, string]> = [];
  if (series.steps.length) {
    entries.push([
      `<line x1="0" y1="0" x2="22" y2="0" stroke="${COLORS.step}" stroke-width="1.5"/>`,
      "loss per step",
    ]);
  }
  if (series.train.length) {
    entries.push([
      `<line x1="0" y1="0" x2="22" y2="0" stroke="${COLORS.train}" stroke-width="2"/>${
        markers([{ x: 11, y: 0 }], COLORS.train, "circle")
      }`,
      "train loss (epoch mean)",
    ]);
  }
  if (series.val.length) {
    entries.push([
      `<line x1="0" y1="0" x2="22" y2="0" stroke="${COLORS.val}" stroke-width="2"/>${
        markers([{ x: 11, y: 0 }], COLORS.val, "square")
      }`,
      "validation loss",
    ]);
  }
  if (!entries.length) return [];
  const w = 196;
  const lx = MARGIN.left + PLOT_W - w - 10;
  const ly = MARGIN.top + 10;
  const parts = [
    `<rect x="${lx}" y="${ly}" width="${w}" height="${
      entries.length * 20 + 10
    }" fill="white" fill-opacity="0.9" stroke="#bbb"/>`,
  ];
  entries.forEach(([swatch, label], i) => {
    const y = ly + 15 + i * 20;
    parts.push(
      `<g transform="translate(${lx + 10} ${y})">${swatch}</g>`,
      `<text x="${lx + 40}" y="${y}" dominant-baseline="middle">${escapeXml(label)}</text>`,
    );
  });
  return parts;
}
