import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type GeoPoint, haversineKm } from '../../engine/index.ts';
import { SpatialIndex, type SpatialItem } from '../../service/index.ts';

function store(id: string, lat: number, lon: number, radiusKm: number): SpatialItem {
  return { id, location: { lat, lon }, radiusKm };
}

/** The answer without an index: every item, checked one by one. */
function bruteCovering(items: readonly SpatialItem[], point: GeoPoint): string[] {
  return items
    .filter((s) => haversineKm(point, s.location) <= s.radiusKm)
    .map((s) => s.id)
    .sort();
}

function bruteWithin(items: readonly SpatialItem[], point: GeoPoint, km: number): string[] {
  return items
    .filter((s) => haversineKm(point, s.location) <= km)
    .map((s) => s.id)
    .sort();
}

const ids = (matches: { item: SpatialItem }[]) => matches.map((m) => m.item.id).sort();

describe('SpatialIndex', () => {
  const berlin = [
    store('mitte', 52.52, 13.405, 3),
    store('kreuzberg', 52.4986, 13.4036, 2.5),
    store('pankow', 52.5693, 13.4013, 4),
    store('spandau', 52.5351, 13.1973, 5),
  ];

  it('finds the stores whose radius covers a point, nearest first', () => {
    const index = new SpatialIndex(berlin);
    const matches = index.covering({ lat: 52.505, lon: 13.404 });
    expect(matches.map((m) => m.item.id)).toEqual(['kreuzberg', 'mitte']);
    expect(matches[0]?.distanceKm).toBeCloseTo(
      haversineKm({ lat: 52.505, lon: 13.404 }, { lat: 52.4986, lon: 13.4036 }),
    );
    expect(index.covering({ lat: 52.6, lon: 13.8 })).toEqual([]);
  });

  it('uses each store’s own radius, not the largest', () => {
    const index = new SpatialIndex([store('small', 0, 0, 1), store('large', 10, 10, 50)]);
    // 2 km from `small`: inside the largest radius, outside its own.
    expect(index.covering({ lat: 0.018, lon: 0 })).toEqual([]);
    expect(ids(index.covering({ lat: 0.008, lon: 0 }))).toEqual(['small']);
  });

  it('answers within-distance queries with a limit', () => {
    const index = new SpatialIndex(berlin);
    const point = { lat: 52.6, lon: 13.8 };
    expect(ids(index.within(point, 30))).toEqual(bruteWithin(berlin, point, 30));
    expect(index.within(point, 50, 2).map((m) => m.item.id)).toEqual(['pankow', 'mitte']);
    expect(index.within(point, 1)).toEqual([]);
  });

  it('is empty without items, and with a negative distance', () => {
    expect(new SpatialIndex([]).covering({ lat: 1, lon: 1 })).toEqual([]);
    expect(new SpatialIndex(berlin).within({ lat: 52.52, lon: 13.405 }, -1)).toEqual([]);
  });

  it('crosses the antimeridian', () => {
    const items = [store('east', 0, 179.99, 5), store('west', 0, -179.99, 5)];
    const index = new SpatialIndex(items);
    expect(ids(index.covering({ lat: 0, lon: 180 }))).toEqual(['east', 'west']);
    expect(ids(index.covering({ lat: 0, lon: -180 }))).toEqual(['east', 'west']);
    expect(ids(index.covering({ lat: 0, lon: 179.97 }))).toEqual(['east', 'west']);
  });

  it('reaches every longitude around a pole', () => {
    const items = [store('a', 89.99, 0, 5), store('b', 89.99, 180, 5), store('c', 90, 37, 5), store('d', 89.9, 90, 5)];
    const index = new SpatialIndex(items);
    const pole = { lat: 90, lon: -120 };
    expect(ids(index.covering(pole))).toEqual(bruteCovering(items, pole));
    expect(ids(index.covering(pole))).toEqual(['a', 'b', 'c']);
  });

  it('agrees with brute force on random stores and points (clustered, global, polar)', () => {
    const lat = fc.double({ min: -90, max: 90, noNaN: true });
    const lon = fc.double({ min: -180, max: 180, noNaN: true });
    const radiusKm = fc.double({ min: 0.1, max: 100, noNaN: true });
    // Points near a centre (as real stores are), somewhere on Earth, or near a pole.
    const near = (c: GeoPoint, spreadDeg: number) =>
      fc
        .record({
          dLat: fc.double({ min: -spreadDeg, max: spreadDeg, noNaN: true }),
          dLon: fc.double({ min: -spreadDeg, max: spreadDeg, noNaN: true }),
        })
        .map(({ dLat, dLon }) => ({
          lat: Math.max(-90, Math.min(90, c.lat + dLat)),
          lon: ((((c.lon + dLon + 180) % 360) + 360) % 360) - 180,
        }));
    const scenario = fc
      .record({ lat, lon, spreadDeg: fc.constantFrom(0.05, 0.5, 3, 200), polar: fc.boolean() })
      .chain(({ lat: cLat, lon: cLon, spreadDeg, polar }) => {
        const centre = { lat: polar ? Math.sign(cLat || 1) * 89.5 : cLat, lon: cLon };
        const point = near(centre, spreadDeg);
        return fc.record({
          stores: fc.array(fc.record({ location: point, radiusKm }), { minLength: 0, maxLength: 60 }),
          queries: fc.array(point, { minLength: 1, maxLength: 20 }),
          withinKm: fc.double({ min: 0, max: 500, noNaN: true }),
        });
      });
    fc.assert(
      fc.property(scenario, ({ stores, queries, withinKm }) => {
        const items = stores.map((s, i) => ({ id: `w${String(i).padStart(3, '0')}`, ...s }));
        const index = new SpatialIndex(items);
        for (const q of queries) {
          const covering = index.covering(q);
          expect(ids(covering)).toEqual(bruteCovering(items, q));
          for (let i = 1; i < covering.length; i++) {
            expect(covering[i]?.distanceKm).toBeGreaterThanOrEqual(covering[i - 1]?.distanceKm ?? 0);
          }
          expect(ids(index.within(q, withinKm))).toEqual(bruteWithin(items, q, withinKm));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('agrees with brute force at the edge of a radius', () => {
    // Points placed on the circle itself (within rounding): the box must never cut them off.
    fc.assert(
      fc.property(
        fc.double({ min: -89, max: 89, noNaN: true }),
        fc.double({ min: -180, max: 180, noNaN: true }),
        fc.double({ min: 0.1, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        (lat, lon, radiusKm, bearing) => {
          const s = store('s', lat, lon, radiusKm);
          const edge = destination(s.location, radiusKm, bearing);
          const items = [s, store('other', -lat, lon, 0.1)];
          expect(ids(new SpatialIndex(items).covering(edge))).toEqual(bruteCovering(items, edge));
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

/** The point `km` away from `from` on the initial bearing `bearing` (radians), on the sphere. */
function destination(from: GeoPoint, km: number, bearing: number): GeoPoint {
  const d = km / 6371.0088;
  const lat1 = (from.lat * Math.PI) / 180;
  const lon1 = (from.lon * Math.PI) / 180;
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(d) + Math.cos(lat1) * Math.sin(d) * Math.cos(bearing));
  const lon2 =
    lon1 + Math.atan2(Math.sin(bearing) * Math.sin(d) * Math.cos(lat1), Math.cos(d) - Math.sin(lat1) * Math.sin(lat2));
  const lonDeg = ((((lon2 * 180) / Math.PI + 540) % 360) + 360) % 360;
  return { lat: (lat2 * 180) / Math.PI, lon: lonDeg - 180 };
}
