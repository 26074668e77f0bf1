/**
 * Which of the events a recovery replays the events stream still lacks. A region republishes what
 * its recovery replays (a crash may fall between a commit and its publication); most of it reached
 * the stream already. The region stores each subject's messages in command order (sent in order,
 * and after any trouble nothing new until the oldest unanswered is stored: `event-resend.ts`), so per
 * event type the stream's last message of the warehouse, read before the warehouse opens, says how
 * far that type got: every earlier event of the type is there, and replayed events of the type up
 * to its last event are left out. That last event must be the replayed event at the same place
 * (same command, same index, same bytes): otherwise the stream's message comes from an earlier life
 * of a warehouse of the same region and id (its data started over), and every replayed event of the
 * type goes out. A type the stream cannot be asked about goes out whole too; the duplicate window
 * still drops whatever matches a stored message id. Reads the stream, never writes to it.
 */
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type EngineEvent, encode } from '../engine/index.ts';
import { EVENTS_STREAM, eventSubject } from '../protocol/index.ts';
import { decodeEventMessage, type EventEntry } from './event-messages.ts';

/** Every event type the engine emits: the stream is asked where each of them stops. */
export const EVENT_TYPES = [
  'availability.changed',
  'reservation.at_risk',
  'reservation.expired',
  'pos.gap_skipped',
  'order.changed',
  'order.effect',
  'order.rejected',
  'order.line_dropped',
  'order.substituted',
  'order.eta',
  'order.late',
  'pick.queued',
  'pick_pack.recorded',
  'courier.changed',
  'courier.moved',
  'dispatch.offered',
  'dispatch.waiting',
  'escalation.raised',
] as const satisfies readonly EngineEvent['type'][];
type Unlisted = Exclude<EngineEvent['type'], (typeof EVENT_TYPES)[number]>;
/** Fails to compile when an event type is missing from EVENT_TYPES. */
const everyTypeListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyTypeListed;

/** How long start-up waits for the stream's answer about one event type. */
export const STORED_END_TIMEOUT_MS = 2_000;

/** The events one replayed command produced. */
export interface ReplayedCommand {
  seq: number;
  events: EngineEvent[];
}

/** The last event the stream holds of one type, or `unknown` when the stream could not be asked. */
export type StoredEnd = { seq: number; index: number; event: EngineEvent } | 'unknown';

/**
 * Per event type, the last event of the warehouse the stream holds (absent: none). Asked before the
 * warehouse opens, so nothing of it is published meanwhile. Never throws: a type the stream does not
 * answer about is `unknown`, and `log` hears why.
 */
export async function readStoredEnds(
  nc: NatsConnection,
  region: string,
  warehouseId: string,
  log?: (type: string, error: unknown) => void,
): Promise<Map<string, StoredEnd>> {
  const ends = new Map<string, StoredEnd>();
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { checkAPI: false, timeout: STORED_END_TIMEOUT_MS });
  } catch (error) {
    log?.('*', error);
    for (const type of EVENT_TYPES) ends.set(type, 'unknown');
    return ends;
  }
  await Promise.all(
    EVENT_TYPES.map(async (type) => {
      try {
        const stored = await jsm.streams.getMessage(EVENTS_STREAM, {
          last_by_subj: eventSubject(region, warehouseId, type),
        });
        if (stored === null) return;
        const last = decodeEventMessage(stored.data)?.at(-1);
        if (last !== undefined) ends.set(type, { seq: last.seq, index: last.index, event: last.event });
      } catch (error) {
        ends.set(type, 'unknown');
        log?.(type, error);
      }
    }),
  );
  return ends;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/**
 * The replayed events the stream lacks, as entries (each keeps its command's seq and its index
 * among that command's events), in order, given where each type stops in the stream
 * (`readStoredEnds`).
 */
export function unpublishedReplay(
  ends: ReadonlyMap<string, StoredEnd>,
  replayed: readonly ReplayedCommand[],
): EventEntry[] {
  if (replayed.length === 0) return [];
  const bySeq = new Map(replayed.map((r) => [r.seq, r.events]));
  /** Per type, the last replayed (seq, index) the stream already holds. */
  const held = new Map<string, { seq: number; index: number }>();
  for (const [type, end] of ends) {
    if (end === 'unknown') continue;
    const mine = bySeq.get(end.seq)?.[end.index];
    if (mine === undefined || mine.type !== type || !sameBytes(encode(mine), encode(end.event))) continue;
    held.set(type, { seq: end.seq, index: end.index });
  }
  const out: EventEntry[] = [];
  for (const { seq, events } of replayed) {
    for (let index = 0; index < events.length; index++) {
      const event = events[index] as EngineEvent;
      const h = held.get(event.type);
      if (h === undefined || seq > h.seq || (seq === h.seq && index > h.index)) out.push({ seq, index, event });
    }
  }
  return out;
}
