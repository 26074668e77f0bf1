/**
 * Following one warehouse's availability feed: the shopper-facing stream of `{ sku, available,
 * version }` per change. The feed is the warehouse's `availability.changed` events, on
 * `darkstore.<region>.<warehouse>.evt.availability.changed` (msgpack `{ warehouseId, events: [{ seq,
 * index, event: { type, sku, available, version } }] }`, a commit's changes in one message, captured
 * by the events stream). A follower feeds them
 * from an event consumer into a `VersionedView` (newer versions win, so late, repeated or reordered
 * events do no harm) and resyncs the view from the warehouse's `changes` query at start, every
 * resync interval and whenever its consumer had to be created again: events that never reached the
 * stream (published while it was unavailable) or left it (retention) are made up for, and the view's
 * staleness stays bounded by the interval while the warehouse answers. Never writes to a warehouse.
 */
import { type NatsConnection, nuid } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { decode, encode, type Result, unavailable } from '../engine/index.ts';
import { eventSubject, querySubject } from '../protocol/index.ts';
import { type EventConsumer, type EventConsumerStats, startEventConsumer } from './event-consumer.ts';
import type { ChangesAnswer, VersionedAvailability, VersionedView } from './versioned-view.ts';

/** How often a follower resyncs from the `changes` query (0 turns it off). */
export const AVAILABILITY_RESYNC_INTERVAL_MS = 10_000;
/** How long a `changes` query may take. */
export const CHANGES_TIMEOUT_MS = 2_000;

/** The availability feed of a warehouse (`*` for every warehouse of the region). */
export function availabilitySubject(region: string, warehouseId = '*'): string {
  return eventSubject(region, warehouseId, 'availability.changed');
}

function isChangesAnswer(value: unknown): value is ChangesAnswer {
  if (typeof value !== 'object' || value === null) return false;
  const { items, version } = value as { items?: unknown; version?: unknown };
  return (
    typeof version === 'number' &&
    Array.isArray(items) &&
    items.every((i: Partial<VersionedAvailability> | null) => {
      return (
        typeof i === 'object' &&
        i !== null &&
        typeof i.sku === 'string' &&
        typeof i.available === 'number' &&
        typeof i.version === 'number'
      );
    })
  );
}

/**
 * Asks a warehouse what changed after `sinceVersion` (its `changes` query). Answers the warehouse's
 * result, or UNAVAILABLE when it does not answer in time. Never throws.
 */
/** Most pages one resync reads (CHANGES_PAGE_MAX SKUs each): a warehouse's SKU bound with room to spare. */
const RESYNC_PAGES_MAX = 64;

export async function queryChanges(
  nc: NatsConnection,
  region: string,
  warehouseId: string,
  sinceVersion: number,
  timeoutMs = CHANGES_TIMEOUT_MS,
): Promise<Result<ChangesAnswer>> {
  try {
    const reply = await nc.request(querySubject(region, warehouseId), encode({ type: 'changes', sinceVersion }), {
      timeout: timeoutMs,
    });
    // The answer may be larger than the untrusted decoder's bound (a full catalog); NATS's payload
    // limit bounds it instead.
    const result = decode(reply.data) as Partial<Result<unknown>> | null;
    if (typeof result === 'object' && result !== null) {
      if (result.ok === true && isChangesAnswer(result.value)) return { ok: true, value: result.value };
      if (result.ok === false && typeof result.error?.code === 'string') return { ok: false, error: result.error };
    }
    return { ok: false, error: unavailable(`warehouse ${warehouseId} answered changes with an unknown shape`) };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, error: unavailable(`warehouse ${warehouseId} did not answer changes: ${why}`) };
  }
}

export interface AvailabilityFollowerOptions {
  region: string;
  view: VersionedView;
  /**
   * A durable consumer's name: the follower resumes where it stopped. Without one an ephemeral
   * consumer with a unique name follows for this process only (right for an in-memory view, which
   * resyncs at start anyway).
   */
  durable?: string;
  /** Where a consumer created now starts (default `new`: the resync covers the past). */
  deliver?: 'all' | 'new';
  /** Resync when the consumer starts (default true). */
  resyncOnStart?: boolean;
  resyncIntervalMs?: number;
  ackWaitMs?: number;
  clock?: () => number;
  logger?: Logger;
}

export class AvailabilityFollower {
  private consumer: EventConsumer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private resyncing: Promise<boolean> | undefined;
  private readonly clock: () => number;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: AvailabilityFollowerOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  get view(): VersionedView {
    return this.options.view;
  }

  get consumerName(): string | undefined {
    return this.consumer?.name;
  }

  get consumerStats(): EventConsumerStats | undefined {
    return this.consumer?.stats;
  }

  /** Starts following: the consumer exists and the first resync was tried when this resolves. */
  static async start(nc: NatsConnection, options: AvailabilityFollowerOptions): Promise<AvailabilityFollower> {
    const follower = new AvailabilityFollower(nc, options);
    const { region, view } = options;
    const name = options.durable ?? `availability_${region}_${view.warehouseId}_${nuid.next()}`;
    const consumerOptions = {
      name,
      durable: options.durable !== undefined,
      // An in-memory follower repairs gaps by resyncing: it needs no acknowledgements (no ack per event).
      acks: options.durable === undefined ? ('none' as const) : ('explicit' as const),
      filterSubject: availabilitySubject(region, view.warehouseId),
      deliver: options.deliver ?? 'new',
      handle: follower.handle,
      ...(options.ackWaitMs === undefined ? {} : { ackWaitMs: options.ackWaitMs }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    };
    follower.consumer = await startEventConsumer(
      nc,
      options.resyncOnStart === false
        ? consumerOptions
        : {
            ...consumerOptions,
            onStart: async () => {
              await follower.resync();
            },
          },
    );
    const intervalMs = options.resyncIntervalMs ?? AVAILABILITY_RESYNC_INTERVAL_MS;
    if (intervalMs > 0) {
      follower.timer = setInterval(() => void follower.resync(), intervalMs);
      follower.timer.unref();
    }
    return follower;
  }

  /**
   * Merges what changed since the view's watermark; when the warehouse's version went back (it
   * started over from nothing), clears the view and resyncs from 0. Returns whether it succeeded.
   * One at a time: a call during a resync waits for that one.
   */
  resync(): Promise<boolean> {
    if (this.resyncing === undefined) {
      this.resyncing = this.resyncNow().finally(() => {
        this.resyncing = undefined;
      });
    }
    return this.resyncing;
  }

  private async resyncNow(): Promise<boolean> {
    const { view, region } = this.options;
    for (let attempt = 0; attempt < 2; attempt++) {
      const askedAtMs = this.clock();
      // The warehouse answers a page at a time (CHANGES_PAGE_MAX SKUs): ask again from the version it gave.
      let answer = await queryChanges(this.nc, region, view.warehouseId, view.syncedVersion);
      let accepted = true;
      for (let page = 0; answer.ok; page++) {
        const more = (answer.value as { more?: boolean }).more === true;
        accepted = view.resync(answer.value, askedAtMs, !more);
        if (!accepted || !more || page >= RESYNC_PAGES_MAX) break;
        answer = await queryChanges(this.nc, region, view.warehouseId, view.syncedVersion);
      }
      if (!answer.ok) {
        this.options.logger?.warn({ warehouseId: view.warehouseId, error: answer.error.message }, 'resync failed');
        return false;
      }
      if (accepted) return true;
      this.options.logger?.warn({ warehouseId: view.warehouseId }, 'warehouse version went back: full resync');
      view.clear();
    }
    return false;
  }

  private readonly handle = (envelope: { warehouseId: string; event: { type: string } }): void => {
    const { view } = this.options;
    const event = envelope.event as Partial<VersionedAvailability> & { type: string };
    if (event.type !== 'availability.changed' || envelope.warehouseId !== view.warehouseId) return;
    if (typeof event.sku !== 'string' || typeof event.available !== 'number' || typeof event.version !== 'number') {
      return;
    }
    view.apply({ sku: event.sku, available: event.available, version: event.version });
  };

  /** Stops following (the view keeps what it holds). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.consumer?.stop();
    await this.resyncing;
  }
}

/** Starts following a warehouse's availability feed into `options.view`. */
export function followAvailability(
  nc: NatsConnection,
  options: AvailabilityFollowerOptions,
): Promise<AvailabilityFollower> {
  return AvailabilityFollower.start(nc, options);
}
