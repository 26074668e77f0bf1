/**
 * Operating a region process, against a real nats-server: the Prometheus metrics (what each
 * counter, histogram and gauge reports after known traffic), health and discovery by the NATS
 * service protocol (`$SRV.PING|INFO|STATS` bodies), graceful shutdown of a real `darkstore serve`
 * child on SIGTERM under load and on SIGINT (in-flight requests answered, a snapshot at the last
 * seq, exit 0, a restart with nothing to replay), and fault isolation (a warehouse whose WAL is
 * corrupt answers UNAVAILABLE with the reason while its neighbour serves and the process stays up).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import {
  connect,
  type NatsConnection,
  PermissionViolationError,
  RequestError,
  type Subscription,
  TimeoutError,
} from '@nats-io/transport-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Command, decode, encode, type Result } from '../../engine/index.ts';
import { DurableWarehouse, type WarehouseInspection } from '../../persistence/index.ts';
import {
  checkoutSubject,
  commandSubject,
  decodeEventMessage,
  EVENTS_STREAM,
  eventSubject,
  eventsOf,
  type InfoResponse,
  parseRegionConfig,
  querySubject,
  RegionHost,
  RegionMetrics,
  RequestStats,
  type RunningServices,
  SERVICE_NAME,
  type ServiceIdentity,
  type StatsResponse,
  seedCommands,
  seededSku,
  startRegionServices,
  type WarehouseConfigEntry,
} from '../../service/index.ts';
import { freePort, type NatsServer, startNatsServer } from './nats-server.ts';
import { type RegionProcessConfig, type RegionWarehouseConfig, startRegionProcess } from './region-process.ts';

const BIN = fileURLToPath(new URL('../../bin/darkstore.js', import.meta.url));
const REGION = 'berlin';
const REQUEST_TIMEOUT_MS = 5_000;

function warehouse(id: string, skus: number, unitsPerSku: number): RegionWarehouseConfig {
  return {
    id,
    location: { lat: 52.52, lon: 13.405 },
    radiusKm: 3,
    slaMinutes: 20,
    catalog: { seed: 1, skus, unitsPerSku },
    pickers: 1,
    couriers: 1,
  };
}

type Outcome = Result<unknown> | 'no-responders' | 'timeout';

/** Sends one msgpack request; a missing answer is an outcome, not an exception. */
async function call(nc: NatsConnection, subject: string, body: unknown): Promise<Outcome> {
  try {
    const reply = await nc.request(subject, encode(body), { timeout: REQUEST_TIMEOUT_MS });
    return decode(reply.data) as Result<unknown>;
  } catch (error) {
    if (error instanceof TimeoutError) return 'timeout';
    if (error instanceof RequestError && error.isNoResponders()) return 'no-responders';
    throw error;
  }
}

function reserve(key: string, sku: string, quantity: number, ttlMs = 600_000): Command {
  return { type: 'reserve', key, lines: [{ sku, quantity }], ttlMs };
}

function errorCode(outcome: Outcome): string | undefined {
  return typeof outcome === 'object' && !outcome.ok ? outcome.error.code : undefined;
}

/** One sample of the exposition text, by metric name and labels (undefined when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.indexOf('}'));
    const pairs = new Map(body.split(',').map((p) => p.split('=') as [string, string]));
    if (Object.entries(labels).every(([k, v]) => pairs.get(k) === JSON.stringify(v))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

async function scrape(port: number, pathname = '/metrics'): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${pathname}`);
  return { status: res.status, text: await res.text() };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function inspect(dataDir: string): WarehouseInspection[] {
  const run = spawnSync(process.execPath, [BIN, 'inspect', dataDir, '--json'], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as WarehouseInspection[];
}

/** The pino JSON lines of a child's stderr with the given message. */
function logLines(stderr: string, msg: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === msg);
}

/** Every response to a discovery request on `subject` (all instances answer a broadcast). */
async function discover<T>(nc: NatsConnection, subject: string): Promise<T[]> {
  const replies: T[] = [];
  for await (const msg of await nc.requestMany(subject, '', { strategy: 'timer', maxWait: 250 })) {
    replies.push(JSON.parse(msg.string()) as T);
  }
  return replies;
}

/** The response of one instance (addressed by its id). */
async function ask<T>(nc: NatsConnection, subject: string): Promise<T> {
  return JSON.parse((await nc.request(subject, '', { timeout: 1_000 })).string()) as T;
}

/** Permission errors a connection reported (publishes refused by the server). */
function refusedPublishes(conn: NatsConnection): string[] {
  const refused: string[] = [];
  void (async () => {
    for await (const status of conn.status()) {
      if (status.type === 'error' && status.error instanceof PermissionViolationError)
        refused.push(status.error.subject);
    }
  })();
  return refused;
}

interface ConfiguredNats {
  url: string;
  /** What the server logged so far (permission violations are logged with the user). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * A nats-server with a configuration of the test's own (the shared helper only knows plain users):
 * `body` follows the `listen` line; `env` holds the variables the configuration refers to.
 */
async function startConfiguredNats(body: string, env: Record<string, string> = {}): Promise<ConfiguredNats> {
  const port = await freePort();
  const dir = tempDir('nats');
  const file = path.join(dir, 'nats.conf');
  fs.writeFileSync(file, `listen: 127.0.0.1:${port}\n${body.replaceAll('STORE_DIR', path.join(dir, 'store'))}\n`);
  const binary = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((b) =>
    fs.existsSync(b),
  );
  const child: ChildProcess = spawn(binary ?? 'nats-server', ['-c', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  await until('nats-server to start', async () => (log.includes('Server is ready') ? true : undefined), 10_000);
  return {
    url: `nats://127.0.0.1:${port}`,
    log: () => log,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The nats-server configuration block of docs/nats.md (the permission layout it documents). */
function documentedPermissions(): string {
  const doc = fs.readFileSync(fileURLToPath(new URL('../../docs/nats.md', import.meta.url)), 'utf8');
  const block = /```conf\n([\s\S]*?)```/.exec(doc)?.[1];
  if (block === undefined || !block.includes('authorization {')) throw new Error('docs/nats.md has no conf block');
  return block;
}

let nats: NatsServer;
let nc: NatsConnection;
const tempDirs: string[] = [];

function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `darkstore-ops-${label}-`));
  tempDirs.push(dir);
  return dir;
}

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('an in-process region with metrics and discovery', () => {
  let host: RegionHost;
  let services: RunningServices;
  let metricsPort: number;
  const W = 'W1';

  beforeAll(async () => {
    const config = parseRegionConfig({ region: REGION, warehouses: [warehouse(W, 20, 10)] });
    const metrics = new RegionMetrics(REGION, { processMetrics: false });
    const requestStats = new RequestStats();
    const regionNc = await connect({ servers: nats.url });
    host = await RegionHost.start({
      nc: regionNc,
      config,
      dataDir: tempDir('inproc'),
      logger: pino({ level: 'silent' }),
      checkpoint: 'off',
      onCommitted: metrics.onCommitted,
      onSync: metrics.onSync,
      onRequest: (s) => {
        metrics.onRequest(s);
        requestStats.record(s);
      },
    });
    metricsPort = await freePort();
    services = await startRegionServices(host, { metricsPort, metrics, requestStats });
  });

  afterAll(async () => {
    await services?.stop();
    await host?.stop();
    await host?.options.nc.close();
  });

  it('GET /metrics reports latency by command, refusals, oversell, reservations, batches, WAL syncs and publish lag', async () => {
    const cmd = commandSubject(REGION, W);
    expect(await call(nc, cmd, reserve('m-expiring', seededSku(0), 3, 1_000))).toMatchObject({ ok: true });
    expect(errorCode(await call(nc, cmd, reserve('m-oversell', seededSku(1), 999)))).toBe('INSUFFICIENT_STOCK');
    const batch = await call(nc, cmd, {
      type: 'batch',
      commands: [reserve('m-b1', seededSku(2), 1), reserve('m-b2', seededSku(3), 1), reserve('m-b3', seededSku(4), 50)],
    });
    expect(batch).toMatchObject({ ok: true, value: { kind: 'batch' } });
    // A count below what is reserved puts the reservation at risk.
    expect(await call(nc, cmd, { type: 'count', key: 'm-count', sku: seededSku(2), counted: 0 })).toMatchObject({
      ok: true,
    });
    // A made-up type is one `other` series, whatever its name: senders cannot grow the label set.
    expect(errorCode(await call(nc, cmd, { type: 'x'.repeat(80), key: 'm-bogus' }))).toBe('VALIDATION_ERROR');
    const query = querySubject(REGION, W);
    expect(await call(nc, query, { type: 'availability', skus: [seededSku(0)] })).toMatchObject({ ok: true });

    // The first reservation's TTL (1 s) runs out: the runtime's timer expires it.
    const text = await until('the expiry to be counted', async () => {
      const { text } = await scrape(metricsPort);
      return sample(text, 'darkstore_reservations_expired_total', { warehouse: W }) === 1 ? text : undefined;
    });
    const at = (name: string, labels: Record<string, string> = {}) =>
      sample(text, name, { region: REGION, warehouse: W, ...labels });
    expect(at('darkstore_command_duration_seconds_count', { command: 'reserve' })).toBe(2);
    expect(at('darkstore_command_duration_seconds_count', { command: 'batch' })).toBe(1);
    expect(at('darkstore_command_duration_seconds_count', { command: 'count' })).toBe(1);
    expect(at('darkstore_command_duration_seconds_count', { command: 'other' })).toBe(1);
    expect(at('darkstore_command_duration_seconds_sum', { command: 'reserve' })).toBeGreaterThan(0);
    expect(at('darkstore_query_duration_seconds_count', { query: 'availability' })).toBe(1);
    expect(at('darkstore_oversell_refused_total', { command: 'reserve' })).toBe(1);
    expect(at('darkstore_oversell_refused_total', { command: 'batch' })).toBe(1);
    expect(at('darkstore_command_refusals_total', { command: 'other', code: 'VALIDATION_ERROR' })).toBe(1);
    expect(at('darkstore_reservations_open')).toBe(2);
    expect(at('darkstore_reservations_at_risk_total')).toBe(1);
    expect(at('darkstore_dispatch_queue_length')).toBe(0);
    expect(at('darkstore_warehouse_up')).toBe(1);
    expect(at('darkstore_requests_in_flight')).toBe(0);
    expect(at('darkstore_batch_commands_count')).toBeGreaterThanOrEqual(4);
    expect(at('darkstore_batch_commands_sum')).toBe(at('darkstore_commands_total'));
    expect(at('darkstore_wal_fsyncs_total')).toBeGreaterThan(0);
    expect(at('darkstore_wal_fsync_seconds_total')).toBeGreaterThan(0);
    expect(at('darkstore_wal_fsync_duration_seconds_count')).toBeGreaterThan(0);
    expect(at('darkstore_wal_fsync_seconds_max')).toBeGreaterThan(0);
    expect(at('darkstore_event_publish_lag_seconds_count')).toBe(at('darkstore_batch_commands_count'));
    expect(at('darkstore_events_published_total')).toBeGreaterThan(0);
    const regionWide = (name: string) => sample(text, name, { region: REGION });
    expect(regionWide('darkstore_nats_connected')).toBe(1);
    // The stream acknowledges the event messages (the last ones may still be on their way), none
    // had to go again.
    expect(regionWide('darkstore_events_unacked_messages')).toBeLessThanOrEqual(2);
    expect(regionWide('darkstore_events_unacked_oldest_seconds')).toBeLessThan(5);
    expect(regionWide('darkstore_events_resent_total')).toBe(0);
    expect(regionWide('darkstore_events_refused_total')).toBe(0);
    expect(regionWide('darkstore_events_resend_given_up_total')).toBe(0);
    expect(text).not.toContain('x'.repeat(80));
    // Counters read from the runtime's totals grow by increments only: a second scrape agrees.
    const again = (await scrape(metricsPort)).text;
    expect(sample(again, 'darkstore_commands_total', { warehouse: W })).toBe(at('darkstore_commands_total'));
    expect((await scrape(metricsPort, '/other')).status).toBe(404);
  });

  it('answers $SRV.PING, INFO and STATS on all three subject forms with the micro protocol bodies', async () => {
    const [ping] = await discover<ServiceIdentity>(nc, `$SRV.PING.${SERVICE_NAME}`);
    expect(ping).toEqual({
      type: 'io.nats.micro.v1.ping_response',
      name: SERVICE_NAME,
      id: expect.stringMatching(/^[A-Za-z0-9]{22}$/),
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      metadata: { region: REGION, warehouses: W },
    });
    const id = (ping as ServiceIdentity).id;
    expect((await discover<ServiceIdentity>(nc, '$SRV.PING')).filter((r) => r.id === id)).toEqual([ping]);
    expect(await ask<ServiceIdentity>(nc, `$SRV.PING.${SERVICE_NAME}.${id}`)).toEqual(ping);
    const info = await ask<InfoResponse>(nc, `$SRV.INFO.${SERVICE_NAME}.${id}`);
    expect(info).toEqual({
      ...ping,
      type: 'io.nats.micro.v1.info_response',
      description: expect.stringContaining(REGION),
      endpoints: [
        {
          name: `${W}-cmd`,
          subject: commandSubject(REGION, W),
          metadata: { warehouse: W, kind: 'command', format: 'msgpack' },
        },
        {
          name: `${W}-query`,
          subject: querySubject(REGION, W),
          metadata: { warehouse: W, kind: 'query', format: 'msgpack' },
        },
      ],
    });
    const stats = () => ask<StatsResponse>(nc, `$SRV.STATS.${SERVICE_NAME}.${id}`);
    const broadcast = await discover<StatsResponse>(nc, '$SRV.STATS');
    expect(broadcast.filter((r) => r.id === id)).toHaveLength(1);
    const before = await stats();
    expect(before).toMatchObject({ ...ping, type: 'io.nats.micro.v1.stats_response' });
    expect(new Date(before.started).toISOString()).toBe(before.started);
    const [cmdBefore, queryBefore] = before.endpoints;
    for (let i = 0; i < 3; i++) await call(nc, commandSubject(REGION, W), reserve(`d-${i}`, seededSku(5), 1));
    await call(nc, querySubject(REGION, W), { type: 'fulfillment' });
    const after = await stats();
    const [cmd, q] = after.endpoints;
    expect(cmd).toMatchObject({
      name: `${W}-cmd`,
      subject: commandSubject(REGION, W),
      num_requests: (cmdBefore?.num_requests ?? 0) + 3,
      num_errors: 0,
      last_error: '',
      data: { warehouse: W, status: 'serving', in_flight: 0 },
    });
    expect(q?.num_requests).toBe((queryBefore?.num_requests ?? 0) + 1);
    for (const e of after.endpoints) {
      expect(Number.isInteger(e.processing_time)).toBe(true);
      expect(e.processing_time).toBeGreaterThan(0);
      expect(e.average_processing_time).toBe(Math.trunc(e.processing_time / e.num_requests));
    }
  });
});

describe('darkstore serve as a child process', () => {
  it('SIGTERM under load: stops taking requests, answers those in flight, snapshots at the last seq, exits 0; a restart replays nothing', async () => {
    const config: RegionProcessConfig = { region: REGION, warehouses: [warehouse('W1', 50, 10_000)] };
    const proc = await startRegionProcess({ natsUrl: nats.url, config, logLevel: 'info' });
    let maxEventSeq = 0;
    const events: Subscription = nc.subscribe(eventsOf(REGION, 'W1'), {
      callback: (error, msg) => {
        if (error !== null) return;
        for (const { seq } of decodeEventMessage(msg.data) ?? []) maxEventSeq = Math.max(maxEventSeq, seq);
      },
    });
    const outcomes = new Map<string, Outcome>();
    let loading = true;
    let answeredAfterSignal = 0;
    let signalled = false;
    const client = async (c: number) => {
      for (let n = 0; loading; n++) {
        const key = `load-${c}-${n}`;
        const outcome = await call(nc, commandSubject(REGION, 'W1'), reserve(key, seededSku((c * 7 + n) % 50), 1));
        outcomes.set(key, outcome);
        if (signalled && typeof outcome === 'object') answeredAfterSignal++;
        if (typeof outcome !== 'object') await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const clients = Array.from({ length: 16 }, (_, c) => client(c));
    await until('some load to be acknowledged', async () => (outcomes.size >= 200 ? true : undefined));
    signalled = true;
    const exitCode = await proc.stop();
    loading = false;
    await Promise.all(clients);
    await nc.flush();
    events.unsubscribe();
    expect(exitCode, proc.stderr()).toBe(0);

    const all = [...outcomes.values()];
    const acked = [...outcomes].filter(([, o]) => typeof o === 'object' && o.ok).map(([k]) => k);
    const refused = [...outcomes].filter(([, o]) => errorCode(o) !== undefined).map(([k]) => k);
    // Every request the process took got its answer; later ones found nobody listening.
    expect(all.filter((o) => o === 'timeout')).toEqual([]);
    expect(refused.every((k) => errorCode(outcomes.get(k) as Outcome) === 'UNAVAILABLE')).toBe(true);
    expect(acked.length).toBeGreaterThanOrEqual(200);
    expect(all.some((o) => o === 'no-responders')).toBe(true);
    const stopLog = logLines(proc.stderr(), 'shutting down');
    expect(stopLog.map((l) => l.signal)).toEqual(['SIGTERM']);
    expect(logLines(proc.stderr(), 'stopped')).toHaveLength(1);

    const [w1] = inspect(proc.dataDir);
    expect(w1?.walRecordsAfterSnapshot).toBe(0);
    expect(w1?.snapshot?.walSeq).toBe(maxEventSeq);
    expect(w1?.openReservations).toBe(acked.length);

    const restarted = await proc.restart();
    try {
      const [recovered] = logLines(restarted.stderr(), 'warehouse recovered');
      expect(recovered).toMatchObject({ warehouseId: 'W1', replayed: 0, snapshotSeq: maxEventSeq });
      // Acknowledged means durable; anything refused or never answered was never applied.
      const lookups = await Promise.all(
        [...outcomes.keys()].map(
          async (key) => [key, await call(nc, querySubject(REGION, 'W1'), { type: 'command', key })] as const,
        ),
      );
      const applied = lookups.filter(([, o]) => typeof o === 'object' && o.ok).map(([k]) => k);
      expect(applied.sort()).toEqual([...acked].sort());
      expect(
        lookups.filter(([, o]) => typeof o === 'object' && !o.ok).every(([, o]) => errorCode(o) === 'NOT_FOUND'),
      ).toBe(true);
      console.info(
        `graceful SIGTERM: ${acked.length} acked, ${refused.length} refused while stopping, ` +
          `${all.filter((o) => o === 'no-responders').length} after, ${answeredAfterSignal} answered after the signal, ` +
          `snapshot at seq ${w1?.snapshot?.walSeq}`,
      );
      expect(await restarted.stop()).toBe(0);
    } finally {
      await restarted.cleanup();
    }
  });

  it('SIGINT: the same graceful stop, with --pretty logs', async () => {
    const config: RegionProcessConfig = { region: REGION, warehouses: [warehouse('W1', 10, 10)] };
    const proc = await startRegionProcess({ natsUrl: nats.url, config, logLevel: 'info', args: ['--pretty'] });
    try {
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          call(nc, commandSubject(REGION, 'W1'), reserve(`int-${i}`, seededSku(i), 1)),
        ),
      );
      expect(results.every((r) => typeof r === 'object' && r.ok)).toBe(true);
      expect(await proc.kill('SIGINT')).toBe(0);
      const [w1] = inspect(proc.dataDir);
      expect(w1?.walRecordsAfterSnapshot).toBe(0);
      expect(w1?.openReservations).toBe(5);
      const stderr = proc.stderr();
      expect(stderr).toMatch(/INFO.*shutting down/);
      expect(stderr).toContain('SIGINT');
      expect(stderr.split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
    } finally {
      await proc.cleanup();
    }
  });

  it('a warehouse with a corrupt WAL answers UNAVAILABLE with the reason; its neighbour serves; the process stays up', async () => {
    const dataDir = tempDir('fault');
    const broken = warehouse('W2', 10, 10);
    // W2 once ran: a few commands in its WAL, no snapshot. Then a byte of its second record changed.
    const w2 = DurableWarehouse.open({ dataDir, warehouseId: 'W2', checkpoint: 'off' });
    const [entry] = parseRegionConfig({ region: REGION, warehouses: [broken] }).warehouses;
    const seeded = seedCommands(entry as WarehouseConfigEntry);
    for (const c of seeded.slice(0, 8)) expect((await w2.submit(c)).ok).toBe(true);
    await w2.close({ snapshot: false });
    const walDir = path.join(dataDir, 'W2', 'wal');
    const [segment] = fs.readdirSync(walDir);
    const file = path.join(walDir, segment as string);
    const bytes = fs.readFileSync(file);
    const second = 16 + 8 + bytes.readUInt32LE(16);
    bytes[second + 8 + 3] = (bytes[second + 8 + 3] as number) ^ 0xff;
    fs.writeFileSync(file, bytes);

    const metricsPort = await freePort();
    const config: RegionProcessConfig = { region: REGION, warehouses: [warehouse('W1', 10, 10), broken] };
    const proc = await startRegionProcess({
      natsUrl: nats.url,
      config,
      dataDir,
      logLevel: 'info',
      args: ['--metrics-port', String(metricsPort)],
    });
    try {
      const refusedCmd = await call(nc, commandSubject(REGION, 'W2'), reserve('f-1', seededSku(0), 1));
      const refusedQuery = await call(nc, querySubject(REGION, 'W2'), { type: 'fulfillment' });
      for (const refused of [refusedCmd, refusedQuery]) {
        expect(refused).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
        const error = typeof refused === 'object' && !refused.ok ? refused.error : undefined;
        expect(error?.message).toMatch(
          /warehouse W2 failed: WAL corrupt in .*wal-\d+\.log at byte \d+: damaged record/,
        );
        // Failed until an operator acts: the refusal names no time to come back.
        expect(error).not.toHaveProperty('retryAfterMs');
      }
      // A checkout nobody can take, with the failed W2 among its candidates, is final: no time to ask again.
      const nobody = await call(nc, checkoutSubject(REGION), {
        key: 'ck-f',
        orderId: 'o-f',
        customerId: 'c',
        address: { lat: 52.52, lon: 13.405 },
        lines: [{ sku: 'sku-nobody-has', quantity: 1 }],
        paymentToken: 't',
      });
      expect(nobody).toMatchObject({
        ok: false,
        error: {
          code: 'NO_FULFILLMENT_CENTER',
          candidates: expect.arrayContaining([expect.objectContaining({ warehouseId: 'W2', reason: 'unavailable' })]),
        },
      });
      expect(typeof nobody === 'object' && !nobody.ok ? nobody.error : undefined).not.toHaveProperty('retryAfterMs');
      expect(await call(nc, commandSubject(REGION, 'W1'), reserve('f-2', seededSku(0), 1))).toMatchObject({ ok: true });
      expect(await call(nc, querySubject(REGION, 'W1'), { type: 'reservation', reservationId: 'nope' })).toMatchObject({
        ok: false,
        error: { code: 'NOT_FOUND' },
      });
      expect(proc.running()).toBe(true);
      expect(logLines(proc.stderr(), 'region ready')[0]).toMatchObject({ failed: ['W2'] });

      const { text } = await scrape(metricsPort);
      expect(sample(text, 'darkstore_warehouse_up', { region: REGION, warehouse: 'W1' })).toBe(1);
      expect(sample(text, 'darkstore_warehouse_up', { region: REGION, warehouse: 'W2' })).toBe(0);
      expect(sample(text, 'darkstore_command_refusals_total', { warehouse: 'W2', code: 'UNAVAILABLE' })).toBe(1);
      expect(text).toContain('nodejs_eventloop_lag_seconds');

      const [stats] = await discover<StatsResponse>(nc, `$SRV.STATS.${SERVICE_NAME}`);
      const byName = new Map(stats?.endpoints.map((e) => [e.name, e]));
      expect(byName.get('W1-cmd')?.data).toEqual({ warehouse: 'W1', status: 'serving', in_flight: 0 });
      expect(byName.get('W2-cmd')).toMatchObject({
        num_requests: 1,
        num_errors: 1,
        last_error: expect.stringContaining('WAL corrupt'),
        data: { warehouse: 'W2', status: 'failed', reason: expect.stringContaining('WAL corrupt') },
      });
      expect(byName.get('W2-query')?.num_errors).toBe(1);

      // The damaged log is left as found, for an operator; the healthy warehouse still closes cleanly.
      expect(await proc.stop()).toBe(0);
      expect(fs.readFileSync(file).equals(bytes)).toBe(true);
      const w1 = inspect(dataDir).find((w) => w.warehouseId === 'W1');
      expect(w1?.walRecordsAfterSnapshot).toBe(0);
    } finally {
      await proc.cleanup();
    }
  });

  it('refuses to start without JetStream: exits 3 with the reason instead of hanging', async () => {
    const plain = await startConfiguredNats('');
    try {
      const config: RegionProcessConfig = { region: REGION, warehouses: [warehouse('W1', 5, 5)] };
      await expect(startRegionProcess({ natsUrl: plain.url, config })).rejects.toThrow(
        /exited with 3[\s\S]*jetstream is not enabled/,
      );
    } finally {
      await plain.stop();
    }
  });

  it('SIGTERM while NATS is unreachable: still drains and exits 0, its snapshot stops below the events the stream never acknowledged', async () => {
    const lonely = await startNatsServer();
    const config: RegionProcessConfig = { region: REGION, warehouses: [warehouse('W1', 10, 10)] };
    const proc = await startRegionProcess({ natsUrl: lonely.url, config, logLevel: 'info' });
    try {
      const conn = await connect({ servers: lonely.url });
      for (let i = 0; i < 3; i++) {
        // Holds of a second: they expire while NATS is away, and the expiries' events cannot leave.
        expect(
          await call(conn, commandSubject(REGION, 'W1'), reserve(`down-${i}`, seededSku(i), 1, 1_000)),
        ).toMatchObject({ ok: true });
      }
      await conn.close();
      await lonely.stop();
      const lost = 'connection to NATS lost: events kept until the stream acknowledges them';
      await until('the region to notice', async () => (logLines(proc.stderr(), lost).length > 0 ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await proc.stop()).toBe(0);
      const unacked =
        'events not acknowledged by the stream at stop: snapshots stay below them, the next start publishes them';
      expect(logLines(proc.stderr(), unacked)).toHaveLength(1);
      expect(logLines(proc.stderr(), 'stopped')).toHaveLength(1);
      const [w1] = inspect(proc.dataDir);
      // The stop's snapshot covers the holds (their events were acknowledged) but not the expiry
      // ticks, whose events never left: those stay in the log.
      expect(w1?.snapshot).toBeDefined();
      expect(w1?.walRecordsAfterSnapshot).toBeGreaterThanOrEqual(1);
      expect(w1?.walRecordsAfterSnapshot).toBeLessThanOrEqual(3);
    } finally {
      await proc.cleanup();
      await lonely.stop();
    }
  });
});

describe('the permission layout of docs/nats.md, on a real nats-server', () => {
  it('clients command their own region only, only the engine publishes events, readers read, ops discover', async () => {
    const pass = { ENGINE_PASS: 'engine-secret', CLIENT_PASS: 'client-secret', READER_PASS: 'reader-secret' };
    const server = await startConfiguredNats(`jetstream { store_dir: "STORE_DIR" }\n${documentedPermissions()}`, {
      ...pass,
      OPS_PASS: 'ops-secret',
    });
    const config: RegionProcessConfig = { region: REGION, warehouses: [warehouse('W1', 10, 10)] };
    const proc = await startRegionProcess({
      natsUrl: server.url,
      config,
      args: ['--user', 'berlin-engine', '--pass', pass.ENGINE_PASS],
    });
    const client = await connect({ servers: server.url, user: 'berlin-client', pass: pass.CLIENT_PASS });
    const reader = await connect({ servers: server.url, user: 'berlin-events', pass: pass.READER_PASS });
    const ops = await connect({ servers: server.url, user: 'ops', pass: 'ops-secret' });
    try {
      const clientRefused = refusedPublishes(client);
      const readerRefused = refusedPublishes(reader);
      const seen: { forged?: boolean }[] = [];
      reader.subscribe(eventsOf(REGION, 'W1'), {
        callback: (_, msg) => {
          seen.push(decode(msg.data) as { forged?: boolean });
        },
      });
      await reader.flush();

      // What a client may do: its region's commands, queries, checkout and catalog.
      const cmd = commandSubject(REGION, 'W1');
      expect(await call(client, cmd, reserve('perm-1', seededSku(0), 1))).toMatchObject({ ok: true });
      expect(await call(client, querySubject(REGION, 'W1'), { type: 'fulfillment' })).toMatchObject({ ok: true });
      const checkout = await call(client, `darkstore.${REGION}.checkout`, {
        key: 'perm-checkout',
        orderId: 'perm-order',
        customerId: 'c1',
        address: { lat: 52.52, lon: 13.405 },
        lines: [{ sku: seededSku(1), quantity: 1 }],
        paymentToken: 'tok',
      });
      expect(checkout).toMatchObject({ ok: true, value: { kind: 'checkout', warehouseId: 'W1' } });
      await until('the catalog to answer', async () => {
        const items = await call(client, `darkstore.${REGION}.catalog`, { address: { lat: 52.52, lon: 13.405 } });
        return typeof items === 'object' && items.ok ? items : undefined;
      });

      // What it may not: publish an event, command another region, ask discovery.
      client.publish(eventSubject(REGION, 'W1', 'availability.changed'), encode({ forged: true }));
      await expect(call(client, commandSubject('paris', 'W1'), reserve('perm-2', seededSku(0), 1))).rejects.toThrow(
        /Permissions Violation/,
      );
      await expect(client.request('$SRV.PING', '', { timeout: 1_000 })).rejects.toThrow(/Permissions Violation/);
      // A reader reads events (live and through a JetStream consumer) and may not publish one or command.
      const consumer = await jetstream(reader).consumers.get(EVENTS_STREAM, {
        filter_subjects: eventsOf(REGION, 'W1'),
      });
      const first = await consumer.next({ expires: 2_000 });
      expect(first?.subject).toMatch(/^darkstore\.berlin\.W1\.evt\./);
      await consumer.delete();
      reader.publish(eventSubject(REGION, 'W1', 'order.changed'), encode({ forged: true }));
      await expect(call(reader, cmd, reserve('perm-3', seededSku(0), 1))).rejects.toThrow(/Permissions Violation/);
      // Ops discover the region process.
      const ping = JSON.parse((await ops.request(`$SRV.PING.${SERVICE_NAME}`, '', { timeout: 1_000 })).string());
      expect(ping).toMatchObject({ name: SERVICE_NAME, metadata: { region: REGION } });

      await Promise.all([client.flush(), reader.flush()]);
      await until('the refusals to be reported', async () =>
        clientRefused.length >= 1 && readerRefused.length >= 1 ? true : undefined,
      );
      expect(clientRefused).toContain(eventSubject(REGION, 'W1', 'availability.changed'));
      expect(readerRefused).toContain(eventSubject(REGION, 'W1', 'order.changed'));
      // The engine's events reached the reader; the forged ones reached nobody.
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.filter((e) => e.forged === true)).toEqual([]);
      expect(await proc.stop()).toBe(0);
      // The engine did everything it does (stream, directory, consumers, checkout) with nothing refused.
      expect(server.log()).not.toMatch(/Violation - User "berlin-engine"/);
      expect(server.log()).toMatch(/Publish Violation - User "berlin-client", Subject "darkstore\.berlin\.W1\.evt/);
    } finally {
      await Promise.all([client.close(), reader.close(), ops.close()]);
      await proc.cleanup();
      await server.stop();
    }
  });
});
