/**
 * Publishes a region's committed events and sees every message acknowledged by the events stream.
 * Each commit's events go out packed by type (`eventMessages`), through the connection's outbox,
 * with a reply subject on this publisher's inbox naming the message; JetStream answers there once it
 * stored the message. Until then the message is kept (`UnackedEventMessages`, which decides what
 * goes out: in order per subject, a window at a time, and after a refusal, a missed answer or a
 * reconnection a probe with the oldest unanswered one before the rest goes again), and its
 * warehouse's snapshots stay below it (`checkpointLimit`), so a crash meanwhile republishes it from
 * the log's replay. Owns the inbox subscription, the resend timer and the connection watch.
 */
import {
  createInbox,
  headers,
  type Msg,
  type NatsConnection,
  type QueuedIterator,
  type Status,
  type Subscription,
} from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { MAX_PAYLOAD_DEFAULT } from '../protocol/index.ts';
import { EVENT_HEADERS_BYTES_MAX, EVENT_MESSAGE_BYTES_MAX, type EventEntry, eventMessages } from './event-messages.ts';
import { ACK_WAIT_MS, UNACKED_BYTES_MAX, type UnackedEventMessage, UnackedEventMessages } from './event-resend.ts';
import type { Outbox } from './outbox.ts';

/** How often unacknowledged messages are looked at for a resend. */
const RESEND_SWEEP_MS = 1_000;
/** Least time between two warnings about messages published again. */
const RESEND_LOG_EVERY_MS = 30_000;
const utf8 = new TextDecoder();

/** The publisher's state, as metrics read it. */
export interface EventPublicationStats {
  /** False from a disconnect until the reconnection. */
  connected: boolean;
  /** Event messages published and not yet acknowledged by the stream. */
  unacked: number;
  /** Since when the oldest of them waits (s; 0 when none). */
  oldestUnackedSeconds: number;
  /** Messages published again (no acknowledgement in time, or after a reconnection). */
  resent: number;
  /** Answers of the stream refusing a message (no stream, storage error). */
  refused: number;
  /** Messages dropped or not sent by warehouses that gave up past the byte bound (until reopened). */
  givenUp: number;
}

export class EventPublisher {
  private readonly unacked: UnackedEventMessages;
  private readonly inbox = createInbox();
  private readonly acks: Subscription;
  private readonly sweeper: NodeJS.Timeout;
  private lastResendLogMs = Number.NEGATIVE_INFINITY;
  /** Warehouses whose give-up was logged. */
  private readonly gaveUpLogged = new Set<string>();
  private readonly statuses: AsyncIterable<Status>;
  private stopped = false;
  /** Per warehouse, the highest seq whose events were handed in (or that its recovery reached). */
  private readonly handedThrough = new Map<string, number>();

  constructor(
    private readonly region: string,
    private readonly nc: NatsConnection,
    private readonly outbox: Outbox,
    private readonly logger: Logger,
    /** How long a message waits for the stream's acknowledgement before it goes again. */
    readonly ackWaitMs = ACK_WAIT_MS,
    unackedBytesMax = UNACKED_BYTES_MAX,
  ) {
    this.unacked = new UnackedEventMessages(ackWaitMs, unackedBytesMax);
    this.acks = nc.subscribe(`${this.inbox}.*`, {
      callback: (error, msg) => {
        if (error === null) this.answered(msg);
      },
    });
    this.sweeper = setInterval(() => this.sweep(), Math.min(RESEND_SWEEP_MS, ackWaitMs));
    this.sweeper.unref();
    this.statuses = nc.status();
    void this.watchConnection();
  }

  /**
   * Publishes events of a warehouse, packed by type; `replayed` marks a recovery's republication
   * from the log (not counted against the byte bound: `SentEventMessage.fromLog`). A message's
   * id is its first event's, `<region>:<warehouse>:<seq>:<index>`, unique across the regions that
   * share the stream.
   */
  publish(warehouseId: string, entries: readonly EventEntry[], replayed = false): void {
    if (this.stopped || entries.length === 0) return;
    // Below the server's payload limit too, with room for the headers.
    const maxPayload = this.nc.info?.max_payload ?? MAX_PAYLOAD_DEFAULT;
    const bytesMax = Math.min(EVENT_MESSAGE_BYTES_MAX, maxPayload - EVENT_HEADERS_BYTES_MAX);
    const atMs = performance.now();
    const firstSeq = (entries[0] as EventEntry).seq;
    const lastSeq = (entries[entries.length - 1] as EventEntry).seq;
    this.handed(warehouseId, lastSeq);
    for (const message of eventMessages(this.region, warehouseId, entries, { bytesMax })) {
      const { subject, body, id } = message;
      const now = this.unacked.record({ warehouseId, firstSeq, atMs, subject, body, id, replayed, fromLog: replayed });
      if (now !== undefined) this.send(now);
    }
    if (this.unacked.gaveUpCount > this.gaveUpLogged.size) this.logGiveUps();
  }

  private logGiveUps(): void {
    for (const warehouseId of this.unacked.gaveUp) {
      if (this.gaveUpLogged.has(warehouseId)) continue;
      this.gaveUpLogged.add(warehouseId);
      this.logger.error(
        { warehouseId, givenUp: this.unacked.givenUp },
        'events unacknowledged past the byte bound: the warehouse publishes no events until it is reopened (once the stream takes messages again, or by a restart), which publishes them from its log',
      );
    }
  }

  /** The warehouses that gave up publishing, until they are reopened (`forgetGiveUp`). */
  get gaveUp(): string[] {
    return this.unacked.gaveUp;
  }

  /** Whether the stream seems to take messages: connected, and no subject waiting on a probe. */
  get flowing(): boolean {
    return !this.stopped && !this.unacked.isDisconnected && !this.unacked.inTrouble;
  }

  /**
   * A warehouse that gave up is about to be reopened: its account starts over, from its recovery
   * (`resume`, then what it republishes from the log).
   */
  forgetGiveUp(warehouseId: string): void {
    this.unacked.forgetGiveUp(warehouseId);
    this.gaveUpLogged.delete(warehouseId);
    this.handedThrough.delete(warehouseId);
  }

  /**
   * A recovered warehouse's events through `seq` are in the stream, or handed in right after this
   * (the replayed ones past its mark): where its acknowledged mark starts.
   */
  resume(warehouseId: string, seq: number): void {
    this.handed(warehouseId, seq);
  }

  /**
   * The seq through which the stream acknowledged every event of the warehouse: below its oldest
   * unacknowledged message, and not past what was handed in (a commit's events are handed in when
   * it is durable, so a later command may have events that are not here yet).
   */
  ackedThrough(warehouseId: string): number {
    return Math.min(this.checkpointLimit(warehouseId), this.handedThrough.get(warehouseId) ?? 0);
  }

  private handed(warehouseId: string, seq: number): void {
    if (seq > (this.handedThrough.get(warehouseId) ?? 0)) this.handedThrough.set(warehouseId, seq);
  }

  /** The highest seq a snapshot of the warehouse may cover: none of its unacknowledged events. */
  checkpointLimit(warehouseId: string): number {
    return this.unacked.checkpointLimit(warehouseId);
  }

  stats(nowMs = performance.now()): EventPublicationStats {
    const oldest = this.unacked.oldestAtMs;
    const { resent, refused, givenUp } = this.unacked;
    return {
      connected: !this.unacked.isDisconnected,
      unacked: this.unacked.size,
      oldestUnackedSeconds: oldest === undefined ? 0 : (nowMs - oldest) / 1000,
      resent,
      refused,
      givenUp,
    };
  }

  /** Resolves once every published message is acknowledged, or after `waitMs`: whether they all are. */
  async settled(waitMs: number): Promise<boolean> {
    this.outbox.flush();
    const deadline = performance.now() + waitMs;
    while (this.unacked.size > 0 && !this.nc.isClosed() && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.unacked.size === 0;
  }

  /** Stops resending and listening for answers; what is unacknowledged stays in the warehouses' logs. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.sweeper);
    (this.statuses as Partial<QueuedIterator<Status>>).stop?.();
    this.acks.unsubscribe();
    this.unacked.clear();
  }

  private send(message: UnackedEventMessage): void {
    const h = headers();
    h.set('Nats-Msg-Id', message.id);
    if (message.replayed) h.set('Darkstore-Replayed', 'true');
    this.outbox.publish(message.subject, message.body, { headers: h, reply: `${this.inbox}.${message.serial}` });
  }

  /** The stream's answer to one message: `{stream, seq, duplicate?}`, or an error, or no responders. */
  private answered(msg: Msg): void {
    const serial = Number(msg.subject.slice(this.inbox.length + 1));
    let ack: { stream?: unknown; error?: { description?: unknown } } | undefined;
    try {
      ack = msg.data.length > 0 ? (JSON.parse(utf8.decode(msg.data)) as typeof ack) : undefined;
    } catch {
      ack = undefined;
    }
    if (ack !== undefined && ack.error === undefined && typeof ack.stream === 'string') {
      const next = this.unacked.ack(serial, performance.now());
      if (!this.stopped) for (const m of next) this.send(m);
      return;
    }
    if (this.unacked.refused === 0 || this.unacked.refused % 1000 === 0) {
      const reason = ack?.error?.description ?? (msg.headers?.code === 503 ? 'no responders' : 'no acknowledgement');
      this.logger.warn(
        { reason, refused: this.unacked.refused + 1 },
        'event message refused by the stream: sent again later',
      );
    }
    this.unacked.refuse(serial);
  }

  /** Probes with what waited too long for its answer. */
  private sweep(): void {
    if (this.stopped || this.nc.isClosed()) return;
    const now = performance.now();
    const again = this.unacked.due(now);
    for (const m of again) this.send(m);
    if (again.length > 0 && now - this.lastResendLogMs >= RESEND_LOG_EVERY_MS) {
      this.lastResendLogMs = now;
      this.logger.warn(
        { messages: again.length, unacked: this.unacked.size },
        'event messages not acknowledged in time: published again',
      );
    }
  }

  /** Follows the connection: when it comes back after a break, every subject with messages out probes. */
  private async watchConnection(): Promise<void> {
    try {
      for await (const status of this.statuses) {
        if (this.stopped) break;
        if (status.type === 'disconnect') {
          if (!this.unacked.isDisconnected) {
            this.logger.warn('connection to NATS lost: events kept until the stream acknowledges them');
          }
          this.unacked.disconnected(performance.now());
        } else if (status.type === 'reconnect') {
          const again = this.unacked.reconnected(performance.now());
          for (const m of again) this.send(m);
          this.logger.warn(
            { messages: again.length, givenUp: this.unacked.givenUp },
            'connection back: unacknowledged events published again',
          );
        }
      }
    } catch (error) {
      this.logger.error({ err: error }, 'connection status no longer followed: events are sent again on a timer only');
    }
  }
}
