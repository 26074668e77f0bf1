/**
 * Events across a crash of nats-server: a region keeps committing while its NATS is SIGKILLed and
 * started again on the same port and store; once its connection is back, the stream holds every
 * event the region committed (what the crash took is published again, what arrived twice is
 * dropped by the duplicate window). Real nats-server, real region host, real files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeEventMessage, EVENTS_STREAM, type RegionConfig, RegionHost } from '../../service/index.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';

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
      const resend = host.eventResend();
      expect(resend).toMatchObject({ connected: true, givenUp: 0 });
      expect(resend.resent).toBeGreaterThan(0);
    } finally {
      await reader.close();
    }
  });
});
