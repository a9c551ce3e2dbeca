import { count, duration, h, s } from "./dom.js";

/**
 * The runs-over-time charts, drawn as inline SVG (ADR: no chart library: two scatter plots need
 * a scale, axes and markers, about a hundred lines). Every run is one marker, a link to the run
 * (`#run=<id>`); its status is told by the marker's shape as well as its colour, and in its
 * tooltip; the legends name every colour.
 */

const WIDTH = 640;
const HEIGHT = 200;
const MARGIN = { left: 64, right: 16, top: 14, bottom: 30 };
/** The step series' colours, told apart by the legend's text (and by the step in each tooltip). */
const SERIES_COLOURS = [
  "#1f77b4",
  "#ff7f0e",
  "#9467bd",
  "#17becf",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
];

/**
 * `runs`: oldest first, each `{ runId, at, status, durationMs, rows, steps: [{ key, rows }] }`
 * (`at` in epoch ms). Answers a figure with the two charts.
 */
export function runsCharts(pipeline, runs) {
  const timed = runs.filter((run) => Number.isFinite(run.at));
  const x = timeScale(timed.map((run) => run.at));
  const durations = scatter({
    label: `${pipeline}: duration of each run`,
    className: "chart durations",
    x,
    y: linearScale(timed.map((run) => run.durationMs ?? 0)),
    yFormat: (v) => duration(v),
    points: timed
      .filter((run) => typeof run.durationMs === "number")
      .map((run) => ({ run, value: run.durationMs, colour: undefined })),
  });

  const keys = [...new Set(timed.flatMap((run) => run.steps.map((step) => step.key)))];
  const colourOf = (key) => SERIES_COLOURS[keys.indexOf(key) % SERIES_COLOURS.length];
  const stepPoints = timed.flatMap((run) =>
    run.steps
      .filter((step) => typeof step.rows === "number")
      .map((step) => ({ run, value: step.rows, colour: colourOf(step.key), step: step.key })),
  );
  const rows = scatter({
    label: `${pipeline}: rows moved by each step of each run`,
    className: "chart rows",
    x,
    y: linearScale(stepPoints.map((p) => p.value)),
    yFormat: (v) => count(Math.round(v)),
    points: stepPoints,
    series: keys.map((key) => ({ key, colour: colourOf(key) })),
  });

  return h(
    "div",
    { class: "charts" },
    h("figure", {}, h("figcaption", {}, "Duration per run"), durations, statusLegend()),
    h(
      "figure",
      {},
      h("figcaption", {}, "Rows per step"),
      rows,
      h(
        "ul",
        { class: "legend" },
        keys.map((key) => h("li", {}, swatch(colourOf(key)), ` ${key}`)),
      ),
    ),
  );
}

/** A legend's colour sample; set through the CSSOM, which the page's CSP allows (a style attribute it does not). */
function swatch(colour) {
  const sample = h("span", { class: "swatch", "aria-hidden": "true" }, "■");
  sample.style.color = colour;
  return sample;
}

function statusLegend() {
  return h(
    "ul",
    { class: "legend" },
    h("li", {}, h("span", { class: "status-succeeded" }, "●"), " succeeded"),
    h("li", {}, h("span", { class: "status-failed" }, "✕"), " failed"),
    h("li", {}, h("span", { class: "status-other" }, "○"), " running, cancelled, queued or skipped"),
  );
}

function scatter({ label, className, x, y, yFormat, points, series = [] }) {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (value) => MARGIN.left + x.at(value) * plotWidth;
  const py = (value) => MARGIN.top + (1 - y.at(value)) * plotHeight;
  const bottom = HEIGHT - MARGIN.bottom;

  const svg = s("svg", {
    class: className,
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-label": `${label}: ${points.length} point${points.length === 1 ? "" : "s"}`,
  });
  svg.append(s("title", {}, label));
  // axes, with the range's ends as labels
  svg.append(
    s("line", { class: "axis", x1: MARGIN.left, y1: bottom, x2: WIDTH - MARGIN.right, y2: bottom }),
    s("line", { class: "axis", x1: MARGIN.left, y1: MARGIN.top, x2: MARGIN.left, y2: bottom }),
    s("text", { class: "tick", x: MARGIN.left - 6, y: bottom, "text-anchor": "end" }, yFormat(y.min)),
    s("text", { class: "tick", x: MARGIN.left - 6, y: MARGIN.top + 8, "text-anchor": "end" }, yFormat(y.max)),
    s("text", { class: "tick", x: MARGIN.left, y: HEIGHT - 8, "text-anchor": "start" }, clock(x.min)),
    s("text", { class: "tick", x: WIDTH - MARGIN.right, y: HEIGHT - 8, "text-anchor": "end" }, clock(x.max)),
  );
  // each step's series joined by a line, oldest to newest
  for (const { key, colour } of series) {
    const line = points.filter((p) => p.step === key).map((p) => `${px(p.run.at)},${py(p.value)}`);
    if (line.length > 1)
      svg.append(s("polyline", { class: "series", points: line.join(" "), stroke: colour, fill: "none" }));
  }
  for (const point of points) {
    const { run } = point;
    const cx = px(run.at);
    const cy = py(point.value);
    const what = point.step ? `${point.step}: ${count(point.value)} rows` : duration(point.value);
    const tip = `${run.runId}: ${run.status}, ${what} (${new Date(run.at).toLocaleString()})`;
    svg.append(
      s(
        "a",
        {
          href: `#run=${encodeURIComponent(run.runId)}`,
          class: `run-point status-${statusClass(run.status)}`,
          "data-run-id": run.runId,
          "data-status": run.status,
          "aria-label": tip,
        },
        s("title", {}, tip),
        marker(run.status, cx, cy, point.colour),
      ),
    );
  }
  return svg;
}

/** Succeeded: a filled dot; failed: a cross; anything else: a ring. */
function marker(status, cx, cy, colour) {
  const paint = colour ? { stroke: colour, fill: colour } : {};
  if (status === "failed") {
    const d = 5;
    return s("path", {
      class: "marker",
      d: `M${cx - d},${cy - d}L${cx + d},${cy + d}M${cx - d},${cy + d}L${cx + d},${cy - d}`,
      ...(colour ? { stroke: colour } : {}),
    });
  }
  if (status === "succeeded") return s("circle", { class: "marker", cx, cy, r: 5, ...paint });
  return s("circle", { class: "marker hollow", cx, cy, r: 5, ...(colour ? { stroke: colour } : {}) });
}

export function statusClass(status) {
  return status === "succeeded" || status === "failed" ? status : "other";
}

/** Epoch ms onto 0..1; one value (or none) sits in the middle. */
function timeScale(values) {
  const min = values.length ? Math.min(...values) : Date.now();
  const max = values.length ? Math.max(...values) : min;
  const span = max - min;
  return { min, max, at: (v) => (span === 0 ? 0.5 : 0.04 + ((v - min) / span) * 0.92) };
}

/** 0..max (with headroom) onto 0..1. */
function linearScale(values) {
  const top = Math.max(1, ...values.filter(Number.isFinite)) * 1.1;
  return { min: 0, max: top, at: (v) => Math.max(0, Math.min(1, v / top)) };
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString();
}
