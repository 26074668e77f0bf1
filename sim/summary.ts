/**
 * The simulator's report as one screen of text: what `darkstore sim` and `npm start` print when
 * they are not asked for JSON. A pure function of a SimReport (the HTML report draws the same
 * numbers); it never runs anything and never writes anywhere.
 */
import type { SimReport } from './report-types.ts';
import { SCENARIO_NAMES, scenarioFor } from './scenario.ts';
import { formatClock, formatNumber, formatShare, ratio } from './svg-charts.ts';

/** Width of the label column. */
const LABEL_WIDTH = 13;
/** Most reasons, kinds or faults listed on one line before the rest are counted as "N more". */
const LIST_ITEMS_MAX = 6;

/** Orders placed per minute of wall-clock time: how much faster than real time the city ran. */
export function ordersPerWallMinute(report: SimReport): number {
  return ratio(report.orders.placed * 60, report.wallSeconds);
}

/**
 * Whether the run kept the two promises that must hold, and showed it: nothing oversold, nothing
 * acknowledged lost, every safety check answered.
 */
export function safetyHeld(report: SimReport): boolean {
  return safetyVerdict(report) === 'OK';
}

/** Safety checks of a run over NATS that got no answer: what they would have found is unknown. */
export function unverifiedChecks(report: SimReport): number {
  const u = report.nats?.unverified;
  return u === undefined ? 0 : u.oversellAudits + u.acknowledged;
}

/**
 * PROBLEM when units were oversold or acknowledged commands lost; UNVERIFIED when neither was found
 * but some checks got no answer (a region down at the end); OK otherwise.
 */
export function safetyVerdict(report: SimReport): 'OK' | 'UNVERIFIED' | 'PROBLEM' {
  if (report.oversoldUnits > 0 || report.acknowledgedLost > 0) return 'PROBLEM';
  return unverifiedChecks(report) > 0 ? 'UNVERIFIED' : 'OK';
}

function line(label: string, text: string): string {
  return `${label.padEnd(LABEL_WIDTH)}${text}`;
}

/** `1 cycle count`, `2 cycle counts`: the count with its noun, plural unless exactly one. */
function count(n: number, noun: string): string {
  return `${formatNumber(n)} ${n === 1 ? noun : `${noun}s`}`;
}

/** One decimal always (13.0, not 13), so the columns of percentiles line up. */
function tenths(value: number): string {
  return Number.isFinite(value) ? value.toFixed(1) : '–';
}

function minutes(value: number): string {
  return `${tenths(value)} min`;
}

function seconds(value: number): string {
  return `${tenths(value)} s`;
}

/** `a 3, b 2, c 1` from the largest count down, at most LIST_ITEMS_MAX of them. */
function largestFirst(byName: Record<string, number>): string {
  const entries = Object.entries(byName)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = entries.slice(0, LIST_ITEMS_MAX).map(([name, n]) => `${name} ${formatNumber(n)}`);
  const more = entries.length - LIST_ITEMS_MAX;
  return more > 0 ? `${shown.join(', ')}, ${more} more` : shown.join(', ');
}

function total(byName: Record<string, number>): number {
  return Object.values(byName).reduce((sum, n) => sum + n, 0);
}

function title(report: SimReport): string {
  const known = SCENARIO_NAMES.includes(report.scenario);
  const description = known ? ` (${scenarioFor({ name: report.scenario }).description})` : '';
  return `darkstore sim: ${report.scenario}${description}`;
}

function faults(report: SimReport): string {
  if (report.faults.length === 0) return 'none injected';
  const shown = report.faults
    .slice(0, LIST_ITEMS_MAX)
    .map((f) => `${f.kind} ${formatClock(f.fromMinute)}–${formatClock(f.toMinute)} (${f.detail})`);
  const more = report.faults.length - LIST_ITEMS_MAX;
  return more > 0 ? `${shown.join('; ')}; ${more} more` : shown.join('; ');
}

/** How a run over NATS went: its processes, pace, kills and the requests that got no answer. */
function natsLines(report: SimReport): string[] {
  const n = report.nats;
  if (n === undefined) return [];
  const kills = n.kills.map((k) => `down ${formatNumber(k.downSeconds, 1)} s at ${formatClock(k.killedAtMinute)}`);
  return [
    line(
      'nats',
      `${formatNumber(n.processes)} region ${n.processes === 1 ? 'process' : 'processes'}, ` +
        `${formatNumber(n.speed)}× real time from ${n.startHour}:00, ` +
        `${count(n.kills.length, 'kill')}${kills.length > 0 ? ` (${kills.join(', ')})` : ''}`,
    ),
    line(
      '',
      `unanswered ${formatNumber(total(n.unanswered))}, unavailable ${formatNumber(total(n.unavailable))}, ` +
        `${formatNumber(n.acknowledgedCommandsLost)} of ${count(n.acknowledgedChecked, 'acknowledged command')} lost`,
    ),
  ];
}

function safety(report: SimReport): string[] {
  const unverified = unverifiedChecks(report);
  const lines = [
    line(
      'safety',
      `${safetyVerdict(report)}: ${count(report.oversoldUnits, 'unit')} oversold, ` +
        `${formatNumber(report.acknowledgedLost)} acknowledged but lost (both must be 0)` +
        (unverified > 0 ? `; ${count(unverified, 'check')} got no answer` : ''),
    ),
  ];
  if (report.acceptedNotFulfillable > 0) {
    lines.push(
      line('', `${count(report.acceptedNotFulfillable, 'accepted order')} the shelf could not fill in full (drift)`),
    );
  }
  return lines;
}

/**
 * The report as plain text, one line per topic, about 20 lines: the run, the orders by fate and
 * rejection reason, SLA and the time percentiles, inventory accuracy and drift, escalations,
 * faults, the safety verdict (OK or PROBLEM) and the engine's throughput in wall-clock time.
 */
export function formatSummary(report: SimReport): string {
  const o = report.orders;
  const rejected = total(o.rejected);
  const d = report.deliveryMinutes;
  const acc = report.inventoryAccuracy;
  const drift = report.driftCorrections;
  const mode = report.mode === 'embedded' ? 'embedded engine' : 'region processes over NATS';
  return [
    title(report),
    line('run', `seed ${report.seed}, ${report.warehouses} warehouses × ${report.hours} h simulated on the ${mode}`),
    '',
    line('orders', `${formatNumber(o.placed)} placed, ${formatNumber(o.accepted)} accepted`),
    line('rejected', rejected === 0 ? '0' : `${formatNumber(rejected)}: ${largestFirst(o.rejected)}`),
    line(
      'outcome',
      `${formatNumber(o.delivered)} delivered, ${formatNumber(o.partiallyFulfilled)} partially fulfilled, ` +
        `${formatNumber(o.cancelled)} cancelled, ${formatNumber(o.open)} still open at the end ` +
        `(${formatNumber(o.openPastSla)} past their SLA)`,
    ),
    line('SLA', `${formatShare(report.slaHitRate)} of deliveries on time`),
    line('delivery', `p50 ${minutes(d.p50)}   p95 ${minutes(d.p95)}   p99 ${minutes(d.p99)}`),
    line('pick-pack', `p50 ${minutes(report.pickPackMinutes.p50)}   p95 ${minutes(report.pickPackMinutes.p95)}`),
    line(
      'courier',
      `assigned in p50 ${seconds(report.courierAssignSeconds.p50)}   p99 ${seconds(report.courierAssignSeconds.p99)}`,
    ),
    line(
      'inventory',
      `accuracy min ${formatShare(acc.min, 2)}   mean ${formatShare(acc.mean, 2)}   final ${formatShare(acc.final, 2)}`,
    ),
    line(
      'drift',
      `${count(drift.cycleCounts, 'cycle count')} and ${count(drift.stockoutReports, 'stockout report')} ` +
        `corrected ${count(drift.unitsCorrected, 'unit')}; a drift closed in p50 ${formatNumber(drift.closeMinutes.p50)} ` +
        `min, p95 ${formatNumber(drift.closeMinutes.p95)} min; ${formatNumber(drift.openAtEnd)} open at the end`,
    ),
    line(
      'escalations',
      report.escalations.total === 0
        ? '0'
        : `${formatNumber(report.escalations.total)}: ${largestFirst(report.escalations.byKind)}`,
    ),
    line('faults', faults(report)),
    ...natsLines(report),
    ...safety(report),
    '',
    line('engine', `${formatNumber(report.commands)} commands, ${formatNumber(report.commandsPerSecond)} commands/s`),
    line(
      'wall clock',
      `${formatNumber(report.wallSeconds, 1)} s, ${formatNumber(ordersPerWallMinute(report))} orders per wall-clock minute`,
    ),
  ].join('\n');
}
