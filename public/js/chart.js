/**
 * A small inline-SVG line chart of a queue's rates (messages per second), computed from the
 * differences between successive stats samples. No library: two polylines and a grid.
 */

const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 480;
const HEIGHT = 140;
const PAD = { left: 40, right: 8, top: 8, bottom: 20 };

/** The series drawn, with their CSS class (colour) and legend label. */
export const SERIES = [
  { key: "enqueued", label: "enqueued/s" },
  { key: "acked", label: "acked/s" },
];

/**
 * Rates between two stats samples, per second. Counters that went down (a restarted
 * object's counters, a purge) give no rate rather than a negative one.
 */
export function ratesBetween(previous, current) {
  const seconds = (current.at - previous.at) / 1000;
  if (seconds <= 0) return null;
  const rate = (key) => Math.max(0, current[key] - previous[key]) / seconds;
  return { at: current.at, enqueued: rate("enqueued"), acked: rate("acked") };
}

/** The x axis spans at least this long, so the first few samples are not a vertical smear. */
const MIN_SPAN_MS = 20_000;

/**
 * Draw `points` (`{ at, enqueued, acked }`, oldest first) into `container`, replacing what was
 * there. The x axis covers the time since `since` (when sampling began), growing up to
 * `windowMs`, then slides.
 */
export function drawRateChart(container, points, { since, windowMs, label }) {
  const now = points.at(-1)?.at ?? Date.now();
  const spanMs = Math.min(windowMs, Math.max(MIN_SPAN_MS, now - since));
  const top = niceCeiling(Math.max(1, ...points.flatMap((point) => SERIES.map((series) => point[series.key]))));
  const x = (at) => PAD.left + ((at - (now - spanMs)) / spanMs) * (WIDTH - PAD.left - PAD.right);
  const y = (value) => HEIGHT - PAD.bottom - (value / top) * (HEIGHT - PAD.top - PAD.bottom);

  const svg = svgElement("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": label });
  for (const value of [0, top / 2, top]) {
    svg.append(svgElement("line", { class: "grid", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value) }));
    const text = svgElement("text", { class: "axis-label", x: PAD.left - 6, y: y(value) + 4, "text-anchor": "end" });
    text.textContent = formatRate(value);
    svg.append(text);
  }
  const xLabel = (at, anchor, text) => {
    const node = svgElement("text", { class: "axis-label", x: x(at), y: HEIGHT - 4, "text-anchor": anchor });
    node.textContent = text;
    svg.append(node);
  };
  xLabel(now - spanMs, "start", `-${Math.round(spanMs / 1000)} s`);
  xLabel(now, "end", "now");

  const visible = points.filter((point) => point.at >= now - spanMs);
  for (const series of SERIES) {
    if (visible.length === 0) continue;
    const coordinates = visible.map((point) => `${x(point.at).toFixed(1)},${y(point[series.key]).toFixed(1)}`);
    svg.append(svgElement("polyline", { class: `line ${series.key}`, points: coordinates.join(" "), "data-series": series.key }));
    // The latest value as a dot: visible even while there is only one sample.
    const latest = visible.at(-1);
    svg.append(svgElement("circle", { class: `dot ${series.key}`, cx: x(latest.at).toFixed(1), cy: y(latest[series.key]).toFixed(1), r: 3 }));
  }
  container.replaceChildren(svg);
}

export function formatRate(value) {
  if (value === 0) return "0";
  if (value < 10) return value.toFixed(1).replace(/\.0$/, "");
  return Math.round(value).toString();
}

/** 1, 2, 5, 10, 20, 50, ...: a round top for the y axis at or above `value`. */
function niceCeiling(value) {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

function svgElement(tag, attributes) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}
