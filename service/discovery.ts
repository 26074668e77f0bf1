/**
 * Health and discovery of a region process over NATS, by the NATS service protocol (ADR-32, the
 * "micro" protocol `nats micro ls/info/stats` and every NATS services client speak): the process
 * answers `$SRV.PING|INFO|STATS`, `$SRV.<verb>.darkstore-region` and `$SRV.<verb>.darkstore-region.<id>`
 * with the protocol's JSON bodies. Each hosted warehouse is two endpoints (`<warehouse>-cmd`,
 * `<warehouse>-query`) with the protocol's counters; the live status of a warehouse (serving,
 * failed and why) is in its endpoints' `data` of STATS, because ADR-32 wants the service's and
 * endpoints' metadata immutable. Written by hand: `@nats-io/services` exists only as pre-releases.
 * It reads the region host, never changes it.
 */
import * as fs from 'node:fs';
import { nuid, type Subscription } from '@nats-io/transport-node';
import { commandSubject, querySubject } from '../protocol/index.ts';
import { type HostedWarehouse, notServing, type RegionHost, type RequestSample } from './region.ts';

/** The service name every region process answers under (the "kind" of ADR-32). */
export const SERVICE_NAME = 'darkstore-region';
export const SERVICE_API_PREFIX = '$SRV';
const VERBS = ['PING', 'INFO', 'STATS'] as const;
type Verb = (typeof VERBS)[number];

export const PING_RESPONSE_TYPE = 'io.nats.micro.v1.ping_response';
export const INFO_RESPONSE_TYPE = 'io.nats.micro.v1.info_response';
export const STATS_RESPONSE_TYPE = 'io.nats.micro.v1.stats_response';

/** The standard fields of every response (ADR-32 "Standard Field"). */
export interface ServiceIdentity {
  type: string;
  name: string;
  id: string;
  version: string;
  metadata: Record<string, string>;
}

export interface EndpointInfo {
  name: string;
  subject: string;
  metadata: Record<string, string>;
}

export interface InfoResponse extends ServiceIdentity {
  description: string;
  endpoints: EndpointInfo[];
}

/** The live state of a warehouse, carried in its endpoints' `data`. */
export interface WarehouseStatus {
  warehouse: string;
  status: 'serving' | 'failed' | 'not_open' | 'reopening';
  reason?: string;
  in_flight: number;
}

export interface EndpointStats {
  name: string;
  subject: string;
  num_requests: number;
  num_errors: number;
  last_error: string;
  /** Total time spent answering, in nanoseconds. */
  processing_time: number;
  /** processing_time / num_requests, truncated, in nanoseconds; 0 before any request. */
  average_processing_time: number;
  data: WarehouseStatus;
}

export interface StatsResponse extends ServiceIdentity {
  /** When this instance started, ISO 8601 in UTC. */
  started: string;
  endpoints: EndpointStats[];
}

interface Counters {
  requests: number;
  errors: number;
  lastError: string;
  processingNs: number;
}

/**
 * The protocol's per-endpoint counters, fed by `RegionOptions.onRequest`. A request counts as an
 * error when the engine could not serve it (an UNAVAILABLE reply: a failed warehouse, shutdown, a
 * full queue, an internal error); a refusal on the merits (INSUFFICIENT_STOCK, VALIDATION_ERROR…)
 * is an answer, counted in the Prometheus metrics by code.
 */
export class RequestStats {
  private readonly counters = new Map<string, Counters>();

  /** Hook for `RegionOptions.onRequest`. */
  readonly record = (sample: RequestSample): void => {
    const key = `${sample.warehouseId}-${sample.endpoint}`;
    let c = this.counters.get(key);
    if (c === undefined) {
      c = { requests: 0, errors: 0, lastError: '', processingNs: 0 };
      this.counters.set(key, c);
    }
    c.requests++;
    c.processingNs += Math.round(sample.durationMs * 1e6);
    for (const result of sample.results) {
      if (!result.ok && result.error.code === 'UNAVAILABLE') {
        c.errors++;
        c.lastError = result.error.message;
        break;
      }
    }
  };

  /** The counters of an endpoint (`<warehouse>-cmd` or `<warehouse>-query`). */
  of(endpointName: string): Readonly<Counters> {
    return this.counters.get(endpointName) ?? { requests: 0, errors: 0, lastError: '', processingNs: 0 };
  }
}

function packageVersion(): string {
  const text = fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  const version = (JSON.parse(text) as { version?: unknown }).version;
  return typeof version === 'string' ? version : '0.0.0';
}

function statusOf(hosted: HostedWarehouse): WarehouseStatus {
  const status: WarehouseStatus = {
    warehouse: hosted.entry.id,
    status:
      hosted.failure !== undefined
        ? 'failed'
        : hosted.host === undefined
          ? 'not_open'
          : hosted.reopening === true
            ? 'reopening'
            : 'serving',
    in_flight: hosted.inFlight,
  };
  const reason = notServing(hosted);
  if (reason !== undefined && status.status !== 'not_open') status.reason = reason;
  return status;
}

export interface DiscoveryOptions {
  /** The counters the host's `onRequest` feeds; without them STATS reports zeros. */
  stats?: RequestStats;
  /** The instance id (default: a fresh NUID, as the protocol asks). */
  id?: string;
}

/** The discovery responder of a running region process. */
export class Discovery {
  readonly id: string;
  readonly version = packageVersion();
  readonly started = new Date().toISOString();
  private readonly subscriptions: Subscription[] = [];
  private readonly stats: RequestStats;

  private constructor(
    private readonly host: RegionHost,
    options: DiscoveryOptions,
  ) {
    this.id = options.id ?? nuid.next();
    this.stats = options.stats ?? new RequestStats();
  }

  /** Subscribes to the nine discovery subjects of this instance and answers them. */
  static start(host: RegionHost, options: DiscoveryOptions = {}): Discovery {
    const discovery = new Discovery(host, options);
    const nc = host.options.nc;
    for (const verb of VERBS) {
      for (const subject of discovery.subjects(verb)) {
        const sub = nc.subscribe(subject, {
          callback: (error, msg) => {
            if (error === null) msg.respond(JSON.stringify(discovery.response(verb)));
          },
        });
        discovery.subscriptions.push(sub);
      }
    }
    return discovery;
  }

  /** `$SRV.<verb>`, `$SRV.<verb>.<name>`, `$SRV.<verb>.<name>.<id>`. */
  subjects(verb: Verb): string[] {
    const all = `${SERVICE_API_PREFIX}.${verb}`;
    return [all, `${all}.${SERVICE_NAME}`, `${all}.${SERVICE_NAME}.${this.id}`];
  }

  response(verb: Verb): ServiceIdentity | InfoResponse | StatsResponse {
    if (verb === 'PING') return this.identity(PING_RESPONSE_TYPE);
    return verb === 'INFO' ? this.info() : this.statistics();
  }

  private identity(type: string): ServiceIdentity {
    const warehouses = [...this.host.warehouses.keys()].join(',');
    return {
      type,
      name: SERVICE_NAME,
      id: this.id,
      version: this.version,
      metadata: { region: this.host.region, warehouses },
    };
  }

  private endpoints(): { name: string; subject: string; hosted: HostedWarehouse; kind: 'cmd' | 'query' }[] {
    const region = this.host.region;
    return [...this.host.warehouses.values()].flatMap((hosted) => {
      const id = hosted.entry.id;
      return [
        { name: `${id}-cmd`, subject: commandSubject(region, id), hosted, kind: 'cmd' as const },
        { name: `${id}-query`, subject: querySubject(region, id), hosted, kind: 'query' as const },
      ];
    });
  }

  info(): InfoResponse {
    return {
      ...this.identity(INFO_RESPONSE_TYPE),
      description: `darkstore region process of ${this.host.region}: commands and queries of its warehouses`,
      endpoints: this.endpoints().map((e) => ({
        name: e.name,
        subject: e.subject,
        metadata: { warehouse: e.hosted.entry.id, kind: e.kind === 'cmd' ? 'command' : 'query', format: 'msgpack' },
      })),
    };
  }

  statistics(): StatsResponse {
    return {
      ...this.identity(STATS_RESPONSE_TYPE),
      started: this.started,
      endpoints: this.endpoints().map((e) => {
        const c = this.stats.of(e.name);
        return {
          name: e.name,
          subject: e.subject,
          num_requests: c.requests,
          num_errors: c.errors,
          last_error: c.lastError,
          processing_time: c.processingNs,
          average_processing_time: c.requests === 0 ? 0 : Math.trunc(c.processingNs / c.requests),
          data: statusOf(e.hosted),
        };
      }),
    };
  }

  /** Stops answering (drains the subscriptions). */
  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.drain().catch(() => undefined)));
  }
}
