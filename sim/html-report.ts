/**
 * The simulator's HTML report: one self-contained page (inline CSS, SVG and a tiny script; no
 * network, no external fonts) drawn from a SimReport, and the writer that puts it on disk with the
 * report's JSON beside it. It owns the page layout, the headline numbers and the mapping from
 * report fields to charts; the chart primitives live in svg-charts.ts and svg-map.ts. Rendering is
 * a pure function of the report; the charts are complete without JavaScript (the script only adds
 * hover tips and marks the page as rendered for the headless-browser test).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SeriesPoint, SimReport } from './report-types.ts';
import {
  type Band,
  barChart,
  escapeHtml,
  formatClock,
  formatNumber,
  formatShare,
  histogramChart,
  type Marker,
  timeSeriesChart,
} from './svg-charts.ts';
import { mapChart } from './svg-map.ts';

const STYLE = `
:root{--ink:#1d2733;--muted:#66707c;--line:#e3e7ec;--good:#1a9c5b;--bad:#d23c3c;--warn:#e08a1e;--accent:#2f6fdb}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:var(--ink);background:#f4f6f9}
header{background:#17212e;color:#fff;padding:20px 32px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600}
header p{margin:0;color:#aab4c0}
main{max-width:1560px;margin:0 auto;padding:20px 32px 40px}
h2{font-size:15px;font-weight:600;margin:0 0 8px}
.strip{display:grid;grid-template-columns:repeat(5,minmax(0,1fr));gap:10px;margin-bottom:12px}
@media (max-width:900px){.strip{grid-template-columns:repeat(2,minmax(0,1fr))}}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px;border-top:4px solid var(--accent)}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:26px;font-weight:650;font-variant-numeric:tabular-nums;white-space:nowrap}
.card .s{color:var(--muted);font-size:12px}
.card.good{border-top-color:var(--good)}.card.good .v{color:var(--good)}
.card.bad{border-top-color:var(--bad);background:#fff4f4}.card.bad .v{color:var(--bad)}
.facts{display:flex;flex-wrap:wrap;gap:6px 22px;color:var(--muted);font-size:13px;margin:0 0 18px}
.facts b{color:var(--ink);font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px}
.panel{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 16px}
.panel.wide{grid-column:1/-1}
svg.chart{display:block;width:100%;height:auto;font-size:12px}
svg .bg{fill:#fff}svg .grid{stroke:var(--line)}svg .axis{stroke:#9aa4af}
svg .tick{fill:var(--muted)}svg .label{fill:var(--ink);font-weight:600}svg .empty{fill:var(--muted);font-size:14px}
svg .area{opacity:.14}svg .line{fill:none;stroke-width:1.8;stroke-linejoin:round}
svg .hit{fill:transparent}svg .hit:hover{fill:rgba(47,111,219,.12)}
svg .fault rect{fill:rgba(224,138,30,.16)}svg .fault-label{fill:#a35f0c;font-weight:600}
svg .fault-label,svg .marker-label,svg .site text{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
svg .within{fill:var(--good)}svg .past{fill:var(--bad)}svg .bar{fill:var(--accent)}svg .bar-label{fill:var(--ink)}
svg .marker{stroke-width:1.5;stroke-dasharray:4 3}svg .marker.p50{stroke:var(--accent)}svg .marker.p95{stroke:#7a3fc4}
svg .marker.sla{stroke:var(--warn)}svg .marker-label.p50{fill:var(--accent)}svg .marker-label.p95{fill:#7a3fc4}
svg .marker-label.sla{fill:var(--warn)}
svg.map .bg{fill:#eef2f6}svg .zone{fill:rgba(47,111,219,.07);stroke:rgba(47,111,219,.55)}
svg .on-time{fill:var(--good);opacity:.7}svg .late{fill:var(--bad);opacity:.85}
svg .site rect{fill:#17212e}svg .site text{font-weight:600;fill:#17212e}
svg .scale path{fill:none;stroke:var(--ink)}svg .scale text{fill:var(--ink)}
.legend{color:var(--muted);font-size:12px;margin-top:6px}.legend i{display:inline-block;width:9px;height:9px;border-radius:50%;margin:0 4px 0 12px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:right;padding:5px 10px;border-bottom:1px solid var(--line)}th{color:var(--muted);font-weight:600;font-size:12px}
th:first-child,td:first-child{text-align:left}
.meter{display:inline-block;width:60px;height:6px;background:var(--line);border-radius:3px;margin-left:8px;vertical-align:middle}
.meter span{display:block;height:6px;border-radius:3px;background:var(--good)}
#tip{position:fixed;pointer-events:none;background:#17212e;color:#fff;padding:4px 8px;border-radius:4px;font-size:12px;z-index:9}
`;

/** Marks the page rendered (and records script errors) for the headless test; shows hover tips. */
const SCRIPT = `
window.onerror = function (message) {
  var body = document.body, prior = body.dataset.errors;
  body.dataset.errors = (prior ? prior + ' | ' : '') + String(message);
};
document.addEventListener('DOMContentLoaded', function () {
  var tip = document.getElementById('tip');
  document.addEventListener('mouseover', function (event) {
    var target = event.target && event.target.closest ? event.target.closest('[data-tip]') : null;
    tip.hidden = !target;
    if (target) tip.textContent = target.getAttribute('data-tip');
  });
  document.addEventListener('mousemove', function (event) {
    tip.style.left = event.clientX + 14 + 'px';
    tip.style.top = event.clientY + 14 + 'px';
  });
  document.body.dataset.rendered = 'ok';
});
`;

type Tone = 'good' | 'bad' | '';

function card(label: string, value: string, sub = '', tone: Tone = ''): string {
  return (
    `<div class="card ${tone}"><div class="k">${escapeHtml(label)}</div><div class="v">${escapeHtml(value)}</div>` +
    `<div class="s">${escapeHtml(sub)}</div></div>`
  );
}

/** Must-be-zero counters: green when 0, red otherwise. */
function zeroTone(value: number): Tone {
  return value === 0 ? 'good' : 'bad';
}

/** A must-be-zero counter; its checks that got no answer leave it unproven: neutral, and said. */
function mustBeZero(label: string, value: number, unanswered: number, checks: string): string {
  if (value > 0 || unanswered === 0) return card(label, formatNumber(value), 'must be 0', zeroTone(value));
  return card(label, formatNumber(value), `must be 0 · ${formatNumber(unanswered)} ${checks} got no answer`);
}

function headline(r: SimReport): string {
  const d = r.deliveryMinutes;
  return `<section class="strip">${[
    card('Orders placed', formatNumber(r.orders.placed)),
    card('Accepted', formatNumber(r.orders.accepted), formatShare(r.orders.accepted / r.orders.placed)),
    card('Delivered', formatNumber(r.orders.delivered), `${formatNumber(r.orders.open)} still open`),
    card('SLA hit rate', r.orders.delivered > 0 ? formatShare(r.slaHitRate) : '–', 'of delivered orders'),
    card(
      'Delivery p50 / p95',
      `${formatNumber(d.p50, 1)} / ${formatNumber(d.p95, 1)}`,
      `minutes · p99 ${formatNumber(d.p99, 1)}`,
    ),
    mustBeZero('Oversold units', r.oversoldUnits, r.nats?.unverified.oversellAudits ?? 0, 'audits'),
    mustBeZero('Acknowledged lost', r.acknowledgedLost, r.nats?.unverified.acknowledged ?? 0, 'look-ups'),
    card(
      'Inventory accuracy',
      formatShare(r.inventoryAccuracy.final),
      `final · min ${formatShare(r.inventoryAccuracy.min)}`,
    ),
    card('Commands/s', formatNumber(r.commandsPerSecond), `${formatNumber(r.commands)} commands`),
    card('Wall time', `${formatNumber(r.wallSeconds, 1)} s`, `for ${formatNumber(r.hours, 2)} simulated h`),
  ].join('')}</section>`;
}

function facts(r: SimReport): string {
  const items: [string, string][] = [
    ['partially fulfilled', formatNumber(r.orders.partiallyFulfilled)],
    ['cancelled', formatNumber(r.orders.cancelled)],
    ['accepted not fulfillable', formatNumber(r.acceptedNotFulfillable)],
    ['pick+pack p50/p95', `${formatNumber(r.pickPackMinutes.p50, 1)} / ${formatNumber(r.pickPackMinutes.p95, 1)} min`],
    [
      'courier assign p50/p99',
      `${formatNumber(r.courierAssignSeconds.p50, 1)} / ${formatNumber(r.courierAssignSeconds.p99, 1)} s`,
    ],
    ['inventory accuracy mean', formatShare(r.inventoryAccuracy.mean)],
    ['cycle counts', formatNumber(r.driftCorrections.cycleCounts)],
    ['stockout reports', formatNumber(r.driftCorrections.stockoutReports)],
    ['units corrected', formatNumber(r.driftCorrections.unitsCorrected)],
    [
      'drift closed in (p50 / p95)',
      `${formatNumber(r.driftCorrections.closeMinutes.p50)} / ${formatNumber(r.driftCorrections.closeMinutes.p95)} min`,
    ],
    ['drifting at the end', formatNumber(r.driftCorrections.openAtEnd)],
    ['escalations', formatNumber(r.escalations.total)],
    ...Object.entries(r.escalations.byKind).map(([kind, n]): [string, string] => [`· ${kind}`, formatNumber(n)]),
  ];
  return `<p class="facts">${items.map(([k, v]) => `<span>${escapeHtml(k)} <b>${escapeHtml(v)}</b></span>`).join('')}</p>`;
}

function panel(title: string, body: string, wide = false): string {
  return `<section class="panel${wide ? ' wide' : ''}"><h2>${escapeHtml(title)}</h2>${body}</section>`;
}

/** The end of simulated time the time charts span: the run's hours, or later data and faults. */
function timeSpanMinutes(r: SimReport): number {
  const s = r.series;
  const lastMinutes = [s.ordersPerMinute, s.slaHitRate, s.courierUtilization, s.inventoryAccuracy].map(
    (points) => (points[points.length - 1]?.minute ?? 0) + s.bucketMinutes,
  );
  const spans = [r.hours * 60, ...lastMinutes, ...r.faults.map((f) => f.toMinute)].filter(Number.isFinite);
  return Math.max(1, ...spans);
}

/** The SLA most warehouses promise (the histogram's marker), or undefined without warehouses. */
function commonSlaMinutes(r: SimReport): number | undefined {
  const counts = new Map<number, number>();
  for (const w of r.perWarehouse) counts.set(w.slaMinutes, (counts.get(w.slaMinutes) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
}

/** The four charts over simulated time, in page order, with the faults shaded on each. */
function timeCharts(r: SimReport): string[] {
  const bands: Band[] = r.faults.map((f) => ({ fromMinute: f.fromMinute, toMinute: f.toMinute, label: f.kind }));
  const base = { xMaxMinutes: timeSpanMinutes(r), bucketMinutes: r.series.bucketMinutes, bands };
  const formatRate = (v: number) => formatNumber(v, 1);
  const formatPercent = (v: number) => formatShare(v, v > 0 && v < 1 ? 1 : 0);
  const chart = (name: string, title: string, points: SeriesPoint[], yLabel: string, color: string, share: boolean) =>
    panel(
      title,
      timeSeriesChart(points, {
        ...base,
        name,
        title,
        yLabel,
        color,
        share,
        format: share ? formatPercent : formatRate,
      }),
    );
  const s = r.series;
  return [
    chart('orders-per-minute', 'Orders placed per minute', s.ordersPerMinute, 'orders / min', '#2f6fdb', false),
    chart('sla-hit-rate', 'SLA hit rate over time', s.slaHitRate, 'on time (%)', '#1a9c5b', true),
    chart('courier-utilization', 'Courier utilization', s.courierUtilization, 'couriers busy (%)', '#7a3fc4', true),
    chart('inventory-accuracy', 'Inventory accuracy', s.inventoryAccuracy, 'on hand = shelf (%)', '#0f8a8a', true),
  ];
}

function deliveryChart(r: SimReport): string {
  const sla = commonSlaMinutes(r);
  const markers: Marker[] = [
    { at: r.deliveryMinutes.p50, label: `p50 ${formatNumber(r.deliveryMinutes.p50, 1)} min`, className: 'p50' },
    { at: r.deliveryMinutes.p95, label: `p95 ${formatNumber(r.deliveryMinutes.p95, 1)} min`, className: 'p95' },
  ];
  if (sla !== undefined) markers.push({ at: sla, label: `SLA ${formatNumber(sla)} min`, className: 'sla' });
  const chart = histogramChart(r.deliveryHistogram, {
    name: 'delivery-distribution',
    title: 'Deliveries by minutes from placement',
    xLabel: 'minutes from placement to delivery',
    yLabel: 'deliveries',
    markers: r.orders.delivered > 0 ? markers : markers.slice(2),
    barClass: (minute) => (sla === undefined || minute < sla ? 'within' : 'past'),
    tip: (minute, n) => `${minute}–${minute + 1} min: ${formatNumber(n)} deliveries`,
  });
  return panel('Delivery time distribution', chart);
}

function rejectionsChart(r: SimReport): string {
  const rows = Object.entries(r.orders.rejected).map(([label, value]) => ({ label, value }));
  return panel(
    'Rejections by reason',
    barChart(rows, { name: 'rejections', title: 'Checkout refusals by code', empty: 'no rejections' }),
  );
}

function mapPanel(r: SimReport): string {
  const dots = r.map.deliveries;
  const late = dots.filter((d) => !d.onTime).length;
  const legend =
    `<div class="legend">■ warehouse, ring = delivery radius<i style="background:var(--good)"></i>on time ` +
    `(${formatNumber(dots.length - late)})<i style="background:var(--bad)"></i>late (${formatNumber(late)}) · ` +
    `sampled deliveries, equirectangular projection, north up</div>`;
  return panel(
    'Warehouses and deliveries',
    mapChart(r.perWarehouse, dots, { name: 'map', title: 'Map of warehouses and deliveries' }) + legend,
    true,
  );
}

function meter(share: number): string {
  const width = Number.isFinite(share) ? Math.max(0, Math.min(1, share)) * 100 : 0;
  return `<span class="meter"><span style="width:${width.toFixed(1)}%"></span></span>`;
}

function warehouseTable(r: SimReport): string {
  const rows = r.perWarehouse.map(
    (w) =>
      `<tr><td>${escapeHtml(w.id)}</td><td>${formatNumber(w.radiusKm, 1)}</td><td>${formatNumber(w.slaMinutes)}</td>` +
      `<td>${formatNumber(w.placed)}</td><td>${formatNumber(w.delivered)}</td>` +
      `<td>${formatShare(w.slaHitRate)}${meter(w.slaHitRate)}</td><td>${formatShare(w.inventoryAccuracy)}${meter(w.inventoryAccuracy)}</td></tr>`,
  );
  const head =
    '<tr><th>warehouse</th><th>radius (km)</th><th>SLA (min)</th><th>placed</th><th>delivered</th>' +
    '<th>SLA hit rate</th><th>inventory accuracy</th></tr>';
  const body = rows.length > 0 ? rows.join('') : '<tr><td colspan="7">no warehouses</td></tr>';
  return panel('Per warehouse', `<table>${head}${body}</table>`, true);
}

function faultTable(r: SimReport): string {
  const rows = r.faults.map(
    (f) =>
      `<tr><td>${escapeHtml(f.kind)}</td><td>${formatClock(f.fromMinute)}</td><td>${formatClock(f.toMinute)}</td>` +
      `<td style="text-align:left">${escapeHtml(f.detail)}</td></tr>`,
  );
  const head = '<tr><th>fault</th><th>from (h:mm)</th><th>to (h:mm)</th><th style="text-align:left">detail</th></tr>';
  const body = rows.length > 0 ? rows.join('') : '<tr><td colspan="4">no faults injected</td></tr>';
  return panel('Faults injected (shaded on the time charts)', `<table>${head}${body}</table>`, true);
}

/** Renders the report as one self-contained HTML document. A pure function: it performs no I/O. */
export function renderHtmlReport(report: SimReport): string {
  const r = report;
  const subtitle =
    `seed ${Number.isFinite(r.seed) ? r.seed : '–'} · ${r.mode} · ${formatNumber(r.warehouses)} warehouses · ${formatNumber(r.hours, 2)} simulated hours · ` +
    `${formatNumber(r.orders.placed)} orders · ${formatNumber(r.commands)} commands`;
  const [orders, sla, couriers, accuracy] = timeCharts(r);
  const sections = [orders, sla, deliveryChart(r), couriers, accuracy, rejectionsChart(r)];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>darkstore sim · ${escapeHtml(r.scenario)}</title><style>${STYLE}</style></head>
<body><header><h1>darkstore simulation · ${escapeHtml(r.scenario)}</h1><p>${escapeHtml(subtitle)}</p></header>
<main>${headline(r)}${facts(r)}<div class="grid">${sections.join('')}${mapPanel(r)}${faultTable(r)}${warehouseTable(r)}</div></main>
<div id="tip" hidden></div><script>${SCRIPT}</script></body></html>
`;
}

/** Writes `index.html` and `report.json` into `dir` (created when missing); returns the page's path. */
export function writeHtmlReport(dir: string, report: SimReport): string {
  mkdirSync(dir, { recursive: true });
  const page = join(dir, 'index.html');
  writeFileSync(page, renderHtmlReport(report));
  writeFileSync(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return page;
}
