/**
 * The event messages the stream has not acknowledged (service/event-resend.ts): kept until their
 * acknowledgement, published again after the wait and at a reconnection, bounded by bytes, and the
 * limit they put on each warehouse's snapshots; a property test against a plain list of what was
 * published and answered.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SentEventMessage, UnackedEventMessages } from '../../service/index.ts';

const message = (warehouseId: string, firstSeq: number, atMs = 0, bytes = 10): SentEventMessage => ({
  warehouseId,
  firstSeq,
  atMs,
  subject: `darkstore.r.${warehouseId}.evt.t`,
  body: new Uint8Array(bytes),
  id: `r:${warehouseId}:${firstSeq}:0`,
  replayed: false,
});

describe('unacknowledged event messages', () => {
  it('keeps a message until its acknowledgement, and ignores answers for messages no longer kept', () => {
    const unacked = new UnackedEventMessages(5_000, 1_000_000);
    const a = unacked.record(message('w1', 3));
    const b = unacked.record(message('w1', 7));
    expect(unacked.size).toBe(2);
    unacked.ack(a);
    unacked.ack(a);
    expect(unacked.size).toBe(1);
    expect(unacked.acked).toBe(1);
    unacked.refuse(a);
    expect(unacked.refused).toBe(0);
    unacked.refuse(b);
    expect(unacked.refused).toBe(1);
    expect(unacked.size).toBe(1);
  });

  it('publishes again what waited the ack wait, marked and stamped anew, then waits again', () => {
    const unacked = new UnackedEventMessages(5_000, 1_000_000);
    unacked.record(message('w1', 1, 0));
    unacked.record(message('w1', 2, 3_000));
    expect(unacked.due(4_999)).toEqual([]);
    const again = unacked.due(5_000);
    expect(again.map((m) => m.firstSeq)).toEqual([1]);
    expect(again[0]).toMatchObject({ replayed: true, atMs: 5_000, firstAtMs: 0 });
    expect(unacked.due(9_000).map((m) => m.firstSeq)).toEqual([2]);
    expect(unacked.due(10_000).map((m) => m.firstSeq)).toEqual([1]);
    expect(unacked.resent).toBe(3);
    expect(unacked.oldestAtMs).toBe(0);
  });

  it('sends nothing while disconnected, and everything kept at the reconnection', () => {
    const unacked = new UnackedEventMessages(5_000, 1_000_000);
    const first = unacked.record(message('w1', 1, 0));
    unacked.record(message('w2', 1, 100));
    unacked.disconnected(200);
    unacked.record(message('w1', 2, 300));
    expect(unacked.isDisconnected).toBe(true);
    expect(unacked.due(60_000)).toEqual([]);
    unacked.ack(first);
    const again = unacked.reconnected(70_000);
    expect(again.map((m) => [m.warehouseId, m.firstSeq])).toEqual([
      ['w2', 1],
      ['w1', 2],
    ]);
    expect(again.every((m) => m.replayed && m.atMs === 70_000)).toBe(true);
    expect(unacked.isDisconnected).toBe(false);
  });

  it('keeps each warehouse snapshot below its oldest unacknowledged message', () => {
    const unacked = new UnackedEventMessages(5_000, 1_000_000);
    expect(unacked.checkpointLimit('w1')).toBe(Number.POSITIVE_INFINITY);
    const a = unacked.record(message('w1', 10));
    const b = unacked.record(message('w1', 10));
    const c = unacked.record(message('w1', 14));
    unacked.record(message('w2', 5));
    expect(unacked.checkpointLimit('w1')).toBe(9);
    expect(unacked.checkpointLimit('w2')).toBe(4);
    unacked.ack(b);
    expect(unacked.checkpointLimit('w1')).toBe(9);
    unacked.ack(a);
    expect(unacked.checkpointLimit('w1')).toBe(13);
    unacked.ack(c);
    expect(unacked.checkpointLimit('w1')).toBe(Number.POSITIVE_INFINITY);
  });

  it('gives up the oldest past its byte bound, counts them, and keeps their warehouse snapshots below them', () => {
    const unacked = new UnackedEventMessages(5_000, 100);
    for (let seq = 1; seq <= 5; seq++) unacked.record(message(seq <= 2 ? 'w1' : 'w2', seq, 0, 30));
    expect(unacked.size).toBe(3);
    expect(unacked.givenUp).toBe(2);
    expect(unacked.reconnected(1).map((m) => m.firstSeq)).toEqual([3, 4, 5]);
    // w1 has nothing kept, yet what it gave up may be missing from the stream until a restart.
    expect(unacked.checkpointLimit('w1')).toBe(0);
    expect(unacked.checkpointLimit('w2')).toBe(2);
  });

  it('property: every message is kept until acknowledged or given up, and no snapshot limit passes a kept one', () => {
    type Op =
      | { kind: 'record'; warehouse: number; advance: number; bytes: number }
      | { kind: 'ack' | 'refuse'; pick: number }
      | { kind: 'due' | 'disconnect' | 'reconnect'; afterMs: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('record' as const),
        warehouse: fc.integer({ min: 0, max: 2 }),
        advance: fc.integer({ min: 0, max: 3 }),
        bytes: fc.integer({ min: 1, max: 40 }),
      }),
      fc.record({ kind: fc.constantFrom('ack' as const, 'refuse' as const), pick: fc.nat() }),
      fc.record({
        kind: fc.constantFrom('due' as const, 'disconnect' as const, 'reconnect' as const),
        afterMs: fc.integer({ min: 0, max: 4_000 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const unacked = new UnackedEventMessages(3_000, 80);
        const seqs = [0, 0, 0];
        const open = new Map<number, { warehouse: string; firstSeq: number }>();
        const settled = new Set<number>();
        let now = 0;
        let recorded = 0;
        for (const o of ops) {
          if (o.kind === 'record') {
            seqs[o.warehouse] = (seqs[o.warehouse] as number) + o.advance;
            const m = message(`w${o.warehouse}`, seqs[o.warehouse] as number, now, o.bytes);
            open.set(unacked.record(m), { warehouse: m.warehouseId, firstSeq: m.firstSeq });
            recorded++;
          } else if (o.kind === 'ack' || o.kind === 'refuse') {
            const serials = [...open.keys()];
            const serial = serials[o.pick % Math.max(1, serials.length)];
            if (serial === undefined) continue;
            if (o.kind === 'ack') {
              unacked.ack(serial);
              open.delete(serial);
              settled.add(serial);
            } else unacked.refuse(serial);
          } else if (o.kind === 'due' || o.kind === 'disconnect' || o.kind === 'reconnect') {
            now += o.afterMs;
            if (o.kind === 'disconnect') unacked.disconnected(now);
            const again = o.kind === 'due' ? unacked.due(now) : o.kind === 'reconnect' ? unacked.reconnected(now) : [];
            for (const m of again) {
              expect(settled.has(m.serial)).toBe(false);
              expect(m.replayed).toBe(true);
            }
          }
          // Nothing acknowledged is kept, nothing unacknowledged vanishes unless counted as given up.
          expect(unacked.size + unacked.givenUp + unacked.acked).toBe(recorded);
          expect(unacked.size).toBeLessThanOrEqual(open.size);
          for (let w = 0; w < 3; w++) {
            const limit = unacked.checkpointLimit(`w${w}`);
            for (const kept of open.values()) if (kept.warehouse === `w${w}`) expect(limit).toBeLessThan(kept.firstSeq);
          }
        }
      }),
    );
  });
});
