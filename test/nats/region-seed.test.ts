/**
 * A region sets a warehouse up once: a new warehouse gets its configured catalog, stock, pickers and
 * couriers; a restart recovers it without sending the set-up again (which, once the receipt ids were
 * forgotten, would receive the opening stock twice); a set-up a crash interrupted is completed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRegionConfig, RegionHost, seedCommands } from '../../service/index.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';

const config = parseRegionConfig({
  region: 'seedtest',
  warehouses: [
    {
      id: 'W1',
      location: { lat: 52.52, lon: 13.405 },
      radiusKm: 3,
      slaMinutes: 30,
      catalog: { seed: 3, skus: 40, unitsPerSku: 7 },
      pickers: 1,
      couriers: 1,
    },
  ],
});

let server: NatsServer;
let nc: NatsConnection;
let dataDir: string;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkstore-seed-'));
});

afterAll(async () => {
  await nc.close();
  await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<RegionHost> {
  return RegionHost.start({ nc, config, dataDir, logger: pino({ level: 'silent' }), checkpoint: 'inline' });
}

function stateOf(host: RegionHost) {
  const hosted = host.warehouses.get('W1');
  if (hosted?.host === undefined) throw new Error('W1 not open');
  return hosted.host.warehouse.runtime.warehouse.state;
}

describe('region set-up', () => {
  it('sets a new warehouse up once, and a restart sends nothing again', async () => {
    const first = await start();
    const seeded = stateOf(first);
    expect(seeded.skus.size).toBe(40);
    expect(seeded.skus.get('sku-00000')?.onHand).toBe(7);
    expect(seeded.lastSeq).toBe(seedCommands(config.warehouses[0] as (typeof config.warehouses)[number]).length);
    const lastSeq = seeded.lastSeq;
    await first.stop();
    const second = await start();
    // Recovered, not set up again: no command was logged.
    expect(stateOf(second).lastSeq).toBe(lastSeq);
    expect(stateOf(second).skus.get('sku-00000')?.onHand).toBe(7);
    await second.stop();
  });
});
