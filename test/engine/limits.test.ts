/**
 * The bounds of the core that keep memory flat under sustained load, and the two semantics that
 * protect callers: an extend never shortens a hold, and re-defining a SKU unchanged does not raise
 * its version (so a catalog re-sync does not break callers that send an expected version).
 */
import { describe, expect, it } from 'vitest';
import { limits, Warehouse } from '../../engine/index.ts';
import { TestWarehouse } from './helpers.ts';

describe('bounded memory', () => {
  it('keeps the expiry heap near the number of open reservations under reserve+commit churn', () => {
    const w = new TestWarehouse();
    w.warehouse = new Warehouse('w-test'); // without per-command invariant checks: this is a volume test
    w.upsert('A');
    w.receive('A', 1_000_000);
    for (let i = 0; i < 20_000; i++) {
      const id = w.reserveId([{ sku: 'A', quantity: 1 }], 3_600_000);
      w.ok({ type: 'commit', key: w.key(), reservationId: id });
    }
    const state = w.warehouse.state;
    expect(state.reservations.size).toBe(0);
    // Every commit left a stale timer entry; compaction keeps them from piling up.
    expect(state.timers.size).toBeLessThanOrEqual(limits.TIMER_HEAP_SLACK_FACTOR * state.reservations.size + 1_025);
  });

  it('evicts the oldest tombstones past TOMBSTONES_MAX and still answers NOT_FOUND', () => {
    const w = new TestWarehouse();
    w.warehouse = new Warehouse('w-test'); // without per-command invariant checks: this is a volume test
    w.upsert('A');
    w.receive('A', 10);
    const first = w.reserveId([{ sku: 'A', quantity: 1 }]);
    w.ok({ type: 'release', key: w.key(), reservationId: first });
    for (let i = 0; i < limits.TOMBSTONES_MAX; i++) {
      const id = w.reserveId([{ sku: 'A', quantity: 1 }]);
      w.ok({ type: 'release', key: w.key(), reservationId: id });
    }
    expect(w.warehouse.state.tombstones.size).toBe(limits.TOMBSTONES_MAX);
    const answer = w.warehouse.reservation(first);
    expect(answer.ok).toBe(false);
    expect(answer.ok ? undefined : answer.error).toMatchObject({ code: 'NOT_FOUND', kind: 'reservation' });
    expect(answer.ok ? undefined : answer.error).not.toHaveProperty('reason');
  }, 60_000);
});

describe('caller-protecting semantics', () => {
  it('never shortens a hold on extend', () => {
    const w = new TestWarehouse();
    w.upsert('A');
    w.receive('A', 5);
    const id = w.reserveId([{ sku: 'A', quantity: 1 }], 600_000);
    const before = w.warehouse.reservation(id);
    const expiresAtMs = before.ok ? before.value.expiresAtMs : 0;
    expect(w.ok({ type: 'extend', key: w.key(), reservationId: id, ttlMs: 1_000 })).toMatchObject({ expiresAtMs });
    w.atMs += 5_000;
    expect(w.warehouse.reservation(id).ok).toBe(true);
    expect(w.ok({ type: 'extend', key: w.key(), reservationId: id, ttlMs: 900_000 })).toMatchObject({
      expiresAtMs: w.atMs + 900_000,
    });
  });

  it('does not raise the version when a SKU is re-defined unchanged', () => {
    const w = new TestWarehouse();
    w.upsert('A', { safetyStock: 1 });
    w.receive('A', 5);
    const version = w.stock('A').version;
    w.upsert('A', { safetyStock: 1 });
    expect(w.stock('A').version).toBe(version);
    expect(w.events).toEqual([]);
    w.upsert('A', { safetyStock: 2 });
    expect(w.stock('A').version).toBeGreaterThan(version);
    expect(w.events).toEqual([{ type: 'availability.changed', sku: 'A', available: 3, version: w.stock('A').version }]);
  });
});
