/**
 * Packing a commit's events into messages by type (service/event-messages.ts): nothing lost or
 * reordered, the bounds kept, and the property the recovery's republication relies on: a command
 * packed alone gets a message id only a message holding all of its events of that type had.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EngineEvent, encode } from '../../engine/index.ts';
import { decodeEventMessage, type EventEntry, entriesOf, eventMessageId, eventMessages } from '../../service/index.ts';

const TYPES = ['availability.changed', 'order.changed', 'reservation.at_risk'] as const;

/** Commands in seq order, each with its events (some with none). */
const commandsArb = fc.array(
  fc.array(fc.record({ type: fc.constantFrom(...TYPES), note: fc.string({ maxLength: 120 }) }), { maxLength: 12 }),
  { minLength: 1, maxLength: 40 },
);
const limitsArb = fc.record({
  perMessageMax: fc.integer({ min: 1, max: 6 }),
  bytesMax: fc.integer({ min: 40, max: 1500 }),
});

function entriesFor(commands: { type: string; note: string }[][]): EventEntry[] {
  const seqs: number[] = [];
  const events: EngineEvent[] = [];
  commands.forEach((produced, i) => {
    for (const event of produced) {
      seqs.push(i + 1);
      events.push(event as unknown as EngineEvent);
    }
  });
  return entriesOf(seqs, events);
}

const key = (e: { seq: number; index: number }) => `${e.seq}:${e.index}`;

describe('event messages', () => {
  it('numbers each command’s events from 0', () => {
    const ev = (type: string) => ({ type }) as unknown as EngineEvent;
    expect(entriesOf([4, 4, 5, 7, 7, 7], [ev('a'), ev('b'), ev('a'), ev('a'), ev('b'), ev('a')]).map(key)).toEqual([
      '4:0',
      '4:1',
      '5:0',
      '7:0',
      '7:1',
      '7:2',
    ]);
  });

  it('packs a commit by type: every event once, in order, within the bounds, under its first event’s id', () => {
    fc.assert(
      fc.property(commandsArb, limitsArb, (commands, limits) => {
        const entries = entriesFor(commands);
        const messages = eventMessages('r1', 'W1', entries, limits);
        const byType = new Map<string, string[]>();
        for (const m of messages) {
          const envelopes = decodeEventMessage(m.body);
          if (envelopes === undefined) throw new Error('undecodable message');
          expect(envelopes.length).toBe(m.events);
          expect(envelopes.length).toBeLessThanOrEqual(limits.perMessageMax);
          if (envelopes.length > 1) expect(m.body.byteLength).toBeLessThanOrEqual(limits.bytesMax);
          const type = (envelopes[0] as { event: EngineEvent }).event.type;
          expect(m.subject).toBe(`darkstore.r1.W1.evt.${type}`);
          expect(m.id).toBe(eventMessageId('r1', 'W1', envelopes[0]?.seq ?? -1, envelopes[0]?.index ?? -1));
          for (const e of envelopes) {
            expect(e.warehouseId).toBe('W1');
            expect(e.event.type).toBe(type);
            byType.set(type, [...(byType.get(type) ?? []), `${key(e)}:${encode(e.event).join(',')}`]);
          }
        }
        for (const type of TYPES) {
          const expected = entries
            .filter((e) => e.event.type === type)
            .map((e) => `${key(e)}:${encode(e.event).join(',')}`);
          expect(byType.get(type) ?? []).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a command packed alone shares a message id only with a message that holds all it carries', () => {
    fc.assert(
      fc.property(commandsArb, limitsArb, (commands, limits) => {
        const entries = entriesFor(commands);
        const live = new Map<string, Set<string>>();
        for (const m of eventMessages('r1', 'W1', entries, limits)) {
          live.set(m.id, new Set((decodeEventMessage(m.body) ?? []).map(key)));
        }
        for (let seq = 1; seq <= commands.length; seq++) {
          const alone = entries.filter((e) => e.seq === seq);
          for (const m of eventMessages('r1', 'W1', alone, limits)) {
            const held = live.get(m.id);
            if (held === undefined) continue;
            for (const e of decodeEventMessage(m.body) ?? []) expect(held.has(key(e))).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a message to one type and far fewer messages than events for a batch of reserves', () => {
    const seqs: number[] = [];
    const events: EngineEvent[] = [];
    for (let seq = 1; seq <= 100; seq++) {
      seqs.push(seq, seq);
      events.push({ type: 'availability.changed', sku: `sku-${seq}`, available: 5, version: seq }, {
        type: 'order.changed',
        orderId: `o-${seq}`,
        state: 'reserved',
      } as EngineEvent);
    }
    const messages = eventMessages('r1', 'W1', entriesOf(seqs, events));
    expect(messages.map((m) => [m.subject, m.events])).toEqual([
      ['darkstore.r1.W1.evt.availability.changed', 100],
      ['darkstore.r1.W1.evt.order.changed', 100],
    ]);
  });

  it('refuses what is not an event message', () => {
    for (const bad of [
      encode({ warehouseId: 'W1', seq: 1, index: 0, event: { type: 'x' } }),
      encode({ warehouseId: 'W1', events: [] }),
      encode({ warehouseId: 'W1', events: [{ seq: 1, index: 0, event: {} }] }),
      encode({ events: [{ seq: 1, index: 0, event: { type: 'x' } }] }),
      Uint8Array.from([0xc1]),
    ]) {
      expect(decodeEventMessage(bad)).toBeUndefined();
    }
  });
});
