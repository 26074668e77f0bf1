/**
 * The event messages the stream has not acknowledged (service/event-resend.ts): one out per subject
 * at a time, the next sent at the answer; kept until acknowledged, published again after the wait
 * and at a reconnection; a byte bound past which a warehouse gives up; and the limit they put on
 * each warehouse's snapshots. A property test checks them against a plain record of what was
 * published, sent and answered.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SentEventMessage, SUBJECT_WINDOW, UnackedEventMessages } from '../../service/index.ts';

const message = (warehouseId: string, firstSeq: number, atMs = 0, bytes = 10, type = 't'): SentEventMessage => ({
  warehouseId,
  firstSeq,
  atMs,
  subject: `darkstore.r.${warehouseId}.evt.${type}`,
  body: new Uint8Array(bytes),
  id: `r:${warehouseId}:${firstSeq}:0`,
  replayed: false,
});

describe('unacknowledged event messages', () => {
  it('sends up to the window per subject; later ones wait and go out at the answers, in order', () => {
    const unacked = new UnackedEventMessages(5_000, 10_000_000);
    const sent = Array.from({ length: SUBJECT_WINDOW + 2 }, (_, i) => unacked.record(message('w1', i + 1, i)));
    expect(sent.slice(0, SUBJECT_WINDOW).every((m, i) => m?.firstSeq === i + 1)).toBe(true);
    expect(sent.slice(SUBJECT_WINDOW)).toEqual([undefined, undefined]);
    // Another subject is not held up.
    expect(unacked.record(message('w1', 5, 0, 10, 'u'))?.firstSeq).toBe(5);
    // The window counts from the oldest unanswered message: an answer behind it opens nothing.
    expect(unacked.ack(sent[1]?.serial ?? -1, 50)).toEqual([]);
    const next = unacked.ack(sent[0]?.serial ?? -1, 100);
    expect(next.map((m) => [m.firstSeq, m.atMs, m.replayed])).toEqual([
      [SUBJECT_WINDOW + 1, 100, false],
      [SUBJECT_WINDOW + 2, 100, false],
    ]);
    // An answer for a message no longer kept (a copy's) changes nothing.
    expect(unacked.ack(sent[0]?.serial ?? -1, 300)).toEqual([]);
    expect(unacked.acked).toBe(2);
    expect(unacked.size).toBe(SUBJECT_WINDOW + 1);
  });

  it('on a refusal the subject stops sending new ones and probes with its oldest; once answered, the rest goes again in order', () => {
    const unacked = new UnackedEventMessages(5_000, 1_000_000);
    const a = unacked.record(message('w1', 1, 0));
    const b = unacked.record(message('w1', 2, 0));
    const c = unacked.record(message('w1', 3, 0));
    unacked.refuse(b?.serial ?? -1);
    unacked.refuse(12345);
    expect(unacked.refused).toBe(1);
    // Nothing new goes out while the subject is in trouble, and an answer to another changes nothing.
    expect(unacked.record(message('w1', 4, 10))).toBeUndefined();
    expect(unacked.ack(c?.serial ?? -1, 20)).toEqual([]);
    expect(unacked.due(4_999)).toEqual([]);
    const probe = unacked.due(5_000);
    expect(probe.map((m) => [m.firstSeq, m.replayed])).toEqual([[1, true]]);
    // The probe is answered: b goes again (c was answered), then the one that waited.
    const after = unacked.ack(a?.serial ?? -1, 5_100);
    expect(after.map((m) => [m.firstSeq, m.replayed, m.atMs])).toEqual([
      [2, true, 5_100],
      [4, false, 5_100],
    ]);
    expect(unacked.resent).toBe(2);
  });

  it('probes when the oldest message out stays unanswered for the wait', () => {
    const unacked = new UnackedEventMessages(5_000, 1_000_000);
    unacked.record(message('w1', 1, 0));
    unacked.record(message('w1', 2, 1_000));
    unacked.record(message('w1', 2, 3_000, 10, 'u'));
    expect(unacked.due(4_999)).toEqual([]);
    const again = unacked.due(5_000);
    expect(again.map((m) => m.firstSeq)).toEqual([1]);
    expect(again[0]).toMatchObject({ replayed: true, atMs: 5_000, firstAtMs: 0 });
    expect(unacked.due(8_000).map((m) => m.subject)).toEqual(['darkstore.r.w1.evt.u']);
    expect(unacked.due(10_000).map((m) => m.firstSeq)).toEqual([1]);
    expect(unacked.resent).toBe(3);
    expect(unacked.oldestAtMs).toBe(0);
  });

  it('sends nothing again while disconnected, and every message out at the reconnection', () => {
    const unacked = new UnackedEventMessages(5_000, 1_000_000);
    const first = unacked.record(message('w1', 1, 0));
    unacked.record(message('w2', 1, 100));
    unacked.disconnected(200);
    unacked.record(message('w1', 2, 300));
    expect(unacked.isDisconnected).toBe(true);
    expect(unacked.due(60_000)).toEqual([]);
    unacked.ack(first?.serial ?? -1, 150);
    const again = unacked.reconnected(70_000);
    expect(again.map((m) => [m.warehouseId, m.firstSeq])).toEqual([
      ['w1', 2],
      ['w2', 1],
    ]);
    expect(again.every((m) => m.replayed && m.atMs === 70_000)).toBe(true);
    expect(unacked.isDisconnected).toBe(false);
  });

  it('keeps each warehouse snapshot below its oldest unacknowledged message, waiting ones included', () => {
    const unacked = new UnackedEventMessages(5_000, 1_000_000);
    expect(unacked.checkpointLimit('w1')).toBe(Number.POSITIVE_INFINITY);
    const a = unacked.record(message('w1', 10));
    const b = unacked.record(message('w1', 10, 0, 10, 'u'));
    const c = unacked.record(message('w1', 14));
    unacked.record(message('w2', 5));
    expect(unacked.checkpointLimit('w1')).toBe(9);
    expect(unacked.checkpointLimit('w2')).toBe(4);
    unacked.ack(b?.serial ?? -1, 1);
    expect(unacked.checkpointLimit('w1')).toBe(9);
    unacked.ack(a?.serial ?? -1, 1);
    expect(unacked.checkpointLimit('w1')).toBe(13);
    unacked.ack(c?.serial ?? -1, 2);
    expect(unacked.checkpointLimit('w1')).toBe(Number.POSITIVE_INFINITY);
  });

  it('past its byte bound the oldest message’s warehouse gives up: all of it dropped, later ones not sent, snapshots held', () => {
    const unacked = new UnackedEventMessages(5_000, 100);
    unacked.record(message('w1', 1, 0, 30));
    unacked.record(message('w2', 1, 0, 30));
    unacked.record(message('w1', 2, 0, 30));
    expect(unacked.givenUp).toBe(0);
    unacked.record(message('w2', 2, 0, 30));
    expect(unacked.gaveUp).toEqual(['w1']);
    expect(unacked.givenUp).toBe(2);
    expect(unacked.size).toBe(2);
    // w1 publishes nothing more until a restart, whose recovery replays from below what it gave up.
    expect(unacked.record(message('w1', 3, 0, 1))).toBeUndefined();
    expect(unacked.givenUp).toBe(3);
    expect(unacked.checkpointLimit('w1')).toBe(0);
    expect(unacked.checkpointLimit('w2')).toBe(0);
    expect(unacked.reconnected(1).map((m) => [m.warehouseId, m.firstSeq])).toEqual([['w2', 1]]);
  });

  it('what a recovery publishes from the log does not count against the bound; the oldest counted message’s warehouse gives up', () => {
    const unacked = new UnackedEventMessages(5_000, 100);
    const fromLog = (w: string, seq: number) => ({ ...message(w, seq, 0, 30), replayed: true, fromLog: true });
    // A backlog many times the bound: kept, sent a window at a time, no give-up.
    const sent = Array.from({ length: 20 }, (_, i) => unacked.record(fromLog('w1', i + 1)));
    expect(unacked.gaveUp).toEqual([]);
    expect(unacked.size).toBe(20);
    expect(sent.every((m) => m !== undefined)).toBe(true);
    // Live messages count: past the bound, their warehouse gives up, not the one with the backlog
    // (its messages came first, but count for nothing).
    unacked.record(message('w2', 1, 0, 60));
    unacked.record(message('w1', 21, 0, 30));
    expect(unacked.gaveUp).toEqual([]);
    unacked.record(message('w2', 2, 0, 30));
    expect(unacked.gaveUp).toEqual(['w2']);
    expect(unacked.size).toBe(21);
    // Acknowledged backlog frees nothing counted: w1's live message still fits.
    for (const m of sent) unacked.ack(m?.serial ?? -1, 1);
    expect(unacked.size).toBe(1);
    expect(unacked.checkpointLimit('w1')).toBe(20);
  });

  it('property: per subject, messages go out in order and probes are the oldest unanswered; none is lost uncounted; no snapshot limit passes one', () => {
    type Op =
      | { kind: 'record'; warehouse: number; type: number; advance: number; bytes: number; fromLog: boolean }
      | { kind: 'ack' | 'refuse'; pick: number }
      | { kind: 'due' | 'disconnect' | 'reconnect'; afterMs: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('record' as const),
        warehouse: fc.integer({ min: 0, max: 2 }),
        type: fc.integer({ min: 0, max: 1 }),
        advance: fc.integer({ min: 0, max: 3 }),
        bytes: fc.integer({ min: 1, max: 40 }),
        fromLog: fc.boolean(),
      }),
      fc.record({ kind: fc.constantFrom('ack' as const, 'refuse' as const), pick: fc.nat() }),
      fc.record({
        kind: fc.constantFrom('due' as const, 'disconnect' as const, 'reconnect' as const),
        afterMs: fc.integer({ min: 0, max: 4_000 }),
      }),
    );
    let gaveUp = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 30, maxLength: 150 }), (ops) => {
        const unacked = new UnackedEventMessages(3_000, 120);
        const seqs = [0, 0, 0];
        /** Every recorded message neither acknowledged nor given up, by id. */
        const open = new Map<string, { warehouse: string; firstSeq: number; subject: string }>();
        /** Per subject, the ids recorded and the ids sent for the first time, in order. */
        const recordedBySubject = new Map<string, string[]>();
        const firstSentBySubject = new Map<string, string[]>();
        /** Per subject, the messages out (sent and unanswered): id to serial. */
        const out = new Map<string, Map<string, number>>();
        let now = 0;
        let recorded = 0;
        const sent = (m: { id: string; serial: number; subject: string }) => {
          const firsts = firstSentBySubject.get(m.subject) ?? [];
          if (!firsts.includes(m.id)) firsts.push(m.id);
          firstSentBySubject.set(m.subject, firsts);
          const ofSubject = out.get(m.subject) ?? new Map<string, number>();
          ofSubject.set(m.id, m.serial);
          out.set(m.subject, ofSubject);
          // Never more than the window out at once.
          expect(ofSubject.size).toBeLessThanOrEqual(SUBJECT_WINDOW);
        };
        const inOrder = (batch: { id: string }[]) => {
          const ids = batch.map((m) => Number(m.id.slice(1)));
          expect(ids).toEqual([...ids].sort((x, y) => x - y));
        };
        for (const o of ops) {
          if (o.kind === 'record') {
            seqs[o.warehouse] = (seqs[o.warehouse] as number) + o.advance;
            const m = {
              ...message(`w${o.warehouse}`, seqs[o.warehouse] as number, now, o.bytes, `t${o.type}`),
              fromLog: o.fromLog,
            };
            m.id = `m${recorded++}`;
            open.set(m.id, { warehouse: m.warehouseId, firstSeq: m.firstSeq, subject: m.subject });
            recordedBySubject.set(m.subject, [...(recordedBySubject.get(m.subject) ?? []), m.id]);
            const toSend = unacked.record(m);
            if (toSend !== undefined) sent(toSend);
          } else if (o.kind === 'ack' || o.kind === 'refuse') {
            const outs = [...out.values()].flatMap((ofSubject) => [...ofSubject]);
            const pick = outs[o.pick % Math.max(1, outs.length)];
            if (pick === undefined) continue;
            const [id, serial] = pick;
            if (o.kind === 'ack') {
              const subject = open.get(id)?.subject as string;
              const next = unacked.ack(serial, now);
              open.delete(id);
              out.get(subject)?.delete(id);
              inOrder(next);
              for (const m of next) sent(m);
            } else unacked.refuse(serial);
          } else if (o.kind === 'due' || o.kind === 'disconnect' || o.kind === 'reconnect') {
            now += o.afterMs;
            if (o.kind === 'disconnect') unacked.disconnected(now);
            const again = o.kind === 'due' ? unacked.due(now) : o.kind === 'reconnect' ? unacked.reconnected(now) : [];
            // One probe per subject, its oldest unanswered message.
            expect(new Set(again.map((m) => m.subject)).size).toBe(again.length);
            for (const m of again) {
              expect(m.replayed).toBe(true);
              const oldestOpen = (recordedBySubject.get(m.subject) ?? []).find((x) => open.has(x));
              expect(m.id).toBe(oldestOpen);
              sent(m);
            }
          }
          // A warehouse that gave up keeps nothing and has nothing out; its snapshots stay below all of it.
          for (const w of unacked.gaveUp) {
            for (const [id, m] of open) {
              if (m.warehouse !== w) continue;
              expect(unacked.checkpointLimit(w)).toBeLessThan(m.firstSeq);
              open.delete(id);
              out.delete(m.subject);
            }
          }
          // Acknowledged, kept, or counted as given up: nothing else.
          expect(unacked.size + unacked.givenUp + unacked.acked).toBe(recorded);
          expect(unacked.size).toBe(open.size);
          // Per subject, first sends follow the order of recording.
          for (const [subject, firsts] of firstSentBySubject) {
            expect(firsts).toEqual((recordedBySubject.get(subject) ?? []).slice(0, firsts.length));
          }
          for (let w = 0; w < 3; w++) {
            const limit = unacked.checkpointLimit(`w${w}`);
            for (const kept of open.values()) if (kept.warehouse === `w${w}`) expect(limit).toBeLessThan(kept.firstSeq);
          }
        }
        if (unacked.gaveUp.length > 0) gaveUp++;
      }),
    );
    // The runs reached the byte bound often enough to check the give-up too.
    expect(gaveUp).toBeGreaterThan(10);
  });
});
