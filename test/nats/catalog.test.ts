/**
 * The catalog read model, against a real nats-server and a real region process (host and region
 * services): a catalog query for an address is answered by the nearest warehouse whose radius covers
 * it, with that warehouse's items as its `changes` query gives them and the staleness of the view; a
 * stock change reaches the answers; long lists page; an address outside every radius and bad
 * requests are refused with typed errors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, type EngineError, encode, type GeoPoint, type Result } from '../../engine/index.ts';
import {
  answerCatalog,
  CATALOG_RESYNC_INTERVAL_MS,
  CATALOG_STALENESS_MAX_MS,
  type CatalogCandidate,
  type CatalogReply,
  type CatalogRequest,
  catalogSubject,
  commandSubject,
  configWarehouses,
  queryChanges,
  type RegionConfig,
  RegionHost,
  type RunningServices,
  startRegionServices,
  type VersionedAvailability,
  VersionedView,
} from '../../service/index.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';

const REGION = 'cat';
/** W1 delivers far (15 km, covering W2's place too); W2 near (6 km). They are about 11 km apart. */
const W1 = { lat: 52.52, lon: 13.405 };
const W2 = { lat: 52.6, lon: 13.5 };
/** About 19 km from W2 and 23 km from W1: outside both radii, inside the nearby range. */
const OUTSIDE = { lat: 52.52, lon: 13.75 };

const config: RegionConfig = {
  region: REGION,
  warehouses: [
    {
      id: 'W1',
      location: W1,
      radiusKm: 15,
      slaMinutes: 30,
      catalog: { seed: 1, skus: 12, unitsPerSku: 5 },
      pickers: 1,
      couriers: 1,
    },
    {
      id: 'W2',
      location: W2,
      radiusKm: 6,
      slaMinutes: 30,
      catalog: { seed: 2, skus: 8, unitsPerSku: 7 },
      pickers: 1,
      couriers: 1,
    },
  ],
};

let server: NatsServer;
let nc: NatsConnection;
let host: RegionHost;
let services: RunningServices;
let dataDir: string;

async function catalog(request: CatalogRequest | Record<string, unknown>): Promise<Result<CatalogReply>> {
  const reply = await nc.request(catalogSubject(REGION), encode(request), { timeout: 5_000 });
  return decode(reply.data) as Result<CatalogReply>;
}

async function ok(request: CatalogRequest): Promise<CatalogReply> {
  const result = await catalog(request);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

async function refused(request: CatalogRequest | Record<string, unknown>): Promise<EngineError> {
  const result = await catalog(request);
  if (result.ok) throw new Error(`answered ${JSON.stringify(result.value)}`);
  return result.error;
}

/** What the warehouse itself says is in stock, in SKU order. */
async function inStock(warehouseId: string): Promise<VersionedAvailability[]> {
  const answer = await queryChanges(nc, REGION, warehouseId, 0);
  if (!answer.ok) throw new Error(answer.error.message);
  return answer.value.items
    .filter((i) => i.available > 0)
    .map(({ sku, available, version }) => ({ sku, available, version }))
    .sort((a, b) => (a.sku < b.sku ? -1 : 1));
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkstore-catalog-'));
  host = await RegionHost.start({ nc, config, dataDir, logger: pino({ level: 'silent' }), checkpoint: 'inline' });
  services = await startRegionServices(host, {});
});

afterAll(async () => {
  await services?.stop();
  await host?.stop();
  await nc?.drain();
  await server?.stop();
  if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('catalog', () => {
  it('answers from the nearest warehouse covering the address, with its items and the staleness', async () => {
    const atW1 = await ok({ address: W1 });
    expect(atW1.warehouseId).toBe('W1');
    expect(atW1.items).toEqual(await inStock('W1'));
    expect(atW1.items).toHaveLength(12);
    expect(atW1.next).toBeUndefined();
    expect(atW1.stalenessMs).toBeGreaterThanOrEqual(0);
    expect(atW1.stalenessMs).toBeLessThanOrEqual(CATALOG_RESYNC_INTERVAL_MS + 5_000);

    // W1's radius covers W2's place too; W2 is nearer.
    const atW2 = await ok({ address: W2 });
    expect(atW2.warehouseId).toBe('W2');
    expect(atW2.items).toEqual(await inStock('W2'));
  });

  it('follows stock changes without asking the warehouse per query', async () => {
    const sku = 'sku-00002';
    const reply = await nc.request(
      commandSubject(REGION, 'W1'),
      encode({ type: 'count', key: 'catalog-count-1', sku, counted: 0 }),
    );
    expect((decode(reply.data) as Result<unknown>).ok).toBe(true);
    await waitFor(async () => !(await ok({ address: W1 })).items.some((i) => i.sku === sku));
    const named = await ok({ address: W1, skus: [sku, 'sku-99999'] });
    expect(named.items).toHaveLength(1);
    expect(named.items[0]).toMatchObject({ sku, available: 0 });
    const engine = await queryChanges(nc, REGION, 'W1', 0);
    if (!engine.ok) throw new Error(engine.error.message);
    expect(named.items[0]?.version).toBe(engine.value.items.find((i) => i.sku === sku)?.version);
    expect(await inStock('W1')).toHaveLength(11);
    // The update was just applied: the view is fresh.
    expect(named.stalenessMs).toBeLessThan(CATALOG_RESYNC_INTERVAL_MS);
  });

  it('pages through long lists', async () => {
    const all = (await ok({ address: W1 })).items;
    const first = await ok({ address: W1, limit: 5 });
    expect(first.items).toEqual(all.slice(0, 5));
    expect(first.next).toBe(all[4]?.sku);
    const rest = await ok({ address: W1, limit: 100, after: first.next as string });
    expect(rest.items).toEqual(all.slice(5));
    expect(rest.next).toBeUndefined();
  });

  it('refuses an address outside every delivery radius, with the reason per candidate', async () => {
    const error = await refused({ address: OUTSIDE });
    if (error.code !== 'NO_FULFILLMENT_CENTER') throw new Error(`refused with ${error.code}`);
    const candidates = error.candidates as CatalogCandidate[];
    expect(candidates.map((c) => [c.warehouseId, c.reason])).toEqual([
      ['W2', 'out_of_range'],
      ['W1', 'out_of_range'],
    ]);
    for (const c of candidates) expect(c.distanceKm).toBeGreaterThan(c.radiusKm);
    const far: GeoPoint = { lat: 48.85, lon: 2.35 };
    expect((await refused({ address: far })).code).toBe('NO_FULFILLMENT_CENTER');
  });

  it('passes over candidates whose view is not synced or too old', () => {
    const fresh = new VersionedView('A');
    fresh.resync({ items: [{ sku: 'x', available: 1, version: 1 }], version: 1 }, 0);
    const views = new Map([
      ['A', fresh],
      ['B', new VersionedView('B')],
    ]);
    const sites = [
      { warehouseId: 'B', distanceKm: 1, radiusKm: 5 },
      { warehouseId: 'A', distanceKm: 2, radiusKm: 5 },
    ];
    expect(answerCatalog({ address: W1 }, sites, (id) => views.get(id), 1_000)).toEqual({
      ok: true,
      value: { warehouseId: 'A', items: [{ sku: 'x', available: 1, version: 1 }], stalenessMs: 1_000 },
    });
    const late = answerCatalog({ address: W1 }, sites, (id) => views.get(id), CATALOG_STALENESS_MAX_MS + 1);
    if (late.ok || late.error.code !== 'NO_FULFILLMENT_CENTER') throw new Error('answered while stale');
    expect(late.error.candidates.map((c) => [c.warehouseId, c.reason])).toEqual([
      ['B', 'not_synced'],
      ['A', 'stale'],
    ]);
  });

  it('pages through the SKUs asked for: each page starts after the last one, and the last says no more', () => {
    const view = new VersionedView('A');
    const skus = Array.from({ length: 5 }, (_, i) => `sku-${i}`);
    view.resync({ items: skus.map((sku) => ({ sku, available: 1, version: 1 })), version: 1 }, 0);
    const sites = [{ warehouseId: 'A', distanceKm: 1, radiusKm: 5 }];
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const request: CatalogRequest = { address: W1, skus: [...skus].reverse(), limit: 2 };
      if (after !== undefined) request.after = after;
      const answer = answerCatalog(request, sites, () => view, 1_000);
      if (!answer.ok) throw new Error(answer.error.message);
      seen.push(...answer.value.items.map((i) => i.sku));
      after = answer.value.next;
      if (after === undefined) break;
    }
    expect(seen).toEqual(skus);
  });

  it('without a directory, takes the warehouses from the config: covering first, nearest first', () => {
    const warehouses = configWarehouses(host);
    expect(warehouses.ids()).toEqual(['W1', 'W2']);
    expect(warehouses.sites(W2).map((s) => s.warehouseId)).toEqual(['W2', 'W1']);
    expect(warehouses.sites(OUTSIDE).map((s) => [s.warehouseId, s.distanceKm > s.radiusKm])).toEqual([
      ['W2', true],
      ['W1', true],
    ]);
  });

  it('refuses bad requests with the offending path', async () => {
    expect(await refused({})).toMatchObject({ code: 'VALIDATION_ERROR', path: 'address' });
    expect(await refused({ address: { lat: 91, lon: 0 } })).toMatchObject({ path: 'address.lat' });
    expect(await refused({ address: W1, limit: 0 })).toMatchObject({ path: 'limit' });
    expect(await refused({ address: W1, skus: [] })).toMatchObject({ path: 'skus' });
    expect(await refused({ address: W1, skus: ['ok', 7] })).toMatchObject({ path: 'skus[1]' });
    const garbage = await nc.request(catalogSubject(REGION), new Uint8Array([0xc1]), { timeout: 5_000 });
    expect((decode(garbage.data) as Result<unknown>).ok).toBe(false);
  });
});
