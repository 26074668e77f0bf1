/**
 * The pure leaves the order lifecycle builds on: distances and ETAs, GPS ping acceptance with gap
 * bridging, and pick lists with scan verification. Examples pin the rules; properties check
 * what must hold for any input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acceptPing,
  applyScan,
  checkoutEtaMs,
  chooseCourier,
  ETA_BUFFER_MS,
  GPS_GAP_MS,
  haversineKm,
  INTERPOLATED_POINTS_MAX,
  INTERPOLATION_STEP_MS,
  type PickLine,
  rankCouriers,
  STATIONARY_KM,
  straightLineRouting,
  travelEtaMs,
  walkOrder,
} from '../../engine/index.ts';

const BERLIN = { lat: 52.52, lon: 13.405 };
const POTSDAM = { lat: 52.3906, lon: 13.0645 };

describe('distances and ETA', () => {
  it('measures great-circle distance and routes with a road factor', () => {
    expect(haversineKm(BERLIN, POTSDAM)).toBeCloseTo(26.9, 0);
    expect(haversineKm(BERLIN, BERLIN)).toBe(0);
    expect(straightLineRouting(1.3).distanceKm(BERLIN, POTSDAM)).toBeCloseTo(haversineKm(BERLIN, POTSDAM) * 1.3, 6);
  });

  it('adds the buffer to travel time, and queue plus pick-pack at checkout', () => {
    expect(travelEtaMs(5, 20)).toBe(15 * 60_000 + ETA_BUFFER_MS);
    expect(checkoutEtaMs({ queueWaitMs: 60_000, pickPackMs: 240_000, distanceKm: 5, averageSpeedKmh: 20 })).toBe(
      60_000 + 240_000 + 15 * 60_000 + ETA_BUFFER_MS,
    );
    expect(() => travelEtaMs(1, 0)).toThrow(RangeError);
  });

  it('is symmetric and satisfies the triangle inequality', () => {
    const point = fc.record({
      lat: fc.double({ min: -80, max: 80, noNaN: true }),
      lon: fc.double({ min: -179, max: 179, noNaN: true }),
    });
    fc.assert(
      fc.property(point, point, point, (a, b, c) => {
        expect(haversineKm(a, b)).toBeCloseTo(haversineKm(b, a), 9);
        expect(haversineKm(a, c)).toBeLessThanOrEqual(haversineKm(a, b) + haversineKm(b, c) + 1e-9);
      }),
    );
  });
});

describe('GPS pings', () => {
  const start = { position: BERLIN, atMs: 1_000_000, interpolated: false };
  const east = (km: number) => ({
    lat: BERLIN.lat,
    lon: BERLIN.lon + km / (111.32 * Math.cos((BERLIN.lat * Math.PI) / 180)),
  });

  it('accepts a plausible ping and rejects time going back or an impossible jump', () => {
    expect(acceptPing(start, east(0.05), start.atMs + 7_000)).toMatchObject({ ok: true, bridged: [] });
    expect(acceptPing(start, east(0.01), start.atMs)).toEqual({ ok: false, reason: 'time_went_back' });
    expect(acceptPing(start, east(5), start.atMs + 10_000)).toMatchObject({ ok: false, reason: 'impossible_jump' });
  });

  it('bridges a gap of 30 s or more with points every 5 s on the straight line', () => {
    const outcome = acceptPing(start, east(0.4), start.atMs + 40_000);
    if (!outcome.ok) throw new Error('expected the ping to be accepted');
    expect(outcome.bridged.map((p) => p.atMs - start.atMs)).toEqual([
      5_000, 10_000, 15_000, 20_000, 25_000, 30_000, 35_000,
    ]);
    expect(outcome.bridged.every((p) => p.interpolated)).toBe(true);
    const lons = [start.position.lon, ...outcome.bridged.map((p) => p.position.lon), outcome.point.position.lon];
    for (let i = 1; i < lons.length; i++) expect(lons[i]).toBeGreaterThan(lons[i - 1] as number);
    expect(acceptPing(start, east(0.1), start.atMs + GPS_GAP_MS - 1)).toMatchObject({ ok: true, bridged: [] });
  });

  it('does not bridge a courier that stood still through a gap: there is no jump to hide', () => {
    const outcome = acceptPing(start, start.position, start.atMs + 4 * 60_000);
    expect(outcome).toMatchObject({ ok: true, bridged: [] });
  });

  it('never bridges with more than one point per step, and never outside the gap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 36_000_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (gapMs, km) => {
        const outcome = acceptPing(start, east(km), start.atMs + gapMs);
        if (!outcome.ok) return;
        const moved = haversineKm(start.position, east(km)) >= STATIONARY_KM;
        const stepMs = Math.max(INTERPOLATION_STEP_MS, Math.ceil(gapMs / (INTERPOLATED_POINTS_MAX + 1)));
        const expected = gapMs >= GPS_GAP_MS && moved ? Math.ceil(gapMs / stepMs) - 1 : 0;
        expect(outcome.bridged.length).toBe(expected);
        expect(outcome.bridged.length).toBeLessThanOrEqual(INTERPOLATED_POINTS_MAX);
        for (const p of outcome.bridged) expect(p.atMs > start.atMs && p.atMs < start.atMs + gapMs).toBe(true);
      }),
    );
  });
});

describe('pick lists and scans', () => {
  const at = (zone: string, aisle: number, bay: number, level: number) => ({ zone, aisle, bay, level });
  const lines = (): PickLine[] => [
    { sku: 'milk', name: 'Milk', quantity: 2, location: at('B', 1, 2, 0), picked: 0 },
    { sku: 'eggs', name: 'Eggs', quantity: 1, location: at('A', 3, 1, 1), picked: 0 },
    { sku: 'bread', name: 'Bread', quantity: 1, location: at('A', 3, 1, 0), picked: 0 },
    { sku: 'tea', name: 'Tea', quantity: 3, location: at('A', 1, 9, 2), picked: 0 },
  ];

  it('walks zone, aisle, bay, level', () => {
    expect(walkOrder(lines()).map((l) => l.sku)).toEqual(['tea', 'bread', 'eggs', 'milk']);
  });

  it('accepts scans in any order, ignores a repeated scan id, rejects wrong SKUs and too many units', () => {
    const list = lines();
    const seen = new Set<string>();
    expect(applyScan(list, seen, { scanId: 's1', sku: 'milk', quantity: 1 })).toMatchObject({
      kind: 'accepted',
      remaining: 1,
    });
    expect(applyScan(list, seen, { scanId: 's1', sku: 'milk', quantity: 1 })).toEqual({ kind: 'duplicate' });
    expect(applyScan(list, seen, { scanId: 's2', sku: 'soap', quantity: 1 })).toMatchObject({
      kind: 'rejected',
      reason: 'wrong_sku',
    });
    expect(applyScan(list, seen, { scanId: 's3', sku: 'milk', quantity: 2 })).toMatchObject({
      kind: 'rejected',
      reason: 'over_quantity',
      remaining: 1,
    });
    for (const [scanId, sku, quantity] of [
      ['s4', 'tea', 3],
      ['s5', 'eggs', 1],
      ['s6', 'bread', 1],
    ] as const) {
      expect(applyScan(list, seen, { scanId, sku, quantity }).kind).toBe('accepted');
    }
    expect(applyScan(list, seen, { scanId: 's7', sku: 'milk', quantity: 1 })).toMatchObject({
      kind: 'accepted',
      complete: true,
    });
  });

  it('never picks more than ordered, whatever the scans', () => {
    const scan = fc.record({
      scanId: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
      sku: fc.constantFrom('milk', 'eggs', 'bread', 'tea', 'soap'),
      quantity: fc.integer({ min: 1, max: 4 }),
    });
    fc.assert(
      fc.property(fc.array(scan, { maxLength: 30 }), (scans) => {
        const list = lines();
        const seen = new Set<string>();
        for (const s of scans) applyScan(list, seen, s);
        for (const line of list) expect(line.picked).toBeLessThanOrEqual(line.quantity);
      }),
    );
  });
});

describe('courier choice', () => {
  const store = BERLIN;
  const routing = straightLineRouting();
  const near = { lat: BERLIN.lat + 0.005, lon: BERLIN.lon };
  const far = { lat: BERLIN.lat + 0.03, lon: BERLIN.lon };

  it('takes only available or returning couriers, nearer and fresher first, ties by id', () => {
    const pick = (candidates: Parameters<typeof chooseCourier>[0]) =>
      chooseCourier(candidates, store, routing)?.courierId;
    expect(pick([{ courierId: 'c1', state: 'offline', position: store, deliveriesThisShift: 0 }])).toBeUndefined();
    expect(
      pick([
        { courierId: 'c1', state: 'returning', position: far, deliveriesThisShift: 0 },
        { courierId: 'c2', state: 'returning', position: near, deliveriesThisShift: 0 },
        { courierId: 'c3', state: 'en_route_to_delivery', position: store, deliveriesThisShift: 0 },
      ]),
    ).toBe('c2');
    expect(
      pick([
        { courierId: 'c1', state: 'available', position: store, deliveriesThisShift: 6 },
        { courierId: 'c2', state: 'available', position: store, deliveriesThisShift: 2 },
      ]),
    ).toBe('c2');
    expect(
      pick([
        { courierId: 'c9', state: 'available', position: store, deliveriesThisShift: 1 },
        { courierId: 'c4', state: 'available', position: store, deliveriesThisShift: 1 },
        { courierId: 'c1', state: 'available', position: store, deliveriesThisShift: 0, excluded: true },
      ]),
    ).toBe('c4');
  });

  it('ranks deterministically whatever the order of the candidates', () => {
    const candidate = fc.record({
      courierId: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      state: fc.constantFrom('available', 'returning', 'offline', 'assigned') as fc.Arbitrary<
        'available' | 'returning' | 'offline' | 'assigned'
      >,
      position: fc.constantFrom(store, near, far),
      deliveriesThisShift: fc.integer({ min: 0, max: 10 }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(candidate, { selector: (c) => c.courierId, maxLength: 5 }), (candidates) => {
        const forward = rankCouriers(candidates, store, routing);
        expect(rankCouriers([...candidates].reverse(), store, routing)).toEqual(forward);
        for (const s of forward)
          expect(['available', 'returning']).toContain(candidates.find((c) => c.courierId === s.courierId)?.state);
      }),
    );
  });
});
