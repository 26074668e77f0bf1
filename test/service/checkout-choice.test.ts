import { describe, expect, it } from 'vitest';
import {
  type CheckoutQuote,
  idempotencyConflict,
  insufficientStock,
  limitExceeded,
  notFound,
  unavailable,
} from '../../engine/index.ts';
import {
  type CandidateReport,
  judgeCandidate,
  missingLines,
  NO_COURIER_ALLOWANCE_MS,
  PICK_QUEUE_PER_PICKER_MAX,
  placementRefusal,
  rankCandidates,
} from '../../service/checkout-choice.ts';

const site = { warehouseId: 'w1', distanceKm: 1, radiusKm: 3, slaMinutes: 30 };
const quote: CheckoutQuote = {
  promisedInMs: 15 * 60_000,
  queueWaitMs: 0,
  pickPackMs: 6 * 60_000,
  travelMs: 7 * 60_000,
  distanceKm: 1.3,
  pickQueueLength: 0,
  pickersOnShift: 2,
  couriersFree: 3,
};
const stockOf = (available: Record<string, number>) => ({
  items: Object.entries(available).map(([sku, n]) => ({
    sku,
    onHand: n,
    reserved: 0,
    safetyStock: 0,
    available: n,
    version: 1,
  })),
});

describe('checkout choice', () => {
  it('lists short and unknown SKUs with what was asked and what is there', () => {
    const lines = [
      { sku: 'a', quantity: 2 },
      { sku: 'b', quantity: 5 },
      { sku: 'c', quantity: 1 },
    ];
    expect(missingLines(lines, stockOf({ a: 2, b: 3 }))).toEqual([
      { sku: 'b', requested: 5, available: 3 },
      { sku: 'c', requested: 1, available: 0 },
    ]);
  });

  it('judges missing stock, load and SLA in that order', () => {
    const missing = [{ sku: 'b', requested: 5, available: 3 }];
    expect(judgeCandidate(site, missing, quote, false)).toMatchObject({ reason: 'missing_skus', missing });
    expect(judgeCandidate(site, missing, quote, true).reason).toBe('eligible');
    expect(judgeCandidate(site, [], { ...quote, pickersOnShift: 0 }, false).reason).toBe('overloaded');
    const queue = { ...quote, pickQueueLength: PICK_QUEUE_PER_PICKER_MAX * 2 };
    expect(judgeCandidate(site, [], queue, false).reason).toBe('overloaded');
    const slow = judgeCandidate(site, [], { ...quote, promisedInMs: 31 * 60_000 }, false);
    expect(slow).toMatchObject({ reason: 'sla_not_met', estimateMs: 31 * 60_000, slaMs: 30 * 60_000 });
  });

  it('counts no free courier against the SLA', () => {
    const busy = judgeCandidate(site, [], { ...quote, promisedInMs: 21 * 60_000, couriersFree: 0 }, false);
    expect(busy.estimateMs).toBe(21 * 60_000 + NO_COURIER_ALLOWANCE_MS);
    expect(busy.reason).toBe('sla_not_met');
  });

  it('ranks by score: nearer, faster and less loaded first; substitutes last', () => {
    const near = judgeCandidate({ ...site, warehouseId: 'near' }, [], quote, false);
    const far = judgeCandidate({ ...site, warehouseId: 'far', distanceKm: 2.5 }, [], quote, false);
    const loaded = judgeCandidate({ ...site, warehouseId: 'loaded' }, [], { ...quote, pickQueueLength: 10 }, false);
    const subs = judgeCandidate(
      { ...site, warehouseId: 'subs' },
      [{ sku: 'x', requested: 1, available: 0 }],
      quote,
      true,
    );
    const out: CandidateReport = { warehouseId: 'out', reason: 'sla_not_met', distanceKm: 1, radiusKm: 3 };
    expect(rankCandidates([subs, far, out, loaded, near]).map((r) => r.warehouseId)).toEqual([
      'near',
      'far',
      'loaded',
      'subs',
    ]);
  });
});

describe('placementRefusal: what a refused placement means for the checkout', () => {
  const fresh = (): CandidateReport => ({ warehouseId: 'w1', reason: 'eligible', distanceKm: 1, radiusKm: 3 });

  it('tries the next candidate after a lost race, a SKU the store does not list, or a store that cannot take it', () => {
    const lost = fresh();
    expect(placementRefusal(lost, insufficientStock([{ sku: 'a', requested: 2, available: 1 }]))).toBe('next');
    expect(lost).toMatchObject({ reason: 'insufficient_stock', missing: [{ sku: 'a', requested: 2, available: 1 }] });
    const unlisted = fresh();
    expect(placementRefusal(unlisted, notFound('sku', 'a'))).toBe('next');
    expect(unlisted.reason).toBe('missing_skus');
    const down = fresh();
    expect(placementRefusal(down, unavailable('stopping'))).toBe('next');
    expect(down).toMatchObject({ reason: 'unavailable', detail: expect.stringContaining('stopping') });
    const full = fresh();
    expect(placementRefusal(full, limitExceeded('ORDERS_MAX', 1))).toBe('next');
    expect(full.reason).toBe('refused');
  });

  it("stops at the request's own fault: no other store helps", () => {
    const report = fresh();
    expect(placementRefusal(report, idempotencyConflict('k'))).toBe('stop');
    expect(placementRefusal(report, notFound('order', 'o1'))).toBe('stop');
    expect(report.reason).toBe('eligible');
  });
});
