/**
 * A JetStream consumer of darkstore's committed events (stream `EVENTS_STREAM`), for the programs
 * that follow them: notifications, read models, analytics. A message carries a commit's events of
 * one type (`event-messages.ts`); each event reaches the handler at least once, in order, and the
 * message is acknowledged only after the handler went through all of them. When the handler throws
 * on any of them, the rest are still handled and the whole message comes again after a delay, up
 * to a bounded number of deliveries. Handlers must therefore be idempotent (the versioned view and
 * the notifier are). A consumer that disappears (deleted, or an ephemeral
 * one expired while the client was away) is created again and `onStart` runs again, so a read model
 * resyncs over what it may have missed. Memory is bounded: at most CONSUMER_BUFFER_MAX messages are
 * held client-side and at most `concurrency` handled at once; `sequenceBy` keeps the events of one
 * key (an order) in order across messages handled at once. It never publishes events.
 *
 * Durable or ephemeral: a durable consumer (a stable name) resumes where it stopped and, used by
 * several processes at once, shares the work among them (each event goes to one of them); an
 * ephemeral consumer (a unique name, removed by the server after EPHEMERAL_INACTIVE_MS without a
 * client) gives one process every event, which is what an in-memory read model wants.
 */
import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { EVENTS_STREAM } from '../protocol/index.ts';
import { decodeEventMessage, type EventEnvelope } from './event-messages.ts';
import { KeyedTurns } from './keyed-turns.ts';
import { type Outbox, outboxOf } from './outbox.ts';

/** The acknowledgement JetStream takes on a message's reply subject (what `JsMsg.ack()` sends). */
const ACK = new TextEncoder().encode('+ACK');

/** Messages a consumer holds client-side before handling them. */
export const CONSUMER_BUFFER_MAX = 256;
/** Messages delivered and not yet acknowledged, per consumer (all its clients together). */
export const CONSUMER_ACK_PENDING_MAX = 1_000;
/** Most handlers running at once in one consumer. */
export const CONSUMER_CONCURRENCY_MAX = 256;
/** How long a delivered message may stay unacknowledged before the server delivers it again. */
export const CONSUMER_ACK_WAIT_MS = 30_000;
/** Deliveries of one message before a handler that keeps failing on an event of it gives up (counted and logged). */
export const CONSUMER_DELIVERIES_MAX = 10;
/** Delay before a failed event is delivered again the first time; doubled at each delivery after. */
export const CONSUMER_RETRY_DELAY_MS = 1_000;
/** Longest delay before a failed event is delivered again. */
export const CONSUMER_RETRY_DELAY_MAX_MS = 5 * 60_000;
/** An ephemeral consumer without a client for this long is removed by the server. */
export const EPHEMERAL_INACTIVE_MS = 5 * 60 * 1_000;
/** Wait before creating a lost consumer again; doubled after each failed attempt, up to the max. */
export const CONSUMER_RESTART_DELAY_MS = 1_000;
export const CONSUMER_RESTART_DELAY_MAX_MS = 30_000;

/** Facts about one delivery of an event (of the message that carries it). */
export interface Delivery {
  subject: string;
  streamSeq: number;
  /** 1 for the first delivery. */
  deliveryCount: number;
  /** Published again by a region after its recovery or a broken connection (the first may have arrived). */
  replayed: boolean;
  /** Messages left in the consumer after this one when it was delivered. */
  pending: number;
}

export interface EventConsumerOptions {
  /** The consumer's name: a token of letters, digits, `_` and `-`. */
  name: string;
  durable: boolean;
  /** The events taken, e.g. `eventSubject(region, '*', 'order.>')`. */
  filterSubject: string;
  /** Where a consumer created now starts: every event the stream holds, or the ones to come. */
  deliver: 'all' | 'new';
  handle(envelope: EventEnvelope, delivery: Delivery): void | Promise<void>;
  /**
   * Events with the same key (e.g. an order id) reach `handle` one after another, in the order
   * their messages were taken, however many messages are handled at once (`concurrency`); events
   * without a key, or of different keys, do not wait for each other. An event delivered again after
   * a failure takes its turn anew, behind what was taken since.
   */
  sequenceBy?: (envelope: EventEnvelope) => string | undefined;
  /**
   * `none`: the server does not wait for acknowledgements and never redelivers (no ack traffic at
   * all). Only for a follower that repairs gaps another way (an in-memory view that resyncs).
   */
  acks?: 'explicit' | 'none';
  /** Runs once the consumer exists, before its first message, and again after it was recreated. */
  onStart?: () => Promise<void>;
  concurrency?: number;
  ackWaitMs?: number;
  deliveriesMax?: number;
  /** Delay before a failed event comes again the first time (doubled at each delivery after). */
  retryDelayMs?: number;
  retryDelayMaxMs?: number;
  logger?: Logger;
}

export interface EventConsumerStats {
  /** Handler calls that succeeded (an event of a message that comes again is counted again). */
  handled: number;
  /** Handler calls that failed (the message comes again, with every event it carries). */
  failed: number;
  /** Events whose handler still failed at the message's last delivery (CONSUMER_DELIVERIES_MAX). */
  abandoned: number;
  /** Messages that are not event messages (terminated: never delivered again). */
  malformed: number;
  /** Times the consumer was lost and created again. */
  restarts: number;
}

function consumerConfig(options: EventConsumerOptions): Partial<ConsumerConfig> {
  const config: Partial<ConsumerConfig> = {
    ack_policy: AckPolicy.Explicit,
    deliver_policy: options.deliver === 'all' ? DeliverPolicy.All : DeliverPolicy.New,
    filter_subject: options.filterSubject,
    ack_wait: nanos(options.ackWaitMs ?? CONSUMER_ACK_WAIT_MS),
    max_deliver: options.deliveriesMax ?? CONSUMER_DELIVERIES_MAX,
    max_ack_pending: CONSUMER_ACK_PENDING_MAX,
  };
  if (options.acks === 'none') {
    config.ack_policy = AckPolicy.None;
    delete config.ack_wait;
    delete config.max_deliver;
    delete config.max_ack_pending;
  }
  if (options.durable) {
    config.durable_name = options.name;
  } else {
    config.name = options.name;
    config.inactive_threshold = nanos(EPHEMERAL_INACTIVE_MS);
  }
  return config;
}

/** A running event consumer; `startEventConsumer` makes one. */
export class EventConsumer {
  readonly stats: EventConsumerStats = { handled: 0, failed: 0, abandoned: 0, malformed: 0, restarts: 0 };
  private stopped = false;
  private messages: ConsumerMessages | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** The turns of `sequenceBy`'s keys. */
  private readonly turns = new KeyedTurns();
  private loop: Promise<void> = Promise.resolve();
  /** Ends the wait before a restart early (on stop). */
  private wake: (() => void) | undefined;
  /** Stream times (ns) of messages delivered and not settled yet (acknowledged or given up), by stream seq. */
  private readonly unsettled = new Map<number, bigint>();
  /** Stream time (ns) of the newest message delivered, or of the server when the consumer last opened. */
  private seenNanos: bigint | undefined;

  private constructor(
    private readonly options: EventConsumerOptions,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    /** Acknowledgements leave with the turn's other messages: one socket write, not one per event. */
    private readonly outbox: Outbox,
  ) {
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > CONSUMER_CONCURRENCY_MAX) {
      throw new RangeError(`concurrency must be 1 to ${CONSUMER_CONCURRENCY_MAX}`);
    }
  }

  get name(): string {
    return this.options.name;
  }

  /** Creates the consumer if needed, runs `onStart`, then handles events until `stop`. */
  static async start(nc: NatsConnection, options: EventConsumerOptions): Promise<EventConsumer> {
    const consumer = new EventConsumer(
      options,
      await jetstreamManager(nc),
      jetstream(nc),
      outboxOf(nc, options.logger),
    );
    const messages = await consumer.open();
    consumer.loop = consumer.run(messages);
    return consumer;
  }

  /** Stops taking events: what is held and not yet handled goes back to the server at once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
    await this.messages?.close();
    await this.loop;
  }

  /**
   * Where a `deliver: 'new'` consumer made again must start (ns of stream time): at the oldest
   * message it was given and did not settle, else at the newest it saw (or when it last opened).
   * Events stored while it was gone (deleted, or lost with a deleted stream) are then delivered,
   * not skipped; the few seen again are what at-least-once allows. Undefined before the first open.
   */
  private resumeNanos(): bigint | undefined {
    let oldest: bigint | undefined;
    for (const nanos of this.unsettled.values()) if (oldest === undefined || nanos < oldest) oldest = nanos;
    return oldest ?? this.seenNanos;
  }

  private async open(): Promise<ConsumerMessages | undefined> {
    const { name, filterSubject } = this.options;
    const existing = await this.jsm.consumers.info(EVENTS_STREAM, name).catch(() => undefined);
    let info = existing;
    if (existing === undefined) {
      const config = consumerConfig(this.options);
      // Only a consumer that acknowledges owes every event; one without acks (a view that resyncs
      // from the warehouse at each start) starts at new events, as before.
      const resume = this.options.deliver === 'new' && this.options.acks !== 'none' ? this.resumeNanos() : undefined;
      if (resume !== undefined) {
        config.deliver_policy = DeliverPolicy.StartTime;
        // Milliseconds, rounded down: the start includes the message it names.
        config.opt_start_time = new Date(Number(resume / 1_000_000n)).toISOString();
        // Everything from there comes again: what was unsettled before is behind the new start.
        this.unsettled.clear();
        this.seenNanos = resume;
      }
      info = await this.jsm.consumers.add(EVENTS_STREAM, config);
    } else if (existing.config.filter_subject !== filterSubject) {
      // A name reused for other events: taking them would ack what another program needs.
      throw new Error(`consumer ${name} exists for ${existing.config.filter_subject}, not ${filterSubject}`);
    }
    // Until a message is seen, a consumer made again starts from when this one was there: the
    // server's time now (servers before 2.10 do not say it), or the creation of the one just made.
    const serverTime = Date.parse(info?.ts ?? (existing === undefined ? info?.created : undefined) ?? '');
    if (this.seenNanos === undefined && Number.isFinite(serverTime)) this.seenNanos = BigInt(serverTime) * 1_000_000n;
    await this.options.onStart?.();
    const consumer = await this.js.consumers.get(EVENTS_STREAM, name);
    const messages = await consumer.consume({ max_messages: CONSUMER_BUFFER_MAX });
    if (this.stopped) {
      await messages.close();
      return undefined;
    }
    this.messages = messages;
    void this.watch(messages);
    return messages;
  }

  /** Closes the messages when the consumer is gone, so that `run` creates it again. */
  private async watch(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const status of messages.status()) {
        if (status.type === 'consumer_deleted' || status.type === 'consumer_not_found') {
          this.options.logger?.warn({ consumer: this.name, status: status.type }, 'event consumer lost');
          await messages.close();
          return;
        }
      }
    } catch {
      // The status iterator ends with the messages.
    }
  }

  private async run(first: ConsumerMessages | undefined): Promise<void> {
    let messages = first;
    let delayMs = CONSUMER_RESTART_DELAY_MS;
    while (!this.stopped) {
      if (messages === undefined) {
        await this.pause(delayMs);
        if (this.stopped) break;
        messages = await this.open().catch((error: unknown) => {
          this.options.logger?.warn({ consumer: this.name, err: error, delayMs }, 'event consumer not reopened');
          return undefined;
        });
        delayMs =
          messages === undefined ? Math.min(2 * delayMs, CONSUMER_RESTART_DELAY_MAX_MS) : CONSUMER_RESTART_DELAY_MS;
        continue;
      }
      await this.take(messages);
      messages = undefined;
      if (!this.stopped) this.stats.restarts++;
    }
    await Promise.allSettled(this.inFlight);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async take(messages: ConsumerMessages): Promise<void> {
    const concurrency = this.options.concurrency ?? 1;
    try {
      for await (const msg of messages) {
        if (this.stopped) {
          msg.nak();
          continue;
        }
        while (this.inFlight.size >= concurrency) await Promise.race(this.inFlight);
        const handling: Promise<void> = this.process(msg)
          .catch((error) => {
            // A bug, not an event's failure: never an unhandled rejection that ends the process.
            this.options.logger?.error({ consumer: this.name, err: error }, 'event message not handled');
          })
          .finally(() => this.inFlight.delete(handling));
        this.inFlight.add(handling);
      }
    } catch (error) {
      this.options.logger?.warn({ consumer: this.name, err: error }, 'event consumer interrupted');
    }
    await Promise.allSettled(this.inFlight);
  }

  /** Acknowledges through the outbox (the reply subject `JsMsg.ack()` would answer on). */
  private ack(msg: JsMsg): void {
    const reply = (msg as { reply?: unknown }).reply;
    if (typeof reply === 'string' && reply !== '') this.outbox.publish(reply, ACK);
    else msg.ack();
  }

  /** The event's `sequenceBy` key; none when there is no `sequenceBy` or it throws (logged). */
  private sequenceKey(envelope: EventEnvelope): string | undefined {
    try {
      return this.options.sequenceBy?.(envelope);
    } catch (error) {
      this.options.logger?.warn({ consumer: this.name, err: error }, 'sequenceBy failed: the event takes no turn');
      return undefined;
    }
  }

  private async process(msg: JsMsg): Promise<void> {
    const nanos = msg.timestampNanos;
    if (this.seenNanos === undefined || nanos > this.seenNanos) this.seenNanos = nanos;
    this.unsettled.set(msg.seq, nanos);
    // Settled unless its handler failed and it comes again (nak): then a consumer made again starts at it.
    let settled = true;
    try {
      settled = await this.handleMessage(msg);
    } finally {
      if (settled) this.unsettled.delete(msg.seq);
    }
  }

  /** Handles one message's events; false when it was sent back to come again (not settled). */
  private async handleMessage(msg: JsMsg): Promise<boolean> {
    const envelopes = decodeEventMessage(msg.data);
    const acking = this.options.acks !== 'none';
    if (envelopes === undefined) {
      this.stats.malformed++;
      this.options.logger?.warn({ consumer: this.name, subject: msg.subject, seq: msg.seq }, 'malformed event');
      if (acking) msg.term();
      return true;
    }
    const delivery: Delivery = {
      subject: msg.subject,
      streamSeq: msg.seq,
      deliveryCount: msg.info.deliveryCount,
      replayed: msg.headers?.get('Darkstore-Replayed') === 'true',
      pending: msg.info.pending,
    };
    // Every event, in order, even after one failed (one bad event must not hold back the others).
    // A failure sends the whole message back: the events that succeeded are handled again, which
    // idempotent handlers allow. A long message tells the server it is still being worked on.
    const ackWaitMs = this.options.ackWaitMs ?? CONSUMER_ACK_WAIT_MS;
    // Taken in stream order: each keyed event enrolls for its turn before this call first waits.
    const turns =
      this.options.sequenceBy === undefined
        ? undefined
        : envelopes.map((envelope) => {
            const key = this.sequenceKey(envelope);
            return key === undefined ? undefined : this.turns.enroll(key);
          });
    // Armed at the first handler that waits: a message handled synchronously needs no timer.
    let progress: NodeJS.Timeout | undefined;
    let failures = 0;
    let firstError: unknown;
    try {
      for (const [i, envelope] of envelopes.entries()) {
        const turn = turns?.[i];
        try {
          if (turn?.waits === true) {
            if (acking) progress ??= setInterval(() => msg.working(), ackWaitMs / 2);
            await turn.ready;
          }
          const handling = this.options.handle(envelope, delivery);
          if (handling !== undefined) {
            if (acking) progress ??= setInterval(() => msg.working(), ackWaitMs / 2);
            await handling;
          }
          this.stats.handled++;
        } catch (error) {
          failures++;
          firstError ??= error;
        } finally {
          turn?.done();
        }
      }
    } finally {
      clearInterval(progress);
    }
    if (failures === 0) {
      if (acking) this.ack(msg);
      return true;
    }
    const facts = { consumer: this.name, seq: msg.seq, failures, events: envelopes.length, err: firstError };
    if (acking && delivery.deliveryCount >= (this.options.deliveriesMax ?? CONSUMER_DELIVERIES_MAX)) {
      this.stats.abandoned += failures;
      this.options.logger?.error(facts, 'events given up');
      msg.term();
      return true;
    }
    this.stats.failed += failures;
    this.options.logger?.warn(facts, 'event handler failed');
    // Backing off: a handler failing for an outside reason (a provider down) gets its events again
    // over minutes, not all its deliveries in the first seconds of the outage.
    const firstMs = this.options.retryDelayMs ?? CONSUMER_RETRY_DELAY_MS;
    const delayMs = Math.min(
      this.options.retryDelayMaxMs ?? CONSUMER_RETRY_DELAY_MAX_MS,
      firstMs * 2 ** Math.min(delivery.deliveryCount - 1, 30),
    );
    if (acking) msg.nak(delayMs);
    return !acking;
  }
}

/**
 * Starts a consumer of committed events (created if it does not exist). Resolves once it takes
 * messages; throws when JetStream or the events stream is missing.
 */
export function startEventConsumer(nc: NatsConnection, options: EventConsumerOptions): Promise<EventConsumer> {
  return EventConsumer.start(nc, options);
}
