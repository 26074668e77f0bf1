/**
 * RetainedMap: entries are forgotten oldest first after the retention window or past the bound,
 * also across the compaction of its order arrays (which happens after 1,024 drops); its index (an
 * open-addressing table) answers exactly as a Map would through growth, backward-shift deletions
 * and keys whose 32-bit hashes collide.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyHash, RetainedMap } from '../../engine/retained-map.ts';

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

  it('answers every lookup as a Map does, through adds, drops, evictions, growth and compactions', () => {
    // Keys from a small pool of names (so lookups hit and miss), made unique per add by a counter.
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), step: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ kind: fc.constant('get' as const), back: fc.integer({ min: 0, max: 400 }) }),
      fc.record({ kind: fc.constant('miss' as const), n: fc.integer({ min: 0, max: 1_000_000 }) }),
      fc.record({ kind: fc.constant('prune' as const), step: fc.integer({ min: 0, max: 50 }) }),
    );
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 2_000, maxLength: 6_000 }),
        // Windows long and short against the ~2 ms an add moves time: thousands live, or a few.
        fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 2_000, max: 20_000 })),
        fc.oneof(fc.integer({ min: 5, max: 300 }), fc.integer({ min: 1_500, max: 5_000 })),
        (ops, retentionMs, max) => {
          const map = new RetainedMap<{ atMs: number; n: number }>(retentionMs, max);
          const model = new Map<string, { atMs: number; n: number }>();
          const order: string[] = [];
          let atMs = 0;
          let added = 0;
          const dropOldest = () => model.delete(order.shift() as string);
          for (const o of ops) {
            if (o.kind === 'add') {
              atMs += o.step;
              const key = `k${added}`;
              const value = { atMs, n: added++ };
              map.add(key, value);
              model.set(key, value);
              order.push(key);
              if (model.size > max) dropOldest();
            } else if (o.kind === 'get') {
              // A key added `back` adds ago (maybe dropped since), as a new string of the same text.
              const key = ['k', String(added - 1 - o.back)].join('');
              expect(map.get(key)).toBe(model.get(key));
            } else if (o.kind === 'miss') {
              expect(map.get(`never-${o.n}`)).toBeUndefined();
            } else {
              atMs += o.step;
              map.prune(atMs);
              while (order.length > 0 && atMs - (model.get(order[0] as string)?.atMs as number) > retentionMs)
                dropOldest();
            }
            expect(map.size).toBe(model.size);
          }
          expect([...map.entries()].map(([key]) => key)).toEqual(order);
          for (const key of order) expect(map.get(key)).toBe(model.get(key));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('tells apart keys whose hashes collide', () => {
    // Two keys with the same 32-bit hash, found by the birthday bound (~80k keys).
    const byHash = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const key = `c${i}`;
      const other = byHash.get(keyHash(key));
      if (other !== undefined) pair = [other, key];
      else byHash.set(keyHash(key), key);
    }
    const [a, b] = pair;
    const map = new RetainedMap<{ atMs: number; name: string }>(10, 1_000);
    map.add(a, { atMs: 0, name: 'a' });
    expect(map.get(b)).toBeUndefined();
    map.add(b, { atMs: 5, name: 'b' });
    expect(map.get(a)?.name).toBe('a');
    expect(map.get(b)?.name).toBe('b');
    // Dropping the first shifts the second back into its slot; it stays found.
    map.prune(11);
    expect(map.get(a)).toBeUndefined();
    expect(map.get(b)?.name).toBe('b');
    expect(map.size).toBe(1);
  });

  it('gives back the memory of a burst: the index shrinks as the keys are forgotten', () => {
    const map = new RetainedMap<{ atMs: number }>(1_000, 1_000_000);
    // A burst of 100,000 keys, then 3,000 more that stay: every shrink on the way must keep them.
    for (let i = 0; i < 103_000; i++) map.add(`k${i}`, { atMs: i < 100_000 ? 0 : 5_000 });
    expect(map.slots).toBeGreaterThanOrEqual(200_000);
    map.prune(5_000);
    expect(map.size).toBe(3_000);
    expect(map.slots).toBeLessThanOrEqual(3_000 * 8);
    for (let i = 100_000; i < 103_000; i++) expect(map.get(`k${i}`)?.atMs).toBe(5_000);
    expect(map.get('k0')).toBeUndefined();
  });

  it('keeps and forgets the empty key like any other', () => {
    const map = new RetainedMap<{ atMs: number }>(10, 1_000);
    map.add('', { atMs: 0 });
    map.add('x', { atMs: 1 });
    expect(map.get('')?.atMs).toBe(0);
    map.prune(11);
    expect(map.get('')).toBeUndefined();
    expect(map.get('x')?.atMs).toBe(1);
  });
});
