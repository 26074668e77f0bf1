/**
 * The client's retries across a crash of the region process: many concurrent reserves, each with
 * its own idempotency key, while `darkstore serve` is killed with SIGKILL mid-stream and started
 * again on the same data directory. Every call completes through its retries; afterwards every
 * acknowledged reservation is there with the same outcome (looked up by key), and nothing was
 * applied twice: the reserved totals equal the sum of the acknowledged reservations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DarkstoreClient, type ReservedValue } from '../../client/index.ts';
import { seededSku } from '../../service/index.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';
import { berlinConfig, type RegionProcess, startRegionProcess } from './region-process.ts';

const RESERVES = 400;
const CONCURRENCY = 32;
const SKUS = 5;
/** The region is killed once this many reserves were acknowledged. */
const KILL_AFTER_ACKS = 120;
/** Long enough that nothing expires during the test (the engine's longest hold). */
const TTL_MS = 24 * 60 * 60 * 1_000;

let nats: NatsServer;
let region: RegionProcess;
let client: DarkstoreClient;
/** Retries the client made (it draws one jitter per retry). */
let retries = 0;

beforeAll(async () => {
  nats = await startNatsServer();
  region = await startRegionProcess({
    natsUrl: nats.url,
    config: berlinConfig({ catalog: { seed: 7, skus: SKUS, unitsPerSku: 100_000 } }),
  });
  // A crash and a restart take about a second: 40 retries of up to 400 ms ride it out.
  client = await DarkstoreClient.connect({
    servers: nats.url,
    requestTimeoutMs: 1_000,
    retries: 40,
    backoffMs: 25,
    backoffMaxMs: 400,
    random: () => {
      retries++;
      return Math.random();
    },
  });
});

afterAll(async () => {
  await client?.close();
  await region?.cleanup();
  await nats?.stop();
});

function lineOf(i: number): { sku: string; quantity: number } {
  return { sku: seededSku(i % SKUS), quantity: 1 + (i % 3) };
}

describe('client retries across a crash of the region process', () => {
  it('completes every reserve, keeps every acknowledged one, and applies none twice', async () => {
    const mitte = client.warehouse('berlin', 'mitte');
    const acked = new Map<number, ReservedValue>();
    let next = 0;
    let inFlightAtKill = -1;
    let restarted: Promise<void> | undefined;
    const crash = async () => {
      inFlightAtKill = next - acked.size;
      await region.kill('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 200));
      region = await region.restart();
    };
    const worker = async () => {
      while (next < RESERVES) {
        const i = next++;
        const value = await mitte.reserve({ key: `crash-${i}`, lines: [lineOf(i)], ttlMs: TTL_MS });
        acked.set(i, value);
        if (acked.size === KILL_AFTER_ACKS) restarted = crash();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await restarted;
    expect(inFlightAtKill).toBeGreaterThan(0);
    expect(retries).toBeGreaterThanOrEqual(inFlightAtKill);
    expect(acked.size).toBe(RESERVES);

    // Every acknowledged command is there, with the outcome the client was given.
    const stored = await Promise.all([...acked.keys()].map((i) => mitte.command(`crash-${i}`)));
    expect(stored).toEqual([...acked.values()].map((value) => ({ ok: true, value })));
    expect(new Set([...acked.values()].map((v) => v.reservationId)).size).toBe(RESERVES);

    // Nothing applied twice: each SKU's reserved units are exactly the acknowledged ones.
    const expected = new Map<string, number>();
    for (let i = 0; i < RESERVES; i++) {
      const { sku, quantity } = lineOf(i);
      expected.set(sku, (expected.get(sku) ?? 0) + quantity);
    }
    const seen = await mitte.availability([...expected.keys()]);
    expect(new Map(seen.items.map((a) => [a.sku, a.reserved]))).toEqual(expected);
    for (const a of seen.items) expect(a.available).toBe(100_000 - a.reserved);
  });
});
