/**
 * Which of the events a recovery replays the events stream still lacks. A region republishes what
 * its recovery replays (a crash may fall between a commit and its publication); most of it reached
 * the stream already. Messages of one connection are stored in the order they were sent, so per
 * event type the stream's last message of the warehouse says how far that type got: replayed
 * events of the type up to its last event are left out. That last event must be the replayed event
 * at the same place (same command, same index, same bytes): otherwise the stream's message comes
 * from an earlier life of a warehouse of the same region and id (its data started over), and every
 * replayed event of the type goes out. A type the stream cannot be asked about goes out whole too;
 * the duplicate window still drops whatever matches a stored message id. Reads the stream, never
 * writes to it.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import { type EngineEvent, encode } from '../engine/index.ts';
import { EVENTS_STREAM, eventSubject } from '../protocol/index.ts';
import { decodeEventMessage, type EventEntry } from './event-messages.ts';

/** The events one replayed command produced. */
export interface ReplayedCommand {
  seq: number;
  events: EngineEvent[];
}

/** Where the stream's events of one type stop: the last stored event's command and index. */
interface StoredEnd {
  seq: number;
  index: number;
  event: EngineEvent;
}

async function storedEnd(
  jsm: JetStreamManager,
  region: string,
  warehouseId: string,
  type: string,
): Promise<StoredEnd | undefined> {
  const stored = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: eventSubject(region, warehouseId, type) });
  if (stored === null) return undefined;
  const envelopes = decodeEventMessage(stored.data);
  const last = envelopes?.[envelopes.length - 1];
  return last === undefined ? undefined : { seq: last.seq, index: last.index, event: last.event };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The replayed events the stream lacks, as entries (each keeps its command's seq and its index
 * among that command's events), in order. `log` hears of a type whose end could not be read.
 */
export async function unpublishedReplay(
  jsm: JetStreamManager,
  region: string,
  warehouseId: string,
  replayed: readonly ReplayedCommand[],
  log?: (type: string, error: unknown) => void,
): Promise<EventEntry[]> {
  if (replayed.length === 0) return [];
  const bySeq = new Map(replayed.map((r) => [r.seq, r.events]));
  const types = new Set<string>();
  for (const r of replayed) for (const e of r.events) types.add(e.type);
  /** Per type, the last replayed (seq, index) the stream already holds. */
  const held = new Map<string, { seq: number; index: number }>();
  await Promise.all(
    [...types].map(async (type) => {
      let end: StoredEnd | undefined;
      try {
        end = await storedEnd(jsm, region, warehouseId, type);
      } catch (error) {
        log?.(type, error);
        return;
      }
      if (end === undefined) return;
      const mine = bySeq.get(end.seq)?.[end.index];
      if (mine === undefined || mine.type !== type || !sameBytes(encode(mine), encode(end.event))) return;
      held.set(type, { seq: end.seq, index: end.index });
    }),
  );
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
