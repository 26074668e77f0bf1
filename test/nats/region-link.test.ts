/**
 * What keeps a region process's warehouses on their own event loop, against a real nats-server and
 * a real region host: a warehouse hosted here answers the checkout in memory exactly what its
 * subjects answer (results, refusals, idempotency, request stats); an ask that hangs is bounded and
 * one that throws answers UNAVAILABLE; the read-side thread answers the catalog and, killed, is
 * started again while the warehouses go on.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, encode, type Result } from '../../engine/index.ts';
import { catalogSubject } from '../../protocol/index.ts';
import {
  type CatalogReply,
  type HostedEndpoint,
  type RegionConfig,
  RegionHost,
  type RequestSample,
  type RunningReadSide,
  startDirectory,
  startReadSide,
  WarehouseLink,
} from '../../service/index.ts';
import { freePort, type NatsServer, startNatsServer } from './nats-server.ts';

const REGION = 'link';
const W1 = { lat: 52.52, lon: 13.405 };
const config: RegionConfig = {
  region: REGION,
  warehouses: [
    {
      id: 'W1',
      location: W1,
      radiusKm: 5,
      slaMinutes: 30,
      catalog: { seed: 1, skus: 6, unitsPerSku: 9 },
      pickers: 1,
      couriers: 1,
    },
  ],
};
const TIMEOUT_MS = 2_000;

let server: NatsServer;
let nc: NatsConnection;
let host: RegionHost;
let dataDir: string;
const samples: RequestSample[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkstore-link-'));
  host = await RegionHost.start({
    nc,
    config,
    dataDir,
    logger: pino({ level: 'silent' }),
    checkpoint: 'inline',
    onRequest: (s) => samples.push(s),
  });
});

afterAll(async () => {
  await host?.stop();
  await nc?.drain();
  await server?.stop();
  if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
});

const hostedHere = () => new WarehouseLink(nc, REGION, (id) => host.endpoint(id));
const overNats = () => new WarehouseLink(nc, REGION);

function answer(reply: Awaited<ReturnType<WarehouseLink['peek']>>): Result<unknown> {
  if (!reply.answered) throw new Error(`not answered: ${reply.message}`);
  return reply.result;
}

describe('a warehouse asked in memory', () => {
  it('answers what its subjects answer: reads, commands, idempotency, refusals', async () => {
    expect(host.endpoint('elsewhere')).toBeUndefined();
    const [local, remote] = [hostedHere(), overNats()];
    const availability = { type: 'availability', skus: ['sku-00000', 'sku-00001'] };
    expect(answer(await local.peek('W1', availability, TIMEOUT_MS))).toEqual(
      answer(await remote.peek('W1', availability, TIMEOUT_MS)),
    );
    const reserve = { type: 'reserve', key: 'link-r1', lines: [{ sku: 'sku-00000', quantity: 2 }], ttlMs: 60_000 };
    const placed = answer(await local.command('W1', reserve, TIMEOUT_MS));
    expect(placed).toMatchObject({ ok: true, value: { kind: 'reserved' } });
    // The same key over NATS: the stored result, not a second reservation.
    expect(answer(await remote.command('W1', reserve, TIMEOUT_MS))).toEqual(placed);
    expect(answer(await local.read('W1', { type: 'command', key: 'link-r1' }, TIMEOUT_MS))).toEqual(
      answer(await remote.read('W1', { type: 'command', key: 'link-r1' }, TIMEOUT_MS)),
    );
    const bad = { type: 'reserve', key: 'link-bad', lines: [{ sku: 'sku-00000', quantity: -1 }], ttlMs: 60_000 };
    const refusedHere = answer(await local.command('W1', bad, TIMEOUT_MS));
    expect(refusedHere).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } });
    expect(answer(await remote.command('W1', bad, TIMEOUT_MS))).toEqual(refusedHere);
    // Counted as requests, as its subjects count them.
    expect(samples.some((s) => s.endpoint === 'cmd' && s.type === 'reserve' && s.warehouseId === 'W1')).toBe(true);
  });

  it('refuses like its subjects while the warehouse is out of service, and counts nothing in flight after', async () => {
    const hosted = host.warehouses.get('W1');
    if (hosted === undefined) throw new Error('W1 is not hosted');
    hosted.failure = 'disk full (test)';
    try {
      const local = answer(await hostedHere().peek('W1', { type: 'fulfillment' }, TIMEOUT_MS));
      const remote = answer(await overNats().peek('W1', { type: 'fulfillment' }, TIMEOUT_MS));
      expect(local).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      expect(local).toEqual(remote);
      const submitted = answer(
        await hostedHere().command('W1', { type: 'release', key: 'link-x', reservationId: 'r1' }, TIMEOUT_MS),
      );
      expect(submitted).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    } finally {
      delete hosted.failure;
    }
    expect(hosted.inFlight).toBe(0);
  });

  it('bounds an ask that hangs (it may have acted) and answers UNAVAILABLE for one that throws', async () => {
    const hanging: HostedEndpoint = {
      peek: () => {
        throw new Error('bug');
      },
      read: () => new Promise(() => undefined),
      submit: () => new Promise(() => undefined),
    };
    const link = new WarehouseLink(nc, REGION, () => hanging);
    expect(await link.command('W1', {}, 50)).toEqual({ answered: false, mayHaveActed: true, message: 'timeout' });
    expect(await link.read('W1', {}, 50)).toMatchObject({ answered: false });
    expect(answer(await link.peek('W1', {}, 50))).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
  });
});

describe('the read-side thread', () => {
  let readSide: RunningReadSide | undefined;
  let stopDirectory: (() => Promise<void>) | undefined;

  afterAll(async () => {
    await readSide?.stop();
    await stopDirectory?.();
  });

  async function catalogShows(): Promise<boolean> {
    try {
      const msg = await nc.request(catalogSubject(REGION), encode({ address: W1, skus: ['sku-00002'] }), {
        timeout: 1_000,
      });
      const result = decode(msg.data) as Result<CatalogReply>;
      return result.ok && result.value.warehouseId === 'W1' && result.value.items[0]?.available === 9;
    } catch {
      return false;
    }
  }

  async function eventually(check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('fails to start with the reason when its connection cannot be made', async () => {
    const nowhere = `nats://127.0.0.1:${await freePort()}`;
    await expect(
      startReadSide(
        { connect: { servers: nowhere, timeoutMs: 1_000 }, region: REGION, warehouseIds: ['W1'], logLevel: 'silent' },
        pino({ level: 'silent' }),
      ),
    ).rejects.toThrow(/read side failed to start/);
  });

  it('answers the catalog from its own thread, and is started again when that thread dies', async () => {
    const directory = await startDirectory(host);
    stopDirectory = () => directory.stop();
    readSide = await startReadSide(
      { connect: { servers: server.url }, region: REGION, warehouseIds: ['W1'], logLevel: 'silent' },
      pino({ level: 'silent' }),
    );
    await eventually(catalogShows);
    const first = readSide.thread();
    await first.terminate();
    expect(readSide.restarts).toBe(0);
    await eventually(async () => (readSide?.restarts ?? 0) === 1 && (await catalogShows()));
    expect(readSide.thread()).not.toBe(first);
    // The warehouse went on meanwhile.
    const reply = answer(await overNats().peek('W1', { type: 'fulfillment' }, TIMEOUT_MS));
    expect(reply.ok).toBe(true);
  });
});
