/**
 * Events across a crash of nats-server: a region keeps committing while its NATS is SIGKILLed and
 * started again on the same port and store; once its connection is back, the stream holds every
 * event the region committed (what the crash took is published again, what arrived twice is
 * dropped by the duplicate window). And events the stream refused (it was deleted): published again
 * until it takes them, never covered by a snapshot meanwhile, and published by the next start when
 * the process stopped first. And a message the stream refused while a later one of its subject was
 * stored, followed by a SIGKILL of the region process: the restart publishes it again, because it
 * goes by the region's acknowledged mark, not by the last message the stream holds. Real
 * nats-server, real region host and process, real files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { decode, encode, type Result } from '../../engine/index.ts';
import { inspectDataDir, warehousePaths } from '../../persistence/index.ts';
import {
  commandSubject,
  decodeEventMessage,
  EVENTS_STREAM,
  ensureEventStream,
  queryChanges,
  type RegionConfig,
  RegionHost,
  readAckedMark,
  seededSku,
} from '../../service/index.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';
import { berlinConfig, type RegionProcess, startRegionProcess } from './region-process.ts';

const REGION = 'resend';
const W = 'W1';
const SKUS = 20;

const config: RegionConfig = {
  region: REGION,
  warehouses: [
    {
      id: W,
      location: { lat: 52.52, lon: 13.405 },
      radiusKm: 3,
      slaMinutes: 30,
      catalog: { seed: 5, skus: SKUS, unitsPerSku: 1_000 },
      pickers: 1,
      couriers: 1,
    },
  ],
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: NatsServer | undefined;
let nc: NatsConnection | undefined;
let host: RegionHost | undefined;
let dataDir: string | undefined;

afterAll(async () => {
  await host?.stop();
  await nc?.close();
  await server?.stop();
  if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Every distinct (seq, index) of the region's events the stream holds. */
async function storedEvents(reader: NatsConnection): Promise<Set<string>> {
  const jsm = await jetstreamManager(reader);
  const { state } = await jsm.streams.info(EVENTS_STREAM);
  const out = new Set<string>();
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(EVENTS_STREAM, { seq }).catch(() => null);
    if (m === null || !m.subject.startsWith(`darkstore.${REGION}.`)) continue;
    for (const e of decodeEventMessage(m.data) ?? []) out.add(`${e.seq}:${e.index}`);
  }
  return out;
}

describe('events across a nats-server crash', () => {
  it('a region committing through a SIGKILL and restart of its NATS ends with every event in the stream', async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkstore-resend-'));
    let published = 0;
    host = await RegionHost.start({
      nc,
      config,
      dataDir,
      logger: pino({ level: 'silent' }),
      checkpoint: 'inline',
      onCommitted: (_warehouseId, _commands, _durationMs, events) => {
        published += events.length;
      },
    });
    const warehouse = host.warehouses.get(W)?.host?.warehouse;
    if (warehouse === undefined) throw new Error('warehouse not open');
    let loading = true;
    let n = 0;
    const load = (async () => {
      while (loading) {
        await Promise.all(
          Array.from({ length: 16 }, () => {
            const i = n++;
            const sku = `sku-${String(i % SKUS).padStart(5, '0')}`;
            return warehouse.submit({ key: `load-${i}`, type: 'adjust', sku, delta: 1, reason: 'found' });
          }),
        );
      }
    })();
    await sleep(300);
    await server.kill();
    await sleep(300);
    await server.restart();
    await sleep(500);
    loading = false;
    await load;
    expect(n).toBeGreaterThan(100);

    const reader = await connect({ servers: server.url });
    try {
      const deadline = Date.now() + 20_000;
      let stored = await storedEvents(reader);
      while (stored.size < published && Date.now() < deadline) {
        await sleep(200);
        stored = await storedEvents(reader);
      }
      expect(stored.size).toBe(published);
      const resend = host.eventPublication();
      expect(resend).toMatchObject({ connected: true, givenUp: 0 });
      expect(resend.resent).toBeGreaterThan(0);
    } finally {
      await reader.close();
    }
  });
});

describe('events the stream refused', () => {
  /** A region on its own server, counting the events it commits. */
  async function region(
    own: NatsServer,
    dir: string,
    committed: { events: number },
    eventUnackedBytesMax?: number,
    eventCatchUpMs?: number,
  ): Promise<[NatsConnection, RegionHost]> {
    const conn = await connect({ servers: own.url });
    const started = await RegionHost.start({
      nc: conn,
      config,
      dataDir: dir,
      logger: pino({ level: 'silent' }),
      checkpoint: 'inline',
      eventAckWaitMs: 200,
      ...(eventUnackedBytesMax === undefined ? {} : { eventUnackedBytesMax }),
      ...(eventCatchUpMs === undefined ? {} : { eventCatchUpMs }),
      onCommitted: (_warehouseId, _commands, _durationMs, events) => {
        committed.events += events.length;
      },
    });
    return [conn, started];
  }

  async function adjust(h: RegionHost, from: number, count: number): Promise<void> {
    const warehouse = h.warehouses.get(W)?.host?.warehouse;
    if (warehouse === undefined) throw new Error('warehouse not open');
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        warehouse.submit({
          key: `gone-${from + i}`,
          type: 'adjust',
          sku: `sku-0000${i % 5}`,
          delta: 1,
          reason: 'found',
        }),
      ),
    );
  }

  /**
   * Ten adjustments the stream acknowledges, then the stream is deleted: where the warehouse stood
   * (its last seq, all acknowledged) and how many events it had committed.
   */
  async function loseStream(
    h: RegionHost,
    reader: NatsConnection,
    committed: { events: number },
  ): Promise<{ acknowledgedThrough: number; before: number }> {
    await adjust(h, 0, 10);
    await until(() => h.eventPublication().unacked === 0);
    await (await jetstreamManager(reader)).streams.delete(EVENTS_STREAM);
    return {
      acknowledgedThrough: h.warehouses.get(W)?.host?.warehouse.runtime.lastSeq ?? -1,
      before: committed.events,
    };
  }

  /** The events the stream holds once it holds `events` of them (or after 20 s); none while it is gone. */
  async function eventually(reader: NatsConnection, events: number): Promise<Set<string>> {
    const deadline = Date.now() + 20_000;
    const stored = () => storedEvents(reader).catch(() => new Set<string>());
    let held = await stored();
    while (held.size < events && Date.now() < deadline) {
      await sleep(100);
      held = await stored();
    }
    return held;
  }

  interface Own {
    dir: string;
    reader: NatsConnection;
    committed: { events: number };
    /** Starts a region host on the test's server and directory (stopped after the test). */
    start: (eventUnackedBytesMax?: number, eventCatchUpMs?: number) => Promise<RegionHost>;
  }

  /** A nats-server, data directory and reader of the test's own; everything it started stops after. */
  async function onOwnServer(test: (own: Own) => Promise<void>): Promise<void> {
    const own = await startNatsServer();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkstore-refused-'));
    const committed = { events: 0 };
    const reader = await connect({ servers: own.url });
    const started: [NatsConnection, RegionHost][] = [];
    const start = async (eventUnackedBytesMax?: number, eventCatchUpMs?: number) => {
      const pair = await region(own, dir, committed, eventUnackedBytesMax, eventCatchUpMs);
      started.push(pair);
      return pair[1];
    };
    try {
      await test({ dir, reader, committed, start });
    } finally {
      for (const [conn, h] of started) {
        await h.stop();
        await conn.close();
      }
      await reader.close();
      await own.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it('publishes again until the stream takes them, and no snapshot covers them meanwhile', () =>
    onOwnServer(async ({ dir, reader, committed, start }) => {
      const h = await start();
      await adjust(h, 0, 10);
      expect((await eventually(reader, committed.events)).size).toBe(committed.events);
      await until(() => h.eventPublication().unacked === 0);
      // The stream is gone: every message is answered "no responders" and kept.
      const jsm = await jetstreamManager(reader);
      await jsm.streams.delete(EVENTS_STREAM);
      const warehouse = h.warehouses.get(W)?.host?.warehouse;
      const acknowledgedThrough = warehouse?.runtime.lastSeq ?? -1;
      const before = committed.events;
      await adjust(h, 10, 10);
      expect(committed.events).toBeGreaterThan(before);
      await until(() => h.eventPublication().refused > 0);
      expect(h.eventPublication().unacked).toBeGreaterThan(0);
      // A snapshot now covers exactly what the stream acknowledged: up to the first refused command.
      await warehouse?.checkpointNow();
      const [inspected] = inspectDataDir(dir);
      expect(inspected?.snapshot?.walSeq).toBe(acknowledgedThrough);
      expect(inspected?.walRecordsAfterSnapshot).toBe(10);
      await sleep(500);
      expect(h.eventPublication().resent).toBeGreaterThan(0);
      // Back: the next resend is stored, and the stream then holds every event committed since.
      await ensureEventStream(reader);
      const stored = await eventually(reader, committed.events - before);
      expect(stored.size).toBe(committed.events - before);
      await until(() => h.eventPublication().unacked === 0);
      await warehouse?.checkpointNow();
      expect(inspectDataDir(dir)[0]?.walRecordsAfterSnapshot).toBe(0);
    }));

  it('a running region makes a deleted stream again itself, and every event waiting is then stored', () =>
    onOwnServer(async ({ reader, committed, start }) => {
      // Checks every 300 ms; events unanswered for four acknowledgement waits (800 ms) send it looking.
      const h = await start(undefined, 300);
      const { before } = await loseStream(h, reader, committed);
      await adjust(h, 10, 10);
      // Nobody recreates the stream but the region; before, the events waited until a restart.
      const stored = await eventually(reader, committed.events - before);
      expect(stored.size).toBe(committed.events - before);
      await until(() => h.eventPublication().unacked === 0);
      expect(h.eventPublication().givenUp).toBe(0);
    }));

  it('a stop before the stream took them leaves them in the log, and the next start publishes them', () =>
    onOwnServer(async ({ dir, reader, committed, start }) => {
      const h = await start();
      const { acknowledgedThrough, before } = await loseStream(h, reader, committed);
      await adjust(h, 10, 10);
      await h.stop();
      // The stop's snapshot covers what the stream acknowledged, not the ten adjustments after it.
      expect(inspectDataDir(dir)[0]?.snapshot?.walSeq).toBe(acknowledgedThrough);
      expect(inspectDataDir(dir)[0]?.walRecordsAfterSnapshot).toBe(10);
      // The start recreates the stream and republishes what the recovery replays past the mark.
      await start();
      const stored = await eventually(reader, committed.events - before);
      expect(stored.size).toBe(committed.events - before);
    }));

  it('a warehouse that gave up past the byte bound catches up at the next start, its backlog above the bound', () =>
    onOwnServer(async ({ dir, reader, committed, start }) => {
      // Above what the set-up's events keep waiting at once (they must not give up), far below the backlog.
      const BOUND = 12_000;
      const h = await start(BOUND);
      const { acknowledgedThrough, before } = await loseStream(h, reader, committed);
      expect(h.eventPublication().givenUp).toBe(0);
      // Far more than the bound waits unacknowledged: the warehouse gives up publishing.
      for (let i = 0; i < 20; i++) await adjust(h, 10 + i * 20, 20);
      await until(() => h.eventPublication().givenUp > 0);
      await h.stop();
      expect(inspectDataDir(dir)[0]?.snapshot?.walSeq).toBe(acknowledgedThrough);
      // The start recreates the stream and publishes the whole backlog, many times the bound, from
      // the log: it does not give up again (it did, at every start, when the backlog counted).
      const again = await start(BOUND);
      const stored = await eventually(reader, committed.events - before);
      expect(stored.size).toBe(committed.events - before);
      expect(again.eventPublication().givenUp).toBe(0);
      await until(() => again.eventPublication().unacked === 0);
    }));

  it('a warehouse that gave up catches up without a restart, once the stream is there again', () =>
    onOwnServer(async ({ dir, reader, committed, start }) => {
      const BOUND = 12_000;
      const h = await start(BOUND, 300);
      const first = h.warehouses.get(W)?.host?.warehouse;
      const { before } = await loseStream(h, reader, committed);
      // Through the region's endpoint, as its services ask: UNAVAILABLE while it reopens.
      const endpoint = h.endpoint(W);
      for (let i = 0; i < 400; i++) {
        await endpoint?.submit({
          key: `late-${i}`,
          type: 'adjust',
          sku: `sku-0000${i % 5}`,
          delta: 1,
          reason: 'found',
        });
      }
      expect(h.eventPublication().givenUp).toBeGreaterThan(0);
      // The region's check recreates the stream (as a start does) and reopens the warehouse, whose
      // recovery publishes everything it gave up; the process never restarted.
      const stored = await eventually(reader, committed.events - before);
      expect(stored.size).toBe(committed.events - before);
      await until(() => h.eventPublication().unacked === 0);
      const reopened = h.warehouses.get(W)?.host?.warehouse;
      expect(reopened).toBeDefined();
      expect(reopened).not.toBe(first);
      // It goes on: new commands answer, their events reach the stream, a snapshot covers all.
      const seen = committed.events;
      const result = await endpoint?.submit({
        key: 'after',
        type: 'adjust',
        sku: 'sku-00001',
        delta: 1,
        reason: 'found',
      });
      expect(result?.ok).toBe(true);
      expect(committed.events).toBeGreaterThan(seen);
      expect((await eventually(reader, committed.events - before)).size).toBe(committed.events - before);
      await until(() => h.eventPublication().unacked === 0);
      await reopened?.checkpointNow();
      expect(inspectDataDir(dir)[0]?.walRecordsAfterSnapshot).toBe(0);
    }));
});

interface StoredChange {
  seq: number;
  version: number;
  replayed: boolean;
}

/** Per SKU, the newest availability change of the berlin region the stream holds. */
async function storedChanges(reader: NatsConnection): Promise<Map<string, StoredChange>> {
  const jsm = await jetstreamManager(reader);
  const { state } = await jsm.streams.info(EVENTS_STREAM);
  const out = new Map<string, StoredChange>();
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(EVENTS_STREAM, { seq }).catch(() => null);
    if (m === null || !m.subject.startsWith('darkstore.berlin.')) continue;
    const replayed = m.header.get('Darkstore-Replayed') === 'true';
    for (const e of decodeEventMessage(m.data) ?? []) {
      if (e.event.type !== 'availability.changed') continue;
      const held = out.get(e.event.sku);
      if (held === undefined || e.event.version > held.version) {
        out.set(e.event.sku, { seq: e.seq, version: e.event.version, replayed });
      }
    }
  }
  return out;
}

describe('a refused event message behind a stored one, then a crash', () => {
  /** Events in a message past this size are refused by the stream while the test says so. */
  const REFUSED_BYTES = 6_000;
  const lines = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({ sku: seededSku(from + i), quantity: 1 }));

  it('the restarted region publishes it again, though the stream holds later events of its type', async () => {
    const own = await startNatsServer();
    let region: RegionProcess | undefined;
    const reader = await connect({ servers: own.url });
    try {
      region = await startRegionProcess({
        natsUrl: own.url,
        config: berlinConfig({ catalog: { seed: 11, skus: 300, unitsPerSku: 10 } }),
      });
      const jsm = await jetstreamManager(reader);
      await jsm.streams.update(EVENTS_STREAM, { max_msg_size: REFUSED_BYTES });
      // One group commit, two receipts: 200 then 60 availability changes. A message holds at most
      // 256 events, so they go out as two messages of one subject, back to back: the first (200
      // events) is too large for the stream now and refused, the second is stored.
      const batch = {
        type: 'batch',
        commands: [
          { type: 'receipt', key: 'big', receiptId: 'r-big', lines: lines(0, 200) },
          { type: 'receipt', key: 'small', receiptId: 'r-small', lines: lines(200, 60) },
        ],
      };
      const reply = await reader.request(commandSubject('berlin', 'mitte'), encode(batch), { timeout: 10_000 });
      const result = decode(reply.data) as Result<{ results: Result[] }>;
      expect(result.ok && result.value.results.every((r) => r.ok)).toBe(true);
      const changes = await queryChanges(reader, 'berlin', 'mitte', 0);
      if (!changes.ok) throw new Error(changes.error.message);
      const engine = new Map(changes.value.items.map((i) => [i.sku, i.version]));
      const bigSkus = lines(0, 200).map((l) => l.sku);
      const smallSkus = lines(200, 60).map((l) => l.sku);
      /** Whether the stream holds each SKU's last availability change (the engine's version). */
      const current = (stored: Map<string, StoredChange>, skus: string[]) =>
        skus.every((sku) => stored.get(sku)?.version === engine.get(sku));
      const deadline = Date.now() + 10_000;
      while (!current(await storedChanges(reader), smallSkus) && Date.now() < deadline) await sleep(50);
      const before = await storedChanges(reader);
      expect(current(before, smallSkus)).toBe(true);
      expect(bigSkus.some((sku) => before.get(sku)?.version === engine.get(sku))).toBe(false);
      // The region's mark stays below the refused message (it is written every 200 ms).
      await sleep(500);
      const mark = readAckedMark(warehousePaths(region.dataDir, 'mitte').dir, 'berlin', 'mitte');
      // A crash while the stream refuses it; then the stream takes any size again, and the region restarts.
      await region.kill('SIGKILL');
      await jsm.streams.update(EVENTS_STREAM, { max_msg_size: -1 });
      region = await region.restart();
      const back = Date.now() + 10_000;
      while (!current(await storedChanges(reader), bigSkus) && Date.now() < back) await sleep(50);
      const after = await storedChanges(reader);
      expect(current(after, bigSkus)).toBe(true);
      expect(current(after, smallSkus)).toBe(true);
      // Its seq: the command the mark stayed below, published again from the log, marked so.
      const refused = after.get(bigSkus[0] as string) as StoredChange;
      expect(refused.replayed).toBe(true);
      // Everything before it was stored (the set-up long since): the mark is right below it.
      expect(mark).toBe(refused.seq - 1);
      expect((after.get(smallSkus[0] as string) as StoredChange).seq).toBe(refused.seq + 1);
    } finally {
      await region?.cleanup();
      await reader.close();
      await own.stop();
    }
  });
});

/** Waits for a condition (up to 10 s). */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in 10 s');
    await sleep(20);
  }
}
