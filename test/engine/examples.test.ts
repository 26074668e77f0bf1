/**
 * Example tests pinning the scenarios of the brief on the warehouse core: all-or-nothing
 * reservations, substitutes, versions, commits, expiry, reads and idempotency. Stock facts (POS
 * feeds, receipts, counts, at-risk) live in `examples.stock.test.ts`.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { limits } from '../../engine/index.ts';
import { errorOf, eventsOfType, sameBytes, TestWarehouse } from './helpers.ts';

let w: TestWarehouse;

beforeEach(() => {
  w = new TestWarehouse();
  w.upsert('A');
  w.upsert('B');
  w.upsert('C');
  w.receive('A', 5);
  w.receive('B', 2);
  w.receive('C', 10);
});

describe('reserve', () => {
  it('is all or nothing and lists every short line with what was requested and available', () => {
    const before = w.bytesWithoutStamp();
    const error = errorOf(
      w.reserve([
        { sku: 'A', quantity: 6 },
        { sku: 'B', quantity: 1 },
        { sku: 'C', quantity: 11 },
      ]),
    );
    expect(error).toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      lines: [
        { sku: 'A', requested: 6, available: 5 },
        { sku: 'C', requested: 11, available: 10 },
      ],
    });
    expect([w.available('A'), w.available('B'), w.available('C')]).toEqual([5, 2, 10]);
    expect(w.ledger).toEqual([]);
    expect(w.events).toEqual([]);
    // Only the stamp and the idempotency record differ: no stock moved, no version rose.
    expect(sameBytes(w.bytesWithoutStamp(), before)).toBe(true);
  });

  it('reserves when every line fits, with safety stock kept back', () => {
    w.upsert('A', { safetyStock: 2 });
    expect(errorOf(w.reserve([{ sku: 'A', quantity: 4 }]))).toMatchObject({
      lines: [{ sku: 'A', requested: 4, available: 3 }],
    });
    const value = w.ok({ type: 'reserve', key: w.key(), lines: [{ sku: 'A', quantity: 3 }], ttlMs: 10_000 });
    expect(value).toEqual({
      kind: 'reserved',
      reservationId: `r${w.warehouse.state.lastSeq}`,
      expiresAtMs: w.atMs + 10_000,
      lines: [{ sku: 'A', quantity: 3, committed: 0 }],
    });
    expect(w.stock('A')).toMatchObject({ onHand: 5, reserved: 3, available: 0 });
  });

  it('falls back to the first substitute that fits, in the listed order', () => {
    w.upsert('A', { substitutes: ['B', 'C'] });
    const line = { sku: 'A', quantity: 8, allowSubstitutes: true };
    const value = w.ok({ type: 'reserve', key: w.key(), lines: [line], ttlMs: 10_000 });
    expect(value).toMatchObject({ lines: [{ sku: 'C', quantity: 8, committed: 0, substituteFor: 'A' }] });
    expect(w.stock('C')).toMatchObject({ reserved: 8, available: 2 });
    expect(w.stock('A')).toMatchObject({ reserved: 0 });
  });

  it('never substitutes a SKU the reservation already names, and needs allowSubstitutes', () => {
    w.upsert('A', { substitutes: ['C'] });
    const named = [
      { sku: 'A', quantity: 8, allowSubstitutes: true },
      { sku: 'C', quantity: 1 },
    ];
    expect(errorOf(w.send({ type: 'reserve', key: w.key(), lines: named, ttlMs: 10_000 }))).toMatchObject({
      code: 'INSUFFICIENT_STOCK',
      lines: [{ sku: 'A', requested: 8, available: 5 }],
    });
    expect(errorOf(w.reserve([{ sku: 'A', quantity: 8 }])).code).toBe('INSUFFICIENT_STOCK');
  });

  it('answers VERSION_CONFLICT when the SKU changed since the caller read it', () => {
    const { version } = w.stock('A');
    w.receive('A', 1);
    const stale = [{ sku: 'A', quantity: 1, expectedVersion: version }];
    expect(errorOf(w.send({ type: 'reserve', key: w.key(), lines: stale, ttlMs: 10_000 }))).toMatchObject({
      code: 'VERSION_CONFLICT',
      sku: 'A',
      expected: version,
      actual: w.stock('A').version,
    });
    const fresh = [{ sku: 'A', quantity: 1, expectedVersion: w.stock('A').version }];
    expect(w.ok({ type: 'reserve', key: w.key(), lines: fresh, ttlMs: 10_000 }).kind).toBe('reserved');
  });

  it('answers NOT_FOUND for an unknown SKU', () => {
    expect(errorOf(w.reserve([{ sku: 'nope', quantity: 1 }]))).toMatchObject({ code: 'NOT_FOUND', kind: 'sku' });
  });

  it('lets exactly 100 of 10,000 one-unit reservations through against 100 units', () => {
    w.upsert('HOT');
    w.receive('HOT', 100);
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) {
      const result = w.reserve([{ sku: 'HOT', quantity: 1 }], limits.TTL_MS_MAX);
      if (result.ok) accepted++;
      else expect(result.error).toMatchObject({ lines: [{ sku: 'HOT', requested: 1, available: 0 }] });
    }
    expect(accepted).toBe(100);
    expect(w.stock('HOT')).toMatchObject({ onHand: 100, reserved: 100, available: 0 });
  });
});

describe('commit and release', () => {
  it('commits part of a reservation, keeps the rest held, then releases the rest', () => {
    const id = w.reserveId([
      { sku: 'A', quantity: 4 },
      { sku: 'C', quantity: 3 },
    ]);
    const commit = { type: 'commit', key: w.key(), reservationId: id, lines: [{ sku: 'A', quantity: 3 }] };
    expect(w.ok(commit)).toEqual({
      kind: 'committed',
      reservationId: id,
      lines: [{ sku: 'A', quantity: 3 }],
      closed: false,
    });
    expect(w.stock('A')).toMatchObject({ onHand: 2, reserved: 1, available: 1 });
    expect(w.warehouse.reservation(id)).toMatchObject({
      ok: true,
      value: {
        lines: [
          { sku: 'A', quantity: 1, committed: 3 },
          { sku: 'C', quantity: 3, committed: 0 },
        ],
      },
    });
    const tooMuch = { type: 'commit', key: w.key(), reservationId: id, lines: [{ sku: 'A', quantity: 2 }] };
    expect(errorOf(w.send(tooMuch))).toMatchObject({ code: 'INVALID_QUANTITY', sku: 'A', requested: 2, held: 1 });
    expect(w.ok({ type: 'release', key: w.key(), reservationId: id })).toEqual({
      kind: 'released',
      reservationId: id,
      lines: [
        { sku: 'A', quantity: 1 },
        { sku: 'C', quantity: 3 },
      ],
    });
    expect(w.stock('A')).toMatchObject({ onHand: 2, reserved: 0 });
    expect(w.stock('C')).toMatchObject({ onHand: 10, reserved: 0 });
    expect(errorOf(w.warehouse.reservation(id))).toMatchObject({ code: 'NOT_FOUND', reason: 'released' });
  });

  it('closes as committed with releaseRest, and a whole commit closes by itself', () => {
    const partial = w.reserveId([{ sku: 'C', quantity: 5 }]);
    const commit = { type: 'commit', key: w.key(), reservationId: partial, lines: [{ sku: 'C', quantity: 2 }] };
    expect(w.ok({ ...commit, releaseRest: true })).toMatchObject({ closed: true, lines: [{ sku: 'C', quantity: 2 }] });
    expect(w.stock('C')).toMatchObject({ onHand: 8, reserved: 0 });
    expect(w.ledger.map((e) => [e.reason, e.onHandDelta, e.reservedDelta])).toEqual([
      ['commit', -2, -2],
      ['release', 0, -3],
    ]);
    const whole = w.reserveId([{ sku: 'A', quantity: 2 }]);
    expect(w.ok({ type: 'commit', key: w.key(), reservationId: whole })).toMatchObject({ closed: true });
    for (const id of [partial, whole]) {
      expect(errorOf(w.warehouse.reservation(id))).toMatchObject({ code: 'NOT_FOUND', reason: 'committed' });
    }
    const again = errorOf(w.send({ type: 'release', key: w.key(), reservationId: whole }));
    expect(again).toMatchObject({ code: 'NOT_FOUND', kind: 'reservation', id: whole, reason: 'committed' });
    expect(errorOf(w.warehouse.reservation('r424242'))).not.toHaveProperty('reason');
  });
});

describe('expiry', () => {
  it('expires through tick at the deadline, not before', () => {
    const id = w.reserveId([{ sku: 'A', quantity: 2 }], 5_000);
    w.atMs += 4_999;
    expect(w.ok({ type: 'tick' })).toEqual({ kind: 'tick', expired: 0 });
    expect(w.warehouse.nextDeadlineMs()).toBe(w.atMs + 1);
    w.atMs += 1;
    expect(w.ok({ type: 'tick' })).toEqual({ kind: 'tick', expired: 1 });
    expect(eventsOfType(w.events, 'reservation.expired')).toEqual([
      { type: 'reservation.expired', reservationId: id, lines: [{ sku: 'A', quantity: 2 }] },
    ]);
    expect(w.ledger).toMatchObject([{ sku: 'A', reservedDelta: -2, reason: 'expire', reference: id }]);
    expect(w.available('A')).toBe(5);
    expect(errorOf(w.warehouse.reservation(id))).toMatchObject({ reason: 'expired' });
  });

  it('expires before any later command, in deadline then creation order', () => {
    const late = w.reserveId([{ sku: 'A', quantity: 1 }], 9_000);
    const first = w.reserveId([{ sku: 'A', quantity: 1 }], 2_000);
    const second = w.reserveId([{ sku: 'C', quantity: 1 }], 2_000);
    w.atMs += 10_000;
    // A commit of the late reservation finds it already expired: expiry runs first.
    const commit = errorOf(w.send({ type: 'commit', key: w.key(), reservationId: late }));
    expect(commit).toMatchObject({ code: 'NOT_FOUND', reason: 'expired' });
    expect(eventsOfType(w.events, 'reservation.expired').map((e) => e.reservationId)).toEqual([first, second, late]);
  });

  it('moves the deadline on extend, so the old deadline no longer expires it', () => {
    const id = w.reserveId([{ sku: 'A', quantity: 1 }], 2_000);
    w.atMs += 1_000;
    expect(w.ok({ type: 'extend', key: w.key(), reservationId: id, ttlMs: 5_000 })).toEqual({
      kind: 'extended',
      reservationId: id,
      expiresAtMs: w.atMs + 5_000,
    });
    w.atMs += 4_999;
    expect(w.ok({ type: 'tick' })).toEqual({ kind: 'tick', expired: 0 });
    w.atMs += 1;
    expect(w.ok({ type: 'tick' })).toEqual({ kind: 'tick', expired: 1 });
  });
});

describe('reads', () => {
  it('publishes one availability event per changed SKU per command, with rising versions', () => {
    const id = w.reserveId([
      { sku: 'A', quantity: 1 },
      { sku: 'C', quantity: 2 },
    ]);
    const [a, c] = eventsOfType(w.events, 'availability.changed');
    expect(a).toEqual({ type: 'availability.changed', sku: 'A', available: 4, version: w.stock('A').version });
    expect(c).toEqual({ type: 'availability.changed', sku: 'C', available: 8, version: w.stock('C').version });
    expect(c?.version).toBeGreaterThan(a?.version ?? Number.POSITIVE_INFINITY);
    // A commit moves on hand and reserved together: versions rise, available does not change.
    const versionBefore = w.stock('A').version;
    w.ok({ type: 'commit', key: w.key(), reservationId: id });
    expect(w.events).toEqual([]);
    expect(w.stock('A').version).toBeGreaterThan(versionBefore);
    w.ok({ type: 'count', key: w.key(), sku: 'B', counted: 2 });
    expect(w.events).toEqual([]);
    expect(w.ledger).toEqual([]);
  });

  it('answers changesSince with every SKU changed after a version, oldest first', () => {
    const since = w.warehouse.state.versionCounter;
    w.receive('C', 1);
    w.receive('A', 1);
    const changes = w.warehouse.changesSince(since);
    expect(changes.items.map((i) => i.sku)).toEqual(['C', 'A']);
    expect(changes.version).toBe(w.warehouse.state.versionCounter);
    expect(w.warehouse.changesSince(changes.version).items).toEqual([]);
    expect(w.warehouse.changesSince(0).items.map((i) => i.sku)).toEqual(['B', 'C', 'A']);
    // A page at a time: the version to ask from next, and whether there is more.
    const page = w.warehouse.changesSince(0, 2);
    expect(page.items.map((i) => i.sku)).toEqual(['B', 'C']);
    expect(page.more).toBe(true);
    expect(w.warehouse.changesSince(page.version, 2)).toMatchObject({ items: [{ sku: 'A' }], more: false });
  });

  it('lists unknown SKUs apart in availability reads', () => {
    const read = w.warehouse.availability(['A', 'missing']);
    expect(read.unknown).toEqual(['missing']);
    expect(read.items).toEqual([{ sku: 'A', onHand: 5, reserved: 0, safetyStock: 0, available: 5, version: 4 }]);
  });
});

describe('idempotency', () => {
  it('answers a repeated key with the stored result and changes nothing', () => {
    const reserve = { type: 'reserve', key: 'order-1', lines: [{ sku: 'A', quantity: 2 }], ttlMs: 30_000 };
    const first = w.send(reserve);
    const before = w.bytesWithoutStamp({ keepIdempotency: true });
    const again = w.send(structuredClone(reserve));
    expect(again).toEqual(first);
    expect(w.ledger).toEqual([]);
    expect(w.events).toEqual([]);
    expect(sameBytes(w.bytesWithoutStamp({ keepIdempotency: true }), before)).toBe(true);
    expect(w.warehouse.commandResult('order-1')).toEqual({ ok: true, value: first });
  });

  it('answers IDEMPOTENCY_CONFLICT for a key reused with a different payload', () => {
    w.ok({ type: 'reserve', key: 'order-2', lines: [{ sku: 'A', quantity: 2 }], ttlMs: 30_000 });
    const other = { type: 'reserve', key: 'order-2', lines: [{ sku: 'A', quantity: 3 }], ttlMs: 30_000 };
    expect(errorOf(w.send(other))).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', key: 'order-2' });
    expect(w.stock('A')).toMatchObject({ reserved: 2 });
  });

  it('stores failures too: a refused key keeps answering the refusal', () => {
    const big = { type: 'reserve', key: 'order-3', lines: [{ sku: 'A', quantity: 9 }], ttlMs: 30_000 };
    expect(errorOf(w.send(big)).code).toBe('INSUFFICIENT_STOCK');
    w.receive('A', 10);
    expect(errorOf(w.send(big)).code).toBe('INSUFFICIENT_STOCK');
    expect(errorOf(w.warehouse.commandResult('never-sent'))).toMatchObject({ code: 'NOT_FOUND', kind: 'command' });
  });

  it('forgets keys and tombstones after IDEMPOTENCY_RETENTION_MS, receipt ids after RECEIPT_RETENTION_MS', () => {
    const adjust = { type: 'adjust', key: 'adj-1', sku: 'C', delta: -1, reason: 'damage' };
    w.ok(adjust);
    const receipt = { type: 'receipt', receiptId: 'asn-1', lines: [{ sku: 'B', quantity: 1 }] };
    w.ok({ ...receipt, key: w.key() });
    const id = w.reserveId([{ sku: 'A', quantity: 1 }]);
    w.ok({ type: 'release', key: w.key(), reservationId: id });
    const releasedAtMs = w.atMs;
    w.atMs = releasedAtMs + limits.IDEMPOTENCY_RETENTION_MS;
    expect(w.ok({ ...receipt, key: w.key() })).toMatchObject({ duplicate: true });
    expect(w.warehouse.commandResult('adj-1').ok).toBe(true);
    expect(errorOf(w.warehouse.reservation(id))).toHaveProperty('reason', 'released');
    w.atMs += 1;
    w.ok({ type: 'tick' });
    expect(w.warehouse.commandResult('adj-1').ok).toBe(false);
    expect(errorOf(w.warehouse.reservation(id))).not.toHaveProperty('reason');
    const keptAtMs = [...w.warehouse.state.idempotency.values()].map((r) => r.atMs);
    expect(keptAtMs).toEqual([releasedAtMs + limits.IDEMPOTENCY_RETENTION_MS]);
    // Once forgotten, the same key is new: this is the documented window.
    w.ok(adjust);
    expect(w.stock('C').onHand).toBe(8);
    // A supplier receipt id is remembered longer (a week): resent within it, it still counts once.
    expect(w.ok({ ...receipt, key: w.key() })).toMatchObject({ duplicate: true });
    w.atMs = releasedAtMs + limits.RECEIPT_RETENTION_MS + 1;
    expect(w.ok({ ...receipt, key: w.key() })).toMatchObject({ duplicate: false });
    expect(w.stock('B').onHand).toBe(4);
  });
});
