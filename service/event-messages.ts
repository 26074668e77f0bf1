/**
 * How committed events travel as messages: the events of one commit are packed by type, so a
 * message on `darkstore.<region>.<warehouse>.evt.<type>` carries every event of that type the commit
 * produced (up to EVENTS_PER_MESSAGE_MAX), in order. Owns the packing rule, the message body
 * (`{ warehouseId, events: [{ seq, index, event }] }`), its message id (the first event's) and the
 * decoder consumers use to unpack a message into one envelope per event. Pure: it never publishes.
 *
 * The packing rule keeps a command's events of one type together (a message ends only between
 * commands, unless one command alone has more than the bound, which is then cut every
 * EVENTS_PER_MESSAGE_MAX of its events from its first). So a message whose first event is command
 * `seq`'s first event of its type holds all of that command's events of the type, and packing one
 * command's events alone (what a recovery republishes) gives a message with that same id: the
 * stream's duplicate window drops it only when it holds nothing new.
 */
import { decodeUntrusted, type EngineEvent, encode } from '../engine/index.ts';
import { eventSubject } from '../protocol/index.ts';
import { eventMessageId } from './event-stream.ts';

/** Most events in one message. */
export const EVENTS_PER_MESSAGE_MAX = 256;
/**
 * Largest message body worth sending whole: a larger one is cut in two (between commands, or in
 * the middle of a single command's events) until the pieces fit or hold one event. Far below NATS's
 * payload limit and the consumers' decoding bound (COMMAND_BYTES_MAX).
 */
export const EVENT_MESSAGE_BYTES_MAX = 64 * 1024;
/** Room left for an event message's headers under a server's `max_payload` smaller than the above. */
export const EVENT_HEADERS_BYTES_MAX = 1024;

/** One event in a message: the command that produced it and its place among that command's events. */
export interface EventEntry {
  seq: number;
  index: number;
  event: EngineEvent;
}

/** The body of an event message (msgpack). */
export interface EventMessageBody {
  warehouseId: string;
  events: EventEntry[];
}

/** One committed event as a consumer's handler gets it. */
export interface EventEnvelope {
  warehouseId: string;
  /** The command that produced the event. */
  seq: number;
  /** The event's place among that command's events. */
  index: number;
  event: EngineEvent;
}

/** A message to publish: every entry has the event type `type`. */
export interface PackedEvents {
  type: string;
  entries: EventEntry[];
}

/**
 * A commit's events as entries: `seqs[i]` is the command that produced `events[i]`, and a
 * command's events are consecutive.
 */
export function entriesOf(seqs: readonly number[], events: readonly EngineEvent[]): EventEntry[] {
  const out: EventEntry[] = new Array(events.length);
  let index = 0;
  for (let i = 0; i < events.length; i++) {
    const seq = seqs[i] as number;
    index = i > 0 && seqs[i - 1] === seq ? index + 1 : 0;
    out[i] = { seq, index, event: events[i] as EngineEvent };
  }
  return out;
}

/** Packs entries (in command order) into messages by type, in the order each type first appears. */
export function packEvents(entries: readonly EventEntry[], perMessageMax = EVENTS_PER_MESSAGE_MAX): PackedEvents[] {
  const open = new Map<string, PackedEvents>();
  const out: PackedEvents[] = [];
  /** Entries of the current command, by type, not yet placed. */
  const pendingByType = new Map<string, EventEntry[]>();
  const place = (type: string, mine: EventEntry[]): void => {
    if (mine.length > perMessageMax) {
      // One command with more events of a type than a message holds: cut from its first event.
      open.delete(type);
      for (let from = 0; from < mine.length; from += perMessageMax) {
        out.push({ type, entries: mine.slice(from, from + perMessageMax) });
      }
      return;
    }
    let message = open.get(type);
    if (message === undefined || message.entries.length + mine.length > perMessageMax) {
      message = { type, entries: [] };
      out.push(message);
      open.set(type, message);
    }
    for (const entry of mine) message.entries.push(entry);
  };
  const placeCommand = (): void => {
    for (const [type, mine] of pendingByType) place(type, mine);
    pendingByType.clear();
  };
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as EventEntry;
    if (i > 0 && (entries[i - 1] as EventEntry).seq !== entry.seq) placeCommand();
    const mine = pendingByType.get(entry.event.type);
    if (mine === undefined) pendingByType.set(entry.event.type, [entry]);
    else mine.push(entry);
  }
  placeCommand();
  return out;
}

/** A message ready to publish. */
export interface EventMessage {
  subject: string;
  /** `Nats-Msg-Id`: the id of its first event (`eventMessageId`). */
  id: string;
  body: Uint8Array;
  /** Events it carries. */
  events: number;
}

/** Where to cut entries too large for one message: the command boundary nearest the middle. */
function cutPoint(entries: readonly EventEntry[]): number {
  const middle = entries.length / 2;
  let best = -1;
  for (let i = 1; i < entries.length; i++) {
    if ((entries[i] as EventEntry).seq === (entries[i - 1] as EventEntry).seq) continue;
    if (best === -1 || Math.abs(i - middle) < Math.abs(best - middle)) best = i;
  }
  return best === -1 ? Math.ceil(middle) : best;
}

/**
 * Entries as the messages to publish, encoded: `packEvents`, then any body over `bytesMax`
 * (default EVENT_MESSAGE_BYTES_MAX) cut in two (`cutPoint`) until it fits or holds a single event. Cutting depends only on the entries, so a
 * command packed alone is cut the way it was inside a commit.
 */
export function eventMessages(
  region: string,
  warehouseId: string,
  entries: readonly EventEntry[],
  limits: { bytesMax?: number; perMessageMax?: number } = {},
): EventMessage[] {
  const bytesMax = limits.bytesMax ?? EVENT_MESSAGE_BYTES_MAX;
  const out: EventMessage[] = [];
  const emit = (type: string, entries: EventEntry[]): void => {
    const body = encode({ warehouseId, events: entries } satisfies EventMessageBody);
    if (body.byteLength > bytesMax && entries.length > 1) {
      const cut = cutPoint(entries);
      emit(type, entries.slice(0, cut));
      emit(type, entries.slice(cut));
      return;
    }
    const first = entries[0] as EventEntry;
    out.push({
      subject: eventSubject(region, warehouseId, type),
      id: eventMessageId(region, warehouseId, first.seq, first.index),
      body,
      events: entries.length,
    });
  };
  for (const packed of packEvents(entries, limits.perMessageMax)) emit(packed.type, packed.entries);
  return out;
}

function isEntry(value: unknown): value is EventEntry {
  if (typeof value !== 'object' || value === null) return false;
  const o = value as Record<string, unknown>;
  const event = o.event as { type?: unknown } | null | undefined;
  return (
    typeof o.seq === 'number' &&
    typeof o.index === 'number' &&
    typeof event === 'object' &&
    event !== null &&
    typeof event.type === 'string'
  );
}

/**
 * Decodes an event message into one envelope per event, in order; undefined when it is not an
 * event message (not msgpack, no warehouse id, an entry without seq, index or typed event, or no
 * entries). Never throws.
 */
export function decodeEventMessage(data: Uint8Array): EventEnvelope[] | undefined {
  let value: unknown;
  try {
    value = decodeUntrusted(data);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { warehouseId, events } = value as Record<string, unknown>;
  if (typeof warehouseId !== 'string' || !Array.isArray(events) || events.length === 0) return undefined;
  if (!events.every(isEntry)) return undefined;
  return events.map((e: EventEntry) => ({ warehouseId, seq: e.seq, index: e.index, event: e.event }));
}
