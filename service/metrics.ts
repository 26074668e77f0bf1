/**
 * The Prometheus metrics of a region process, and the HTTP endpoint that serves them
 * (`darkstore serve --metrics-port N`, `GET /metrics`). Two hooks of the region host feed it: one per
 * answered request (latency by command, refusals by code, oversell refused) and one per committed
 * batch (batch size and duration, expired and at-risk reservations, event publish lag). Gauges of
 * what a warehouse holds (open reservations, pending dispatch, queue, WAL syncs) are read from the
 * warehouses when scraped, never kept up to date on the hot path. It reads state only: it never
 * changes a warehouse, and a scrape costs the command loops nothing but the reads.
 *
 * Every metric carries the `region` label; per-warehouse ones add `warehouse`, latencies add the
 * `command` (or `query`) type. Label values come from the config or from closed lists (command
 * types, error codes), never from a sender's free text, so the number of series is bounded.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type CommandType, type EngineEvent, ERROR_CODES, type ErrorCode, type Query } from '../engine/index.ts';
import type { DurableWarehouse } from '../persistence/index.ts';
import { notServing, type RegionHost, type RequestSample } from './region.ts';

/** Every command type, checked by the compiler against the engine's list. */
const COMMAND_TYPES: Record<CommandType, true> = {
  'sku.upsert': true,
  receipt: true,
  adjust: true,
  count: true,
  'pos.sale': true,
  reserve: true,
  commit: true,
  release: true,
  extend: true,
  'order.place': true,
  'order.event': true,
  'payment.outcome': true,
  'warehouse.configure': true,
  'picker.check_in': true,
  'picker.check_out': true,
  'pick.take': true,
  'courier.check_in': true,
  'courier.check_out': true,
  'courier.breakdown': true,
  'courier.ping': true,
  tick: true,
};
const QUERY_TYPES: Record<Query['type'], true> = {
  availability: true,
  changes: true,
  reservation: true,
  command: true,
  order: true,
  fulfillment: true,
  eta: true,
};
const KNOWN_CODES = new Set<string>(ERROR_CODES);

/** Request latency buckets, seconds: from 100 µs (a read from memory) to 2.5 s (a stalled disk). */
const LATENCY_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Batch size buckets, commands: powers of two up to the runtime's BATCH_COMMANDS_MAX. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
/** Publish lag buckets, seconds: publication follows the commit in the same turn of the loop. */
const LAG_BUCKETS_S = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1];

/** The WAL counters last exported per warehouse: the runtime keeps totals, Prometheus wants increments. */
interface ExportedTotals {
  syncs: number;
  syncMs: number;
  commands: number;
  rejectedQueueFull: number;
}

/** The label a request type gets: its own name when it is a known type, `batch`, or `other`. */
function typeLabel(sample: RequestSample): string {
  if (sample.type === 'batch') return 'batch';
  const known = sample.endpoint === 'cmd' ? COMMAND_TYPES : QUERY_TYPES;
  return Object.hasOwn(known, sample.type) ? sample.type : 'other';
}

export interface RegionMetricsOptions {
  /** Also export Node's process metrics (CPU, memory, event loop delay, GC); default true. */
  processMetrics?: boolean;
}

/** The metrics of one region process, in a registry of their own (several may share a process). */
export class RegionMetrics {
  readonly registry = new Registry();
  private host: RegionHost | undefined;
  /** Per runtime (a reopened warehouse gets a new one, its totals from 0), what was exported of it. */
  private readonly totals = new WeakMap<object, ExportedTotals>();
  /** When the sync that made the current run of batches durable returned (see `committed`). */
  private commitRunStartedMs: number | undefined;

  private readonly commandSeconds: Histogram<'warehouse' | 'command'>;
  private readonly querySeconds: Histogram<'warehouse' | 'query'>;
  private readonly refusals: Counter<'warehouse' | 'command' | 'code'>;
  private readonly oversellRefused: Counter<'warehouse' | 'command'>;
  private readonly batchCommands: Histogram<'warehouse'>;
  private readonly batchSeconds: Histogram<'warehouse'>;
  private readonly expired: Counter<'warehouse'>;
  private readonly atRisk: Counter<'warehouse'>;
  private readonly published: Counter<'warehouse'>;
  private readonly publishLagSeconds: Histogram<'warehouse'>;
  private readonly fsyncSeconds: Histogram<'warehouse'>;

  constructor(
    readonly region: string,
    options: RegionMetricsOptions = {},
  ) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ region });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.commandSeconds = new Histogram({
      name: 'darkstore_command_duration_seconds',
      help: 'Command requests from receipt to reply (validate, apply, WAL sync), by command type; batches as `batch`',
      labelNames: ['warehouse', 'command'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.querySeconds = new Histogram({
      name: 'darkstore_query_duration_seconds',
      help: 'Query requests from receipt to reply (released once what they show is durable), by query type',
      labelNames: ['warehouse', 'query'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.refusals = new Counter({
      name: 'darkstore_command_refusals_total',
      help: 'Commands answered with an error, by command type and error code (each command of a batch counts)',
      labelNames: ['warehouse', 'command', 'code'],
      registers,
    });
    this.oversellRefused = new Counter({
      name: 'darkstore_oversell_refused_total',
      help: 'Commands refused with INSUFFICIENT_STOCK: attempts to take more than is available',
      labelNames: ['warehouse', 'command'],
      registers,
    });
    this.batchCommands = new Histogram({
      name: 'darkstore_batch_commands',
      help: 'Commands per committed batch (one group commit covers one or more batches)',
      labelNames: ['warehouse'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'darkstore_batch_duration_seconds',
      help: 'Committed batches from the start of applying them to their replies (apply, write, wait for the sync)',
      labelNames: ['warehouse'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.expired = new Counter({
      name: 'darkstore_reservations_expired_total',
      help: 'Reservations released because their TTL ran out (reservation.expired events)',
      labelNames: ['warehouse'],
      registers,
    });
    this.atRisk = new Counter({
      name: 'darkstore_reservations_at_risk_total',
      help: 'Times on hand fell below reserved and reservations could no longer be filled (reservation.at_risk events)',
      labelNames: ['warehouse'],
      registers,
    });
    this.published = new Counter({
      name: 'darkstore_events_published_total',
      help: 'Committed events handed to NATS (republications after recovery not included)',
      labelNames: ['warehouse'],
      registers,
    });
    this.publishLagSeconds = new Histogram({
      name: 'darkstore_event_publish_lag_seconds',
      help: 'From the WAL sync that made a batch durable to its events handed to the NATS connection',
      labelNames: ['warehouse'],
      buckets: LAG_BUCKETS_S,
      registers,
    });
    this.fsyncSeconds = new Histogram({
      name: 'darkstore_wal_fsync_duration_seconds',
      help: 'WAL fdatasync latency (one per group commit)',
      labelNames: ['warehouse'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.registerStateGauges(registers);
    this.registerPublicationMetrics(registers);
  }

  /** Hook for `RegionOptions.onSync`: one WAL fdatasync. */
  readonly onSync = (warehouseId: string, durationMs: number): void => {
    this.fsyncSeconds.observe({ warehouse: warehouseId }, durationMs / 1000);
  };

  /** Hook for `RegionOptions.onRequest`: one answered request. */
  readonly onRequest = (sample: RequestSample): void => {
    const warehouse = sample.warehouseId;
    const type = typeLabel(sample);
    const seconds = sample.durationMs / 1000;
    if (sample.endpoint === 'query') {
      this.querySeconds.observe({ warehouse, query: type }, seconds);
      return;
    }
    this.commandSeconds.observe({ warehouse, command: type }, seconds);
    for (const result of sample.results) {
      if (result.ok) continue;
      const code: ErrorCode | 'other' = KNOWN_CODES.has(result.error.code) ? result.error.code : 'other';
      this.refusals.inc({ warehouse, command: type, code });
      if (code === 'INSUFFICIENT_STOCK') this.oversellRefused.inc({ warehouse, command: type });
    }
  };

  /**
   * Hook for `RegionOptions.onCommitted`: one committed batch, whose events the region has just
   * published. The runtime reports every batch a sync covered in one synchronous run right after
   * that sync returns, so the first report of a run marks the moment the batches became durable;
   * the lag of each batch is measured from there (the first one's own publication, a few
   * microseconds, falls outside it).
   */
  readonly onCommitted = (warehouseId: string, commands: number, durationMs: number, events: EngineEvent[]): void => {
    const nowMs = performance.now();
    if (this.commitRunStartedMs === undefined) {
      this.commitRunStartedMs = nowMs;
      queueMicrotask(() => {
        this.commitRunStartedMs = undefined;
      });
    }
    const labels = { warehouse: warehouseId };
    this.batchCommands.observe(labels, commands);
    this.batchSeconds.observe(labels, durationMs / 1000);
    this.publishLagSeconds.observe(labels, (nowMs - this.commitRunStartedMs) / 1000);
    if (events.length > 0) this.published.inc(labels, events.length);
    let expired = 0;
    let atRisk = 0;
    for (const event of events) {
      if (event.type === 'reservation.expired') expired++;
      else if (event.type === 'reservation.at_risk' && event.part === 1) atRisk++;
    }
    if (expired > 0) this.expired.inc(labels, expired);
    if (atRisk > 0) this.atRisk.inc(labels, atRisk);
  };

  /** The host whose warehouses the gauges read at each scrape. */
  watch(host: RegionHost): void {
    this.host = host;
  }

  /** The exposition text, in Prometheus's format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Gauges and counters read from the warehouses when scraped. */
  private registerStateGauges(registers: Registry[]): void {
    const gauge = (name: string, help: string, read: (g: Gauge<'warehouse'>) => void) => {
      const g: Gauge<'warehouse'> = new Gauge({
        name,
        help,
        labelNames: ['warehouse'],
        registers,
        collect: () => read(g),
      });
    };
    gauge(
      'darkstore_warehouse_up',
      '1 while a warehouse serves, 0 when it answers UNAVAILABLE (failed, reopening) or is not open',
      (g) => {
        for (const hosted of this.host?.warehouses.values() ?? []) {
          const up = notServing(hosted) === undefined;
          g.set({ warehouse: hosted.entry.id }, up ? 1 : 0);
        }
      },
    );
    gauge('darkstore_reservations_open', 'Open reservations (holding stock)', (g) => {
      this.eachOpen((id, w) => g.set({ warehouse: id }, w.runtime.warehouse.state.reservations.size));
    });
    gauge('darkstore_dispatch_queue_length', 'Packed orders waiting for a courier (pending dispatch)', (g) => {
      this.eachOpen((id, w) => g.set({ warehouse: id }, w.runtime.warehouse.state.dispatchQueue.size));
    });
    gauge('darkstore_command_queue_length', 'Commands waiting for the command loop', (g) => {
      this.eachOpen((id, w) => g.set({ warehouse: id }, w.runtime.queued));
    });
    gauge('darkstore_requests_in_flight', 'Requests being answered', (g) => {
      for (const hosted of this.host?.warehouses.values() ?? []) g.set({ warehouse: hosted.entry.id }, hosted.inFlight);
    });
    gauge('darkstore_wal_fsync_seconds_max', 'Longest WAL fdatasync since the process started', (g) => {
      this.eachOpen((id, w) => g.set({ warehouse: id }, w.runtime.stats.syncMsMax / 1000));
    });
    this.totalCounter(registers, 'darkstore_wal_fsyncs_total', 'WAL fdatasyncs (one per group commit)', 'syncs', 1);
    this.totalCounter(registers, 'darkstore_wal_fsync_seconds_total', 'Time spent in WAL fdatasync', 'syncMs', 1000);
    this.totalCounter(registers, 'darkstore_commands_total', 'Commands applied and committed', 'commands', 1);
    this.totalCounter(
      registers,
      'darkstore_commands_rejected_queue_full_total',
      'Commands refused because the command queue was full (backpressure)',
      'rejectedQueueFull',
      1,
    );
  }

  /** The region's event publication (`RegionHost.eventPublication`), read when scraped. */
  private registerPublicationMetrics(registers: Registry[]): void {
    const stats = () => this.host?.eventPublication();
    new Gauge({
      name: 'darkstore_nats_connected',
      help: '1 while the region is connected to NATS, 0 from a disconnect to the reconnection',
      registers,
      collect() {
        const s = stats();
        if (s !== undefined) this.set(s.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'darkstore_events_unacked_messages',
      help: 'Event messages published and not yet acknowledged by the events stream (snapshots stay below them)',
      registers,
      collect() {
        this.set(stats()?.unacked ?? 0);
      },
    });
    new Gauge({
      name: 'darkstore_events_unacked_oldest_seconds',
      help: 'How long the oldest unacknowledged event message has waited for the stream (0 when none)',
      registers,
      collect() {
        this.set(stats()?.oldestUnackedSeconds ?? 0);
      },
    });
    const total = (name: string, help: string, field: 'resent' | 'refused' | 'givenUp') => {
      let exported = 0;
      new Counter({
        name,
        help,
        registers,
        collect() {
          const now = stats()?.[field] ?? exported;
          if (now > exported) this.inc(now - exported);
          exported = now;
        },
      });
    };
    total(
      'darkstore_events_resent_total',
      'Event messages published again: a subject probing with its oldest unanswered message (after a refusal, no answer in 5 s, a reconnection), then the rest in order',
      'resent',
    );
    total(
      'darkstore_events_refused_total',
      'Answers of the events stream refusing an event message (no stream, storage error); it is sent again',
      'refused',
    );
    total(
      'darkstore_events_resend_given_up_total',
      'Event messages dropped or not sent by a warehouse that gave up publishing past the byte bound (its reopening, once the stream takes messages, publishes them)',
      'givenUp',
    );
  }

  /** A counter following one of the runtime's running totals: each scrape adds what it grew by. */
  private totalCounter(
    registers: Registry[],
    name: string,
    help: string,
    field: keyof ExportedTotals,
    divisor: number,
  ): void {
    const counter: Counter<'warehouse'> = new Counter({
      name,
      help,
      labelNames: ['warehouse'],
      registers,
      collect: () => {
        this.eachOpen((id, w) => {
          const exported = this.exportedTotals(w.runtime);
          const grown = w.runtime.stats[field] - exported[field];
          exported[field] = w.runtime.stats[field];
          counter.inc({ warehouse: id }, grown > 0 ? grown / divisor : 0);
        });
      },
    });
  }

  /** What was exported of the runtime's totals so far (from 0 for a new runtime). */
  private exportedTotals(runtime: object): ExportedTotals {
    let totals = this.totals.get(runtime);
    if (totals === undefined) {
      totals = { syncs: 0, syncMs: 0, commands: 0, rejectedQueueFull: 0 };
      this.totals.set(runtime, totals);
    }
    return totals;
  }

  /** Calls `fn` for every warehouse that opened (a failed one keeps its last numbers). */
  private eachOpen(fn: (warehouseId: string, warehouse: DurableWarehouse) => void): void {
    for (const hosted of this.host?.warehouses.values() ?? []) {
      if (hosted.host !== undefined) fn(hosted.entry.id, hosted.host.warehouse);
    }
  }
}

export interface MetricsEndpoint {
  /** The port it listens on (the one asked for, or the one the OS chose for 0). */
  port: number;
  stop(): Promise<void>;
}

/** Serves `GET /metrics` on `port` (all interfaces unless `hostname` says otherwise). */
export function serveMetrics(metrics: RegionMetrics, port: number, hostname?: string): Promise<MetricsEndpoint> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    metrics.text().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        stop: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
