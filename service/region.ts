/**
 * The region process's core: hosts the warehouses of one region behind NATS. Each warehouse keeps
 * its own command loop, WAL, snapshots and effect executor; a warehouse that cannot open or fails
 * later (a full disk, a corrupt file) answers UNAVAILABLE with the reason while the others go on.
 * Commands (one or a batch) and queries arrive as msgpack requests on the warehouse's subjects;
 * committed events are published on `.evt.<type>`, packed by type per commit (`event-messages.ts`,
 * with a message id JetStream deduplicates); every event message is kept until the stream
 * acknowledges it, published again until it does, and no snapshot reaches a command whose events it
 * lacks (`event-publisher.ts`); each warehouse's acknowledged mark is kept on disk (`event-marks.ts`)
 * and a recovery publishes again the replayed events past it (`event-replay.ts`), so a crash between
 * commit and acknowledgement loses none. A warehouse that gave up publishing (too many bytes
 * unacknowledged) is reopened once the stream takes messages again, and its recovery publishes
 * what it gave up (`event-catch-up.ts`). `stop()` is
 * the graceful shutdown: stop taking requests, drain, wait a little for the stream's
 * acknowledgements, snapshot as far as they allow, close.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { openWarehouseHost, type WarehouseHost } from '../effects/index.ts';
import { type EngineError, type EngineEvent, RETRY_AFTER_MS, type Result, unavailable } from '../engine/index.ts';
import {
  CircuitBreaker,
  PAYMENT_CALL_TIMEOUT_MS,
  type PaymentGateway,
  ResilientGateway,
  SimulatedPaymentProvider,
} from '../payments/index.ts';
import { warehousePaths } from '../persistence/index.ts';
import {
  batchOf,
  commandSubject,
  decodeRequest,
  encodeReply,
  errorReply,
  fitReply,
  peekSubject,
  querySubject,
} from '../protocol/index.ts';
import { Random } from '../sim/random.ts';
import { seedCommands } from './catalog-seed.ts';
import type { RegionConfig, WarehouseConfigEntry } from './config.ts';
import { CATCH_UP_CHECK_MS, CatchUpSchedule } from './event-catch-up.ts';
import { AckedMarkWriter, discardAckedMark, readAckedMark } from './event-marks.ts';
import { type EventEntry, entriesOf } from './event-messages.ts';
import { type EventPublicationStats, EventPublisher } from './event-publisher.ts';
import { type ReplayedCommand, unpublishedReplay } from './event-replay.ts';
import { ensureEventStream, eventStreamMissing } from './event-stream.ts';
import { type Outbox, outboxOf } from './outbox.ts';
import type { HostedEndpoint } from './warehouse-link.ts';

/** Seed commands submitted at once (they are independent, and land in the same group commit). */
const SEED_CHUNK = 256;
/** Longest wait at a stop for the stream to acknowledge the last events, so the snapshots cover them. */
const STOP_ACKS_WAIT_MS = 2_000;
/** Acknowledgement waits an event may go unanswered before the region checks the stream is there. */
const STREAM_LOST_ACK_WAITS = 4;
/** How long a closing warehouse (or the process) waits for the requests it is answering. */
const ANSWER_WAIT_MS = 2_000;
/** How long a closing warehouse gives payment calls already out to report. */
const DRAIN_GRACE_MS = 5_000;

export interface RegionOptions {
  nc: NatsConnection;
  config: RegionConfig;
  dataDir: string;
  logger: Logger;
  /** The payment gateway of a warehouse; by default a simulated provider behind the breaker. */
  gateway?: (warehouseId: string) => PaymentGateway;
  checkpoint?: 'worker' | 'inline' | 'off';
  /** Called after each committed batch of a warehouse (metrics). */
  onCommitted?: (warehouseId: string, commands: number, durationMs: number, events: EngineEvent[]) => void;
  /** Called after every WAL fdatasync of a warehouse, with its duration (metrics). */
  onSync?: (warehouseId: string, durationMs: number) => void;
  /** Called once per answered request, just after its reply went out (metrics, discovery stats). */
  onRequest?: (sample: RequestSample) => void;
  /** How long an event message may wait for the stream's acknowledgement before it goes again. */
  eventAckWaitMs?: number;
  /** Bytes of unacknowledged event messages past which a warehouse gives up (`UNACKED_BYTES_MAX`). */
  eventUnackedBytesMax?: number;
  /** How often warehouses that gave up are looked at, to reopen them (`CATCH_UP_CHECK_MS`). */
  eventCatchUpMs?: number;
}

/** One answered request, for metrics: what it was, how long it took, what it answered. */
export interface RequestSample {
  warehouseId: string;
  endpoint: 'cmd' | 'query';
  /** The command or query type as sent (unchecked: the sender chose it), `batch`, or `unknown`. */
  type: string;
  /** From the request's receipt to its reply. */
  durationMs: number;
  /** The results replied: one, one per command of a batch, or the refusal of the whole request. */
  results: readonly Result<unknown>[];
}

/** One hosted warehouse: open and serving, or failed with the reason. */
export interface HostedWarehouse {
  entry: WarehouseConfigEntry;
  host?: WarehouseHost;
  failure?: string;
  /** Requests being answered (graceful shutdown waits for them). */
  inFlight: number;
  /** Closed and recovering again, to publish the events it gave up (`RegionHost.catchUp`). */
  reopening?: boolean;
}

/**
 * Why a hosted warehouse does not serve now (its failure, not open, reopening), or undefined while it
 * serves: what the directory, catalog, discovery and metrics say of it.
 */
export function notServing(hosted: HostedWarehouse): string | undefined {
  if (hosted.failure !== undefined) return hosted.failure;
  if (hosted.host === undefined) return 'not open';
  if (hosted.reopening === true) return 'reopening to publish the events it could not';
  return undefined;
}

/** Waits (at most ANSWER_WAIT_MS) until the warehouses have answered the requests they were asked. */
async function answered(hosted: readonly HostedWarehouse[]): Promise<void> {
  const deadline = performance.now() + ANSWER_WAIT_MS;
  while (hosted.some((h) => h.inFlight > 0) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The `type` field of a decoded request, if it has one. */
function typeOf(request: unknown): string {
  if (typeof request !== 'object' || request === null) return 'unknown';
  const type = (request as { type?: unknown }).type;
  return typeof type === 'string' ? type : 'unknown';
}

function simulatedGateway(config: RegionConfig, warehouseId: string): PaymentGateway {
  const random = new Random(warehouseId.length * 7919 + 17);
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const payments = config.payments ?? {};
  const provider = new SimulatedPaymentProvider({
    seed: 17,
    clock: Date.now,
    sleep,
    declineRate: payments.declineRate ?? 0,
    // Its holds live in this process's memory; after a crash, the restarted one takes them on.
    adoptUnknownHolds: true,
    ...(payments.latencyMs === undefined ? {} : { latencyMs: payments.latencyMs }),
    ...(payments.outages === undefined ? {} : { outages: payments.outages }),
  });
  return new ResilientGateway(provider, {
    breaker: new CircuitBreaker(Date.now, undefined, payments.breakerOpenMs),
    random: () => random.next(),
    sleep,
    callTimeoutMs: PAYMENT_CALL_TIMEOUT_MS,
  });
}

export class RegionHost {
  readonly warehouses = new Map<string, HostedWarehouse>();
  private readonly subscriptions: Subscription[] = [];
  private stopping = false;
  /** Replies and events leave together, once per turn of the event loop. */
  private readonly outbox: Outbox;
  /** Publishes committed events and sees them acknowledged by the stream. */
  private readonly events: EventPublisher;
  /** Keeps each warehouse's acknowledged mark on disk, for what a recovery publishes again. */
  private readonly marks: AckedMarkWriter;
  /** The in-memory endpoint of each hosted warehouse, made on first use. */
  private readonly endpoints = new Map<string, HostedEndpoint>();
  /** When warehouses that gave up publishing are reopened. */
  private readonly catchUps: CatchUpSchedule;
  private catchUpTimer: NodeJS.Timeout | undefined;
  /** The catch-up running now, if any (one at a time; the stop waits for it). */
  private catchUpRun: Promise<void> | undefined;

  private constructor(readonly options: RegionOptions) {
    this.outbox = outboxOf(options.nc, options.logger);
    const { config, nc, logger, eventAckWaitMs, eventUnackedBytesMax } = options;
    this.events = new EventPublisher(config.region, nc, this.outbox, logger, eventAckWaitMs, eventUnackedBytesMax);
    this.marks = new AckedMarkWriter(config.region, (id) => this.events.ackedThrough(id), logger);
    this.catchUps = new CatchUpSchedule(options.eventCatchUpMs);
  }

  get region(): string {
    return this.options.config.region;
  }

  /** The event publication's state, for metrics. */
  eventPublication(nowMs = performance.now()): EventPublicationStats {
    return this.events.stats(nowMs);
  }

  /** Recovers every warehouse, sets new ones up, then starts answering. */
  static async start(options: RegionOptions): Promise<RegionHost> {
    const host = new RegionHost(options);
    try {
      // The stream first: recovery republishes events and new warehouses are seeded before serving.
      await ensureEventStream(options.nc);
      for (const entry of options.config.warehouses) await host.open(entry);
    } catch (error) {
      host.marks.stop();
      host.events.stop();
      throw error;
    }
    for (const hosted of host.warehouses.values()) host.serve(hosted);
    host.catchUpTimer = setInterval(() => {
      host.catchUpRun ??= host.catchUp().finally(() => {
        host.catchUpRun = undefined;
      });
    }, options.eventCatchUpMs ?? CATCH_UP_CHECK_MS);
    host.catchUpTimer.unref();
    return host;
  }

  private log(): Logger {
    return this.options.logger;
  }

  private async open(entry: WarehouseConfigEntry): Promise<void> {
    const hosted: HostedWarehouse = { entry, inFlight: 0 };
    this.warehouses.set(entry.id, hosted);
    await this.recover(hosted);
  }

  /**
   * Opens a warehouse: recovery (snapshot and log), the events it replayed past its acknowledged
   * mark published again, set-up commands if it is new. A failure takes it out of service.
   */
  private async recover(hosted: HostedWarehouse): Promise<void> {
    const { entry } = hosted;
    const replayed: ReplayedCommand[] = [];
    try {
      const { config, dataDir } = this.options;
      const { dir } = warehousePaths(dataDir, entry.id);
      // Read before the warehouse opens: nothing of it is published, so nothing moves the mark.
      const markRead = readAckedMark(dir, this.region, entry.id);
      let opened: WarehouseHost | undefined;
      opened = hosted.host = openWarehouseHost({
        dataDir,
        warehouseId: entry.id,
        checkpoint: this.options.checkpoint ?? 'worker',
        gateway: this.options.gateway?.(entry.id) ?? simulatedGateway(config, entry.id),
        onReplayedEvents: (seq, events) => replayed.push({ seq, events }),
        onCommitted: (batch) => {
          this.events.publish(entry.id, entriesOf(batch.eventSeqs, batch.events));
          this.options.onCommitted?.(entry.id, batch.commands, batch.durationMs, batch.events);
        },
        // A fatal error of a host closed since (a reopening) is not the new one's.
        onFatal: (error) => {
          if (opened === undefined || hosted.host === opened) this.fail(hosted, error);
        },
        // No snapshot reaches events the stream has not acknowledged: they must stay in the log's
        // replay, so that a crash before they are stored still publishes them at the next start.
        checkpointLimit: () => this.events.checkpointLimit(entry.id),
        onSync: (durationMs) => this.options.onSync?.(entry.id, durationMs),
      });
      const report = hosted.host.warehouse.recovery;
      const { truncatedBytes, truncatedRecords, truncatedAfterHole } = report.wal;
      const recovered = {
        warehouseId: entry.id,
        replayed: report.wal.replayed,
        snapshotSeq: report.snapshot?.walSeq ?? 0,
      };
      // A cut tail is normal after a crash, but an operator should see it (the counts say how much).
      if (truncatedBytes === 0) this.log().info(recovered, 'warehouse recovered');
      else
        this.log().warn({ ...recovered, truncatedBytes, truncatedRecords, truncatedAfterHole }, 'warehouse recovered');
      const mark = this.trustedMark(hosted, dir, markRead);
      this.republish(entry.id, mark, replayed);
      this.marks.track(entry.id, dir, mark);
      await this.seed(hosted);
    } catch (error) {
      this.fail(hosted, error);
      await this.closeFailed(hosted);
    }
  }

  /**
   * Closes a warehouse that opened but failed before it served (its set-up refused): out of service,
   * nothing of it may run on (expiry ticks, payment retries, events). Its log keeps what it wrote.
   */
  private async closeFailed(hosted: HostedWarehouse): Promise<void> {
    const host = hosted.host;
    if (host === undefined) return;
    hosted.host = undefined;
    try {
      host.executor.close();
      await host.warehouse.close({ snapshot: false });
    } catch (error) {
      this.log().error({ warehouseId: hosted.entry.id, err: error }, 'close failed');
    }
  }

  /** Sends the set-up commands of a new warehouse (fixed keys: a restart sends them again harmlessly). */
  private async seed(hosted: HostedWarehouse): Promise<void> {
    const w = (hosted.host as WarehouseHost).warehouse;
    const commands = seedCommands(hosted.entry);
    const state = w.runtime.warehouse.state;
    const keyOf = (c: (typeof commands)[number]) => (c.type === 'tick' ? undefined : c.key);
    const firstKey = keyOf(commands[0] as (typeof commands)[number]);
    const lastKey = keyOf(commands[commands.length - 1] as (typeof commands)[number]);
    // Only a new warehouse is set up, or one whose set-up a crash interrupted (its first command is
    // remembered, its last is not). Never again later: the opening stock would be received twice
    // once its receipt ids are forgotten (after RECEIPT_RETENTION_MS).
    const isNew = state.lastSeq === 0;
    const interrupted =
      firstKey !== undefined &&
      state.idempotency.get(firstKey) !== undefined &&
      lastKey !== undefined &&
      state.idempotency.get(lastKey) === undefined;
    if (!isNew && !interrupted) return;
    for (let i = 0; i < commands.length; i += SEED_CHUNK) {
      const results = await Promise.all(commands.slice(i, i + SEED_CHUNK).map((c) => w.submit(c)));
      const refused = results.find((r) => !r.ok && r.error.code !== 'IDEMPOTENCY_CONFLICT');
      if (refused !== undefined && !refused.ok) throw new Error(`seed refused: ${refused.error.message}`);
    }
  }

  /**
   * Reopens the warehouses that gave up publishing their events, once the stream takes messages
   * again (`event-catch-up.ts`): their recovery publishes what they gave up from the log, so they
   * catch up without a restart of the process.
   */
  private async catchUp(): Promise<void> {
    if (this.stopping) return;
    await this.restoreStream();
    if (!this.events.flowing) return;
    const due = this.catchUps.due(this.events.gaveUp, performance.now());
    if (due.length === 0) return;
    try {
      // The stream answers, and exists (again: it may have been deleted).
      await ensureEventStream(this.options.nc);
    } catch (error) {
      this.log().warn({ err: error, warehouses: due }, 'events stream not ready: warehouses that gave up wait');
      return;
    }
    for (const warehouseId of due) {
      const hosted = this.warehouses.get(warehouseId);
      if (this.stopping || hosted === undefined || notServing(hosted) !== undefined) continue;
      this.catchUps.started(warehouseId, performance.now());
      await this.reopen(hosted);
    }
  }

  /**
   * Events have waited STREAM_LOST_ACK_WAITS acknowledgement waits for the stream while connected:
   * if the stream is gone (deleted under the running region), it is made again as at a start, and
   * the resends then store what waits. Not tied to a warehouse giving up, which quiet warehouses may
   * never do: their events would wait, and snapshots stay below them, until a restart.
   */
  private async restoreStream(): Promise<void> {
    const stats = this.events.stats();
    const waitedMs = stats.oldestUnackedSeconds * 1_000;
    if (!stats.connected || stats.unacked === 0 || waitedMs < STREAM_LOST_ACK_WAITS * this.events.ackWaitMs) return;
    try {
      if (!(await eventStreamMissing(this.options.nc))) return;
      this.log().warn({ unacked: stats.unacked }, 'events stream missing: created again');
      await ensureEventStream(this.options.nc);
    } catch (error) {
      this.log().warn({ err: error }, 'events stream not created again');
    }
  }

  /**
   * Closes a warehouse and recovers it again, answering UNAVAILABLE meanwhile. Its replay runs on
   * this thread, as at a start, and the region's other warehouses wait for it.
   */
  private async reopen(hosted: HostedWarehouse): Promise<void> {
    const warehouseId = hosted.entry.id;
    this.log().warn({ warehouseId }, 'reopening the warehouse to publish the events it gave up');
    hosted.reopening = true;
    try {
      await answered([hosted]);
      await this.drain(hosted);
      this.marks.untrack(warehouseId);
      try {
        // No snapshot: it could not pass what the warehouse gave up anyway.
        await (hosted.host as WarehouseHost).warehouse.close({ snapshot: false });
      } finally {
        hosted.host = undefined;
        this.events.forgetGiveUp(warehouseId);
      }
      // It failed on the way (a fatal error while draining): out of service, as any failure.
      if (hosted.failure !== undefined) return;
      await this.recover(hosted);
    } catch (error) {
      this.fail(hosted, error);
    } finally {
      hosted.reopening = false;
    }
  }

  /**
   * Stops a warehouse's work: payment retries still waiting are forgotten (they stay pending in the
   * orders and resume when it opens again), calls already out get a few seconds to report, then its
   * command loop answers what it holds and closes.
   */
  private async drain(hosted: HostedWarehouse): Promise<void> {
    const host = hosted.host as WarehouseHost;
    host.executor.close();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise((resolve) => {
      timer = setTimeout(resolve, DRAIN_GRACE_MS);
    });
    await Promise.race([host.executor.idle(), grace]);
    clearTimeout(timer);
    await host.warehouse.runtime.close();
  }

  private fail(hosted: HostedWarehouse, error: unknown): void {
    this.marks.untrack(hosted.entry.id);
    hosted.failure = error instanceof Error ? error.message : String(error);
    this.log().error({ warehouseId: hosted.entry.id, err: error }, 'warehouse out of service');
  }

  /**
   * Publishes again, marked replayed, the events a recovery replayed past the warehouse's
   * acknowledged mark (`unpublishedReplay`), one command at a time: packed alone, a command's
   * messages get the ids they had inside their commit whenever they began it, so the duplicate
   * window drops those that did arrive. Runs before anything the warehouse commits after its
   * recovery is published, so order holds per type.
   */
  private republish(warehouseId: string, mark: number | undefined, replayed: ReplayedCommand[]): void {
    if (replayed.length === 0) return;
    const missing = unpublishedReplay(mark, replayed);
    let from = 0;
    for (let i = 1; i <= missing.length; i++) {
      if (i < missing.length && (missing[i] as EventEntry).seq === (missing[from] as EventEntry).seq) continue;
      this.events.publish(warehouseId, missing.slice(from, i), true);
      from = i;
    }
    const events = replayed.reduce((n, r) => n + r.events.length, 0);
    this.log().info(
      { warehouseId, replayedEvents: events, republished: missing.length, ackedThrough: mark },
      'replayed events republished',
    );
  }

  /**
   * The mark read for a recovered warehouse, if it can be this log's: a mark past the recovered log
   * is not (its data started over, or was cut back) and is removed at once, before the warehouse
   * commits anything, and everything replayed goes out again. Also where the publisher's account of
   * the warehouse starts: every event of the recovered log is in the stream or republished next.
   */
  private trustedMark(hosted: HostedWarehouse, dir: string, markRead: number | undefined): number | undefined {
    const warehouseId = hosted.entry.id;
    const recoveredSeq = (hosted.host as WarehouseHost).warehouse.runtime.warehouse.state.lastSeq;
    this.events.resume(warehouseId, recoveredSeq);
    if (markRead === undefined || markRead <= recoveredSeq) return markRead;
    this.log().warn({ warehouseId, mark: markRead, recoveredSeq }, 'acknowledged mark past the log: removed');
    discardAckedMark(dir);
    return undefined;
  }

  private serve(hosted: HostedWarehouse): void {
    const { nc } = this.options;
    const id = hosted.entry.id;
    const endpoints = [
      [commandSubject(this.region, id), 'cmd'],
      [querySubject(this.region, id), 'query'],
      [peekSubject(this.region, id), 'peek'],
    ] as const;
    for (const [subject, endpoint] of endpoints) {
      this.subscriptions.push(
        nc.subscribe(subject, {
          callback: (error, msg) => {
            if (error === null) void this.answer(hosted, msg.data, (body) => this.respond(msg, body), endpoint);
            // A refused subscription (a permission error) ends it: the warehouse no longer hears this subject.
            else this.log().error({ warehouseId: id, subject, err: error }, 'subscription failed');
          },
        }),
      );
    }
  }

  /**
   * A warehouse of this process, for the region's services to ask in memory: the same answers as its
   * `.peek`, `.query` and `.cmd` subjects (refusals included), counted as requests in flight for the
   * graceful shutdown. Undefined when another process hosts it.
   */
  endpoint(warehouseId: string): HostedEndpoint | undefined {
    let endpoint = this.endpoints.get(warehouseId);
    if (endpoint === undefined) {
      const hosted = this.warehouses.get(warehouseId);
      if (hosted === undefined) return undefined;
      endpoint = this.inMemory(hosted);
      this.endpoints.set(warehouseId, endpoint);
    }
    return endpoint;
  }

  private inMemory(hosted: HostedWarehouse): HostedEndpoint {
    const id = hosted.entry.id;
    const refusal = (): Result<never> | undefined => {
      const reason = this.unavailableReason(hosted);
      return reason === undefined ? undefined : { ok: false, error: reason };
    };
    const tracked = async (
      endpoint: 'cmd' | 'query',
      input: unknown,
      run: (w: WarehouseHost['warehouse']) => Promise<Result<unknown>>,
    ): Promise<Result<unknown>> => {
      const startedMs = performance.now();
      let result: Result<unknown> | undefined = refusal();
      if (result === undefined) {
        hosted.inFlight++;
        try {
          result = await run((hosted.host as WarehouseHost).warehouse);
        } finally {
          hosted.inFlight--;
        }
      }
      this.record(id, endpoint, typeOf(input), startedMs, [result]);
      return result;
    };
    return {
      peek: (query) => {
        const startedMs = performance.now();
        const result = refusal() ?? (hosted.host as WarehouseHost).warehouse.query(query);
        this.record(id, 'query', typeOf(query), startedMs, [result]);
        return result;
      },
      read: (query) => tracked('query', query, (w) => w.read(query)),
      submit: (command) => tracked('cmd', command, (w) => w.submit(command)),
    };
  }

  /** Tells the request observer (metrics, discovery stats) about one answered request. */
  private record(
    warehouseId: string,
    endpoint: 'cmd' | 'query',
    type: string,
    startedMs: number,
    results: readonly Result<unknown>[],
  ): void {
    try {
      this.options.onRequest?.({ warehouseId, endpoint, type, durationMs: performance.now() - startedMs, results });
    } catch (error) {
      // A bug in an observer must not make a request answer twice.
      this.log().error({ warehouseId, err: error }, 'request observer failed');
    }
  }

  /** Replies, or says LIMIT_EXCEEDED when the reply would not fit in a NATS message. */
  private respond(msg: Msg, body: Uint8Array): void {
    this.outbox.reply(msg, fitReply(body, this.options.nc.info?.max_payload));
  }

  private unavailableReason(hosted: HostedWarehouse): EngineError | undefined {
    if (this.stopping) return unavailable('the region process is shutting down', RETRY_AFTER_MS.shuttingDown);
    const reason = notServing(hosted);
    if (reason === undefined) return undefined;
    const id = hosted.entry.id;
    // Reopening (or not open yet) passes; a failure lasts until an operator acts.
    if (hosted.failure !== undefined) return unavailable(`warehouse ${id} failed: ${reason}`);
    return unavailable(`warehouse ${id} is ${reason}`, RETRY_AFTER_MS.restarting);
  }

  /** Decodes, runs and replies; never throws, whatever the body. */
  private async answer(
    hosted: HostedWarehouse,
    body: Uint8Array,
    respond: (body: Uint8Array) => void,
    endpoint: 'cmd' | 'query' | 'peek',
  ): Promise<void> {
    const command = endpoint === 'cmd';
    const startedMs = performance.now();
    let type = 'unknown';
    const reply = (results: Result<unknown>[], bytes: Uint8Array) => {
      respond(bytes);
      this.record(hosted.entry.id, command ? 'cmd' : 'query', type, startedMs, results);
    };
    const refusal = this.unavailableReason(hosted);
    if (refusal !== undefined) {
      reply([{ ok: false, error: refusal }], errorReply(refusal));
      return;
    }
    const decoded = decodeRequest(body);
    if (!decoded.ok) {
      this.log().warn({ warehouseId: hosted.entry.id, error: decoded.error.message }, 'bad request');
      reply([decoded], errorReply(decoded.error));
      return;
    }
    const w = (hosted.host as WarehouseHost).warehouse;
    type = typeOf(decoded.value);
    hosted.inFlight++;
    try {
      if (!command) {
        // A peek answers from memory at once (it may show commands not yet durable): for advisory
        // reads such as a checkout's probes; a query waits until what it shows is durable.
        const result = endpoint === 'peek' ? w.query(decoded.value) : await w.read(decoded.value);
        reply([result], encodeReply(result));
        return;
      }
      const batch = batchOf(decoded.value);
      if (batch === undefined) {
        const result = await w.submit(decoded.value);
        reply([result], encodeReply(result));
      } else if (!Array.isArray(batch)) {
        reply([{ ok: false, error: batch }], errorReply(batch));
      } else {
        const results = await Promise.all(batch.map((c) => w.submit(c)));
        reply(results, encodeReply({ ok: true, value: { kind: 'batch', results } } satisfies Result<unknown>));
      }
    } catch (error) {
      // A bug, not bad input: answer, log, keep serving.
      this.log().error({ warehouseId: hosted.entry.id, err: error }, 'request failed');
      const internal = unavailable('internal error');
      reply([{ ok: false, error: internal }], errorReply(internal));
    } finally {
      hosted.inFlight--;
    }
  }

  /**
   * Graceful shutdown: stop taking requests, answer those in flight, drain, wait a little for the
   * stream to acknowledge the events, snapshot as far as it did, close.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.catchUpTimer);
    await this.catchUpRun;
    await Promise.all(this.subscriptions.map((s) => s.drain().catch(() => undefined)));
    await answered([...this.warehouses.values()]);
    const open = [...this.warehouses.values()].filter((h) => h.host !== undefined);
    for (const hosted of open) {
      try {
        await this.drain(hosted);
      } catch (error) {
        this.log().error({ warehouseId: hosted.entry.id, err: error }, 'drain failed');
      }
    }
    if (!(await this.events.settled(STOP_ACKS_WAIT_MS))) {
      this.log().warn(
        { unacked: this.events.stats().unacked },
        'events not acknowledged by the stream at stop: snapshots stay below them, the next start publishes them',
      );
    }
    for (const hosted of open) {
      try {
        // As far as the stream acknowledged: the next start replays and publishes the rest.
        await (hosted.host as WarehouseHost).warehouse.close({ snapshot: hosted.failure === undefined });
      } catch (error) {
        this.log().error({ warehouseId: hosted.entry.id, err: error }, 'close failed');
      }
    }
    // After the closes: every committed event was handed in, and the marks say how far it is stored.
    this.marks.stop();
    this.events.stop();
    this.outbox.flush();
    await this.options.nc.flush().catch(() => undefined);
  }
}
