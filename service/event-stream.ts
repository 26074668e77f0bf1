/**
 * The JetStream stream that captures every region's committed events (`EVENTS_STREAM`, subjects
 * `darkstore.*.*.evt.>`): file storage, bounded by age and by size (oldest dropped first), and a
 * duplicate window inside which a second publication of the same `Nats-Msg-Id` is dropped (what a
 * region publishes again after a recovery or a broken connection keeps the ids it had). Owns the
 * stream's configuration and the message id it deduplicates on; it never publishes or consumes.
 * Uses only what nats-server 2.9 knows.
 */
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamInfo,
} from '@nats-io/jetstream';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import { EVENTS_STREAM, SUBJECT_ROOT } from '../protocol/index.ts';

/** Every event of every region and warehouse. */
export const EVENTS_SUBJECTS = `${SUBJECT_ROOT}.*.*.evt.>`;
/**
 * How long a message id is remembered: a republication inside it is dropped. Longer windows cost
 * server memory per message; consumers dedupe what falls outside it.
 */
export const EVENTS_DUPLICATE_WINDOW_MS = 2 * 60 * 1_000;
/** Events older than this are dropped: consumers that stay away longer resync from the warehouses. */
export const EVENTS_MAX_AGE_MS = 24 * 60 * 60 * 1_000;
/** The stream's size bound (bytes); past it the oldest events are dropped. */
export const EVENTS_MAX_BYTES = 2 * 1024 * 1024 * 1024;

/**
 * The id of a committed event, `<region>:<warehouse>:<seq>:<index>` (the command that produced it
 * and its place among that command's events): an event message's `Nats-Msg-Id` is its first event's.
 * A pure function of the event's identity, so a message packed the same way again gets the id of its
 * first publication and the stream drops it.
 * The region is part of it because the stream holds every region's events and warehouse ids repeat
 * across regions (and across simulator runs, each a new region). Region and warehouse ids are subject
 * tokens (`TOKEN_PATTERN`: no `:`), so the id is unambiguous.
 */
export function eventMessageId(region: string, warehouseId: string, seq: number, index: number): string {
  return `${region}:${warehouseId}:${seq}:${index}`;
}

export interface EventStreamLimits {
  maxAgeMs: number;
  maxBytes: number;
  duplicateWindowMs: number;
}

export const EVENT_STREAM_LIMITS: Readonly<EventStreamLimits> = {
  maxAgeMs: EVENTS_MAX_AGE_MS,
  maxBytes: EVENTS_MAX_BYTES,
  duplicateWindowMs: EVENTS_DUPLICATE_WINDOW_MS,
};

/**
 * Creates the events stream, or brings an existing one to this configuration (subjects, limits,
 * duplicate window). Idempotent: every region process calls it at start. Throws when JetStream is
 * not available or the configuration is refused (e.g. another stream holds these subjects).
 */
export async function ensureEventStream(
  nc: NatsConnection,
  limits: EventStreamLimits = EVENT_STREAM_LIMITS,
): Promise<StreamInfo> {
  if (limits.duplicateWindowMs > limits.maxAgeMs) throw new RangeError('the duplicate window exceeds the max age');
  const jsm = await jetstreamManager(nc);
  const config = {
    subjects: [EVENTS_SUBJECTS],
    description: 'darkstore committed events of every region and warehouse',
    max_age: nanos(limits.maxAgeMs),
    max_bytes: limits.maxBytes,
    max_msgs: -1,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(limits.duplicateWindowMs),
  };
  const existing = await jsm.streams.info(EVENTS_STREAM).catch(() => undefined);
  if (existing !== undefined) return jsm.streams.update(EVENTS_STREAM, config);
  try {
    return await jsm.streams.add({
      name: EVENTS_STREAM,
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      ...config,
    });
  } catch (error) {
    // Another region process created it meanwhile: bring it to this configuration.
    if (await jsm.streams.info(EVENTS_STREAM).catch(() => undefined)) return jsm.streams.update(EVENTS_STREAM, config);
    throw error;
  }
}

/** Whether the server says the events stream does not exist (false when it exists or cannot tell). */
export async function eventStreamMissing(nc: NatsConnection): Promise<boolean> {
  const jsm = await jetstreamManager(nc);
  return jsm.streams.info(EVENTS_STREAM).then(
    () => false,
    (error: unknown) => error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound,
  );
}
