/**
 * Small SVG chart primitives for the simulator's HTML report: number formatting, nice ticks, a
 * time-series chart with shaded fault bands, a histogram and horizontal bars, each returned as one
 * `<svg data-chart="…">` string. Pure string building: never performs I/O, never writes NaN or
 * Infinity into a coordinate (every division is guarded), and escapes every text it inserts. It
 * knows nothing of SimReport; html-report.ts maps the report onto these.
 */

export const CHART_WIDTH = 640;
const CHART_HEIGHT = 240;
const MARGIN = { left: 60, right: 18, top: 30, bottom: 44 };
/** Most hover targets per time chart; a longer series is sampled for hovering (the line keeps every point). */
const HOVER_TARGETS_MAX = 720;
/** Most bars drawn by barChart; the rest are summed into one "other" bar. */
export const BARS_MAX = 12;
/** Longest bar label drawn in full; longer ones are cut (the hover tip keeps the whole label). */
const BAR_LABEL_CHARS_MAX = 28;

/** Escapes text for HTML and SVG content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Formats a coordinate: finite numbers rounded to 0.01, anything else 0, so SVG never sees NaN. */
export function num(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 100) / 100) : '0';
}

/** a / b, or 0 when the quotient is not a finite number (b is 0, or either side is not finite). */
export function ratio(a: number, b: number): number {
  const q = a / b;
  return Number.isFinite(q) ? q : 0;
}

/** Simulated minutes as h:mm (e.g. 95 → "1:35"). */
export function formatClock(minutes: number): string {
  const total = Number.isFinite(minutes) ? Math.max(0, Math.round(minutes)) : 0;
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

/** A share (0..1) as a percentage with `digits` decimals; '–' when not a finite number. */
export function formatShare(share: number, digits = 1): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(digits)}%` : '–';
}

/** A count or rate with thousands separators and at most `digits` decimals; '–' when not finite. */
export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A step of 1, 2 or 5 × 10^k that cuts `span` into about `count` pieces. */
function niceStep(span: number, count: number): number {
  const raw = ratio(span, count);
  if (raw <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
}

/** Tick values covering [lo, hi] at a nice step of at least `stepMin`, starting and ending on a tick. */
export function niceTicks(lo: number, hi: number, count = 5, stepMin = 0): number[] {
  const step = Math.max(stepMin, niceStep(hi - lo, count));
  const first = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let i = 0; i <= 50 && first + i * step <= hi + step * 1e-9; i += 1) ticks.push(first + i * step);
  if (ticks.length < 2) ticks.push(first + step);
  return ticks.map((t) => Number(t.toPrecision(12)));
}

/** Ticks of simulated time at a step a person reads easily (5 min, 15 min, 1 h, …). */
function timeTicks(maxMinutes: number): number[] {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440, 2880, 10080];
  const step = steps.find((s) => maxMinutes / s <= 8) ?? Math.ceil(maxMinutes / 8);
  const ticks: number[] = [];
  for (let t = 0; t <= maxMinutes + 1e-9 && ticks.length <= 20; t += step) ticks.push(t);
  return ticks;
}

/** A linear map from a domain onto a pixel range; a zero-width domain maps onto the range's start. */
function scale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  return (v) => r0 + ratio(v - d0, d1 - d0) * (r1 - r0);
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${num(x)}" y="${num(y)}" ${attrs}>${escapeHtml(content)}</text>`;
}

/** The outer `<svg>` with its name, an accessible title and a background, so it is never empty. */
function frame(name: string, title: string, height: number, body: string): string {
  return (
    `<svg class="chart" data-chart="${escapeHtml(name)}" viewBox="0 0 ${CHART_WIDTH} ${height}" role="img" ` +
    `aria-label="${escapeHtml(title)}"><rect class="bg" x="0" y="0" width="${CHART_WIDTH}" height="${height}"/>` +
    `${body}</svg>`
  );
}

function emptyNote(height: number, message: string): string {
  return text(CHART_WIDTH / 2, height / 2, message, 'class="empty" text-anchor="middle"');
}

export interface Band {
  fromMinute: number;
  toMinute: number;
  label: string;
}

export interface TimeChartSpec {
  name: string;
  title: string;
  yLabel: string;
  color: string;
  /** Shares (0..1) get percent ticks and a top of 100%; the bottom zooms in to the data. */
  share: boolean;
  xMaxMinutes: number;
  bucketMinutes: number;
  bands: Band[];
  format: (value: number) => string;
}

interface Point {
  minute: number;
  value: number;
}

function yDomain(values: number[], share: boolean): [number, number] {
  if (values.length === 0) return [0, 1];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (!share) return [0, hi > 0 ? hi : 1];
  // Shares near 100% (accuracy, SLA) would draw as a flat line on a 0..100% axis: zoom to the data.
  const bottom = lo >= 0.5 ? Math.max(0, Math.min(lo, 0.98) - 0.02) : 0;
  return [bottom, Math.max(1, hi)];
}

/** Grid lines with labelled y ticks, the x axis line and both axis titles (x ticks are the caller's). */
function axes(
  yTicks: number[],
  y: (v: number) => number,
  format: (v: number) => string,
  labels: [string, string],
): string {
  const bottom = CHART_HEIGHT - MARGIN.bottom;
  const right = CHART_WIDTH - MARGIN.right;
  const parts = yTicks.map(
    (t) =>
      `<line class="grid" x1="${MARGIN.left}" x2="${right}" y1="${num(y(t))}" y2="${num(y(t))}"/>` +
      text(MARGIN.left - 6, y(t) + 4, format(t), 'class="tick" text-anchor="end"'),
  );
  parts.push(`<line class="axis" x1="${MARGIN.left}" x2="${right}" y1="${bottom}" y2="${bottom}"/>`);
  parts.push(text((MARGIN.left + CHART_WIDTH) / 2, CHART_HEIGHT - 6, labels[0], 'class="label" text-anchor="middle"'));
  parts.push(text(14, MARGIN.top - 12, labels[1], 'class="label"'));
  return parts.join('');
}

function timeTickMarks(x: (m: number) => number, xMaxMinutes: number): string {
  const bottom = CHART_HEIGHT - MARGIN.bottom;
  return timeTicks(xMaxMinutes)
    .map(
      (m) =>
        `<line class="axis" x1="${num(x(m))}" x2="${num(x(m))}" y1="${bottom}" y2="${bottom + 4}"/>` +
        text(x(m), bottom + 16, formatClock(m), 'class="tick" text-anchor="middle"'),
    )
    .join('');
}

function bandsSvg(bands: Band[], x: (m: number) => number): string {
  const top = MARGIN.top;
  const height = CHART_HEIGHT - MARGIN.bottom - top;
  return bands
    .map((b, i) => {
      const clamp = (px: number) => Math.min(CHART_WIDTH - MARGIN.right, Math.max(MARGIN.left, px));
      const x0 = clamp(x(Math.min(b.fromMinute, b.toMinute)));
      const x1 = Math.max(x0 + 2, clamp(x(Math.max(b.fromMinute, b.toMinute))));
      const labelY = top + 11 + (i % 3) * 12;
      return (
        `<g class="fault" data-tip="${escapeHtml(`${b.label}: ${formatClock(b.fromMinute)}–${formatClock(b.toMinute)}`)}">` +
        `<rect x="${num(x0)}" y="${top}" width="${num(x1 - x0)}" height="${height}"/>` +
        `${text(x0 + 3, labelY, b.label, 'class="fault-label"')}</g>`
      );
    })
    .join('');
}

/** A line over simulated time with the area under it, fault bands behind it and hover targets over it. */
export function timeSeriesChart(points: readonly Point[], spec: TimeChartSpec): string {
  const data = points.filter((p) => Number.isFinite(p.minute) && Number.isFinite(p.value));
  const [lo, hi] = yDomain(
    data.map((p) => p.value),
    spec.share,
  );
  const yTicks = niceTicks(lo, hi, 4);
  const bottom = CHART_HEIGHT - MARGIN.bottom;
  const x = scale(0, Math.max(1, spec.xMaxMinutes), MARGIN.left, CHART_WIDTH - MARGIN.right);
  const yTop = yTicks[yTicks.length - 1] ?? hi;
  const yBottom = yTicks[0] ?? lo;
  const y = scale(yBottom, yTop, bottom, MARGIN.top);
  // Points sit in the middle of their bucket; a missing or broken bucket width puts them at its start.
  const half = Number.isFinite(spec.bucketMinutes) && spec.bucketMinutes > 0 ? spec.bucketMinutes / 2 : 0;
  const coords = data.map((p) => `${num(x(p.minute + half))},${num(y(p.value))}`);
  const parts = [
    bandsSvg(spec.bands, x),
    axes(yTicks, y, spec.format, ['simulated time (h:mm)', spec.yLabel]),
    timeTickMarks(x, spec.xMaxMinutes),
  ];
  if (coords.length === 0) {
    parts.push(emptyNote(CHART_HEIGHT, 'no samples'));
  } else {
    const first = data[0]?.minute ?? 0;
    const last = data[data.length - 1]?.minute ?? 0;
    const area = `M${num(x(first + half))},${bottom}L${coords.join('L')}L${num(x(last + half))},${bottom}Z`;
    parts.push(`<path class="area" fill="${spec.color}" d="${area}"/>`);
    parts.push(`<path class="line" stroke="${spec.color}" d="M${coords.join('L')}"/>`);
    for (const p of data.length === 1 ? data : []) {
      parts.push(
        `<circle class="dot" fill="${spec.color}" cx="${num(x(p.minute + half))}" cy="${num(y(p.value))}" r="3"/>`,
      );
    }
    parts.push(hoverTargets(data, x, spec));
  }
  return frame(spec.name, spec.title, CHART_HEIGHT, parts.join(''));
}

function hoverTargets(data: readonly Point[], x: (m: number) => number, spec: TimeChartSpec): string {
  const stride = Math.max(1, Math.ceil(data.length / HOVER_TARGETS_MAX));
  const width = Math.max(1, x(spec.bucketMinutes * stride) - x(0));
  const parts: string[] = [];
  for (let i = 0; i < data.length; i += stride) {
    const p = data[i];
    if (p === undefined) continue;
    const tip = `${formatClock(p.minute)}: ${spec.format(p.value)}`;
    parts.push(
      `<rect class="hit" data-tip="${escapeHtml(tip)}" x="${num(x(p.minute))}" y="${MARGIN.top}" ` +
        `width="${num(width)}" height="${CHART_HEIGHT - MARGIN.top - MARGIN.bottom}"/>`,
    );
  }
  return `<g class="hits">${parts.join('')}</g>`;
}

export interface Marker {
  at: number;
  label: string;
  className: string;
}

export interface HistogramSpec {
  name: string;
  title: string;
  xLabel: string;
  yLabel: string;
  markers: Marker[];
  /** Class of the bar for index i (e.g. within or past the SLA). */
  barClass: (index: number) => string;
  /** Hover text of the bar for index i holding `count`. */
  tip: (index: number, count: number) => string;
}

/** Bars of counts per whole unit of x (index = x), with labelled vertical markers. */
export function histogramChart(counts: readonly number[], spec: HistogramSpec): string {
  const values = counts.map((c) => (Number.isFinite(c) && c > 0 ? c : 0));
  const markers = spec.markers.filter((m) => Number.isFinite(m.at) && m.at >= 0);
  const xMax = Math.max(1, values.length, ...markers.map((m) => m.at + 1));
  const yTicks = niceTicks(0, Math.max(1, ...values), 4, 1);
  const bottom = CHART_HEIGHT - MARGIN.bottom;
  const x = scale(0, xMax, MARGIN.left, CHART_WIDTH - MARGIN.right);
  const y = scale(0, yTicks[yTicks.length - 1] ?? 1, bottom, MARGIN.top);
  const parts = [axes(yTicks, y, formatNumber, [spec.xLabel, spec.yLabel])];
  const barWidth = Math.max(0.5, x(1) - x(0) - 1);
  values.forEach((c, i) => {
    if (c === 0) return;
    const tip = spec.tip(i, c);
    parts.push(
      `<rect class="${spec.barClass(i)}" data-tip="${escapeHtml(tip)}" x="${num(x(i))}" y="${num(y(c))}" ` +
        `width="${num(barWidth)}" height="${num(bottom - y(c))}"/>`,
    );
  });
  if (values.every((c) => c === 0)) parts.push(emptyNote(CHART_HEIGHT, 'no deliveries'));
  for (const t of niceTicks(0, xMax, 8, 1).filter((t) => t <= xMax)) {
    parts.push(text(x(t), bottom + 16, formatNumber(t), 'class="tick" text-anchor="middle"'));
  }
  markers.forEach((m, i) => {
    parts.push(
      `<line class="marker ${m.className}" x1="${num(x(m.at))}" x2="${num(x(m.at))}" y1="${MARGIN.top}" y2="${bottom}"/>`,
    );
    parts.push(text(x(m.at) + 4, MARGIN.top + 10 + i * 13, m.label, `class="marker-label ${m.className}"`));
  });
  return frame(spec.name, spec.title, CHART_HEIGHT, parts.join(''));
}

export interface BarRow {
  label: string;
  value: number;
}

/** Horizontal bars, largest first, each labelled with its name and value; at most BARS_MAX bars. */
export function barChart(rows: readonly BarRow[], spec: { name: string; title: string; empty: string }): string {
  const sorted = rows.filter((r) => Number.isFinite(r.value) && r.value > 0).sort((a, b) => b.value - a.value);
  const shown = sorted.slice(0, sorted.length <= BARS_MAX ? BARS_MAX : BARS_MAX - 1);
  const rest = sorted.slice(shown.length).reduce((sum, r) => sum + r.value, 0);
  if (rest > 0) shown.push({ label: 'other', value: rest });
  const rowHeight = 26;
  const height = Math.max(80, 20 + shown.length * rowHeight);
  if (shown.length === 0) return frame(spec.name, spec.title, height, emptyNote(height, spec.empty));
  const labelWidth = 200;
  const total = sorted.reduce((sum, r) => sum + r.value, 0);
  const x = scale(0, shown[0]?.value ?? 1, 0, CHART_WIDTH - labelWidth - 110);
  const parts = shown.map((r, i) => {
    const top = 10 + i * rowHeight;
    const amount = `${formatNumber(r.value)} · ${formatShare(ratio(r.value, total))}`;
    const label = r.label.length > BAR_LABEL_CHARS_MAX ? `${r.label.slice(0, BAR_LABEL_CHARS_MAX - 1)}…` : r.label;
    const width = Math.max(1, x(r.value));
    return (
      `<g data-tip="${escapeHtml(`${r.label}: ${amount}`)}">` +
      text(labelWidth - 8, top + 15, label, 'class="bar-label" text-anchor="end"') +
      `<rect class="bar" x="${labelWidth}" y="${top + 2}" width="${num(width)}" height="${rowHeight - 8}"/>` +
      `${text(labelWidth + width + 6, top + 15, amount, 'class="tick"')}</g>`
    );
  });
  return frame(spec.name, spec.title, height, parts.join(''));
}
