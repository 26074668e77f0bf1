/**
 * RetainedMap: entries are forgotten oldest first after the retention window or past the bound,
 * also across the compaction of its order arrays (which happens after 1,024 drops).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RetainedMap } from '../../engine/retained-map.ts';

describe('RetainedMap', () => {
  it('forgets exactly the entries older than the window, across compactions', () => {
    fc.assert(
      fc.property(
        // Thousands of entries, so that well over 1,024 are dropped and the arrays get compacted.
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 3_000, maxLength: 6_000 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 200 }),
        (steps, retentionMs, pruneEvery) => {
          const map = new RetainedMap<{ atMs: number; n: number }>(retentionMs, 1_000_000);
          const model: { key: string; atMs: number }[] = [];
          let atMs = 0;
          steps.forEach((step, n) => {
            atMs += step;
            map.add(`k${n}`, { atMs, n });
            model.push({ key: `k${n}`, atMs });
            if (n % pruneEvery === 0) {
              map.prune(atMs);
              while (model.length > 0 && atMs - (model[0] as { atMs: number }).atMs > retentionMs) model.shift();
              expect(map.size).toBe(model.length);
            }
          });
          map.prune(atMs);
          while (model.length > 0 && atMs - (model[0] as { atMs: number }).atMs > retentionMs) model.shift();
          expect([...map.entries()].map(([key]) => key)).toEqual(model.map((m) => m.key));
          for (const m of model) expect(map.get(m.key)?.atMs).toBe(m.atMs);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('evicts the oldest early past its bound and counts it', () => {
    const map = new RetainedMap<{ atMs: number }>(1_000_000, 3_000);
    for (let i = 0; i < 10_000; i++) map.add(`k${i}`, { atMs: i });
    expect(map.size).toBe(3_000);
    expect(map.evictedEarly).toBe(7_000);
    expect(map.get('k6999')).toBeUndefined();
    expect(map.get('k7000')?.atMs).toBe(7_000);
    map.prune(9_999 + 1_000_000);
    expect([...map.values()].map((v) => v.atMs)).toEqual([9_999]);
  });
});
