/**
 * How a checkout judges and ranks the warehouses that could fulfil it, from what each answered: the
 * availability of every line and its checkout quote (the `eta` query). A candidate keeps the promise
 * when it holds every line (no split orders), is not overloaded (pickers on shift, a pick queue
 * within bounds) and its estimate, with an allowance when no courier is free, is within its SLA.
 * Among those the lowest score wins: the estimate's share of the SLA, plus the distance's share of
 * the delivery radius and the load, each weighted. Pure: no I/O, no clock.
 */
import type { Availability, CheckoutQuote, EngineError, QuantityLine, ShortLine } from '../engine/index.ts';

/** Why a candidate was or was not used. */
export type CandidateReason =
  | 'chosen'
  | 'eligible'
  | 'out_of_range'
  | 'missing_skus'
  | 'overloaded'
  | 'sla_not_met'
  | 'unavailable'
  | 'insufficient_stock'
  | 'refused';

/** One candidate warehouse of a checkout and what became of it, with the facts behind it. */
export interface CandidateReport {
  warehouseId: string;
  reason: CandidateReason;
  /** Straight-line distance from the store to the address. */
  distanceKm: number;
  radiusKm: number;
  /** The lines it cannot supply: what was asked and what it has (missing_skus, insufficient_stock). */
  missing?: ShortLine[];
  /** The warehouse's own promise for the address (the `eta` quote). */
  promisedInMs?: number;
  /** The promise with the load allowance, compared with the SLA. */
  estimateMs?: number;
  slaMs?: number;
  pickQueueLength?: number;
  pickersOnShift?: number;
  couriersFree?: number;
  /** Lower is better (eligible and chosen candidates). */
  score?: number;
  /** A refusal or failure in words (unavailable, refused). */
  detail?: string;
}

/** A candidate's place in the region: where it is from the address, its radius and SLA. */
export interface CandidateSite {
  warehouseId: string;
  distanceKm: number;
  radiusKm: number;
  slaMinutes: number;
}

/** A pick queue longer than this many orders per picker on shift counts as overloaded. */
export const PICK_QUEUE_PER_PICKER_MAX = 8;
/** Added to the estimate when no courier is free now: about one delivery loop until one is back. */
export const NO_COURIER_ALLOWANCE_MS = 10 * 60_000;
/** Weight of the distance's share of the radius in the score (the estimate's share of the SLA weighs 1). */
export const DISTANCE_WEIGHT = 0.5;
/** Weight of the load (pick queue per picker against its bound, and no free courier) in the score. */
export const LOAD_WEIGHT = 0.5;

/** The lines the warehouse cannot supply in full; SKUs it does not list count as 0 available. */
export function missingLines(lines: readonly QuantityLine[], stock: { items: Availability[] }): ShortLine[] {
  const available = new Map<string, number>();
  for (const item of stock.items) available.set(item.sku, item.available);
  const missing: ShortLine[] = [];
  for (const line of lines) {
    const have = Math.max(0, available.get(line.sku) ?? 0);
    if (have < line.quantity) missing.push({ sku: line.sku, requested: line.quantity, available: have });
  }
  return missing;
}

/**
 * The verdict on one candidate that answered: missing_skus, overloaded, sla_not_met or eligible
 * (with its score). With substitutes allowed, a candidate short of stock is still judged on load and
 * SLA (the warehouse may substitute), and `missing` says what it lacks.
 */
export function judgeCandidate(
  site: CandidateSite,
  missing: ShortLine[],
  quote: CheckoutQuote,
  allowSubstitutes: boolean,
): CandidateReport {
  const slaMs = site.slaMinutes * 60_000;
  const estimateMs = quote.promisedInMs + (quote.couriersFree === 0 ? NO_COURIER_ALLOWANCE_MS : 0);
  const report: CandidateReport = {
    warehouseId: site.warehouseId,
    reason: 'eligible',
    distanceKm: site.distanceKm,
    radiusKm: site.radiusKm,
    promisedInMs: quote.promisedInMs,
    estimateMs,
    slaMs,
    pickQueueLength: quote.pickQueueLength,
    pickersOnShift: quote.pickersOnShift,
    couriersFree: quote.couriersFree,
  };
  if (missing.length > 0) {
    report.missing = missing;
    if (!allowSubstitutes) return { ...report, reason: 'missing_skus' };
  }
  const queueMax = PICK_QUEUE_PER_PICKER_MAX * quote.pickersOnShift;
  if (quote.pickersOnShift === 0 || quote.pickQueueLength >= queueMax) return { ...report, reason: 'overloaded' };
  if (estimateMs > slaMs) return { ...report, reason: 'sla_not_met' };
  const load = quote.pickQueueLength / queueMax + (quote.couriersFree === 0 ? 1 : 0);
  report.score = estimateMs / slaMs + DISTANCE_WEIGHT * (site.distanceKm / site.radiusKm) + LOAD_WEIGHT * load;
  return report;
}

/**
 * The eligible candidates in the order to try them: those holding every line first, then by score,
 * then by id (deterministic).
 */
export function rankCandidates(reports: readonly CandidateReport[]): CandidateReport[] {
  return reports
    .filter((r) => r.reason === 'eligible')
    .sort(
      (a, b) =>
        (a.missing === undefined ? 0 : 1) - (b.missing === undefined ? 0 : 1) ||
        (a.score ?? 0) - (b.score ?? 0) ||
        (a.warehouseId < b.warehouseId ? -1 : 1),
    );
}

/**
 * What a refused placement at a candidate means: the next candidate may still take the order
 * ('next', with the candidate's report updated to say why this one did not), or the request itself
 * is at fault and no other store helps ('stop': a key reused with another payload, an order id taken).
 */
export function placementRefusal(report: CandidateReport, error: EngineError): 'next' | 'stop' {
  if (error.code === 'INSUFFICIENT_STOCK') {
    // Lost a race for the last units (or a substitute was not there).
    report.reason = report.missing === undefined ? 'insufficient_stock' : 'missing_skus';
    report.missing = error.lines;
    return 'next';
  }
  if (error.code === 'NOT_FOUND' && error.kind === 'sku') {
    // A store that does not list a SKU is a candidate only when substitutes are allowed; it has none.
    report.reason = 'missing_skus';
    return 'next';
  }
  if (error.code === 'UNAVAILABLE' || error.code === 'LIMIT_EXCEEDED') {
    report.reason = error.code === 'UNAVAILABLE' ? 'unavailable' : 'refused';
    report.detail = error.message;
    return 'next';
  }
  return 'stop';
}
