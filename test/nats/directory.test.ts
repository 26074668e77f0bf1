/**
 * The region directory against a real nats-server (JetStream KV): two directories on their own
 * connections announce their warehouses and see each other's, a graceful stop marks its warehouses
 * down, silence makes a warehouse stale after DIRECTORY_STALE_MS (on the watcher's clock), values
 * that are not announcements are ignored, and a second process hosting a live warehouse is refused.
 */
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DIRECTORY_BUCKET,
  DIRECTORY_STALE_MS,
  type DirectoryEntry,
  directoryKey,
  RegionDirectory,
} from '../../service/index.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';

const REGION = 'dir';
const logger = pino({ level: 'silent' });

let nats: NatsServer;
const connections: NatsConnection[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
});

afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
  await nats?.stop();
});

async function directory(announce: Omit<DirectoryEntry, 'hostId' | 'region'>[], clock?: () => number) {
  const nc = await connect({ servers: nats.url });
  connections.push(nc);
  return RegionDirectory.start({ nc, region: REGION, logger, announce: () => announce, ...(clock ? { clock } : {}) });
}

async function eventually(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const site = (warehouseId: string, lat: number) => ({
  warehouseId,
  location: { lat, lon: 13.4 },
  radiusKm: 3,
  slaMinutes: 30,
  up: true,
});

describe('RegionDirectory', () => {
  it('shows every process the warehouses of the others, and marks them down at a graceful stop', async () => {
    let nowMs = Date.now();
    const d1 = await directory([site('w1', 52.5)]);
    const d2 = await directory([site('w2', 52.6)], () => nowMs);
    // d2 started after d1: it loaded w1 at start; d1 learns of w2 from the watch.
    expect(
      d2
        .entries()
        .map((e) => e.id)
        .sort(),
    ).toEqual(['w1', 'w2']);
    await eventually('d1 to see w2', () => d1.entries().some((e) => e.id === 'w2'));
    const [w1] = d2.covering({ lat: 52.51, lon: 13.4 }).map((m) => m.item);
    expect(w1).toMatchObject({ id: 'w1', up: true, radiusKm: 3, slaMinutes: 30 });
    expect(w1 && d2.downReason(w1)).toBeUndefined();
    expect(d2.near({ lat: 52.55, lon: 13.4 }, 10, 5).map((m) => m.item.id)).toEqual(['w1', 'w2']);

    // Silence beyond the bound makes it stale on the watcher's clock.
    nowMs += DIRECTORY_STALE_MS + 1_000;
    expect(w1 && d2.downReason(w1)).toMatch(/^not announced for \d+ s$/);
    nowMs = Date.now();

    await d1.stop();
    await eventually('w1 to be marked down', () => d2.entries().find((e) => e.id === 'w1')?.up === false);
    const down = d2.entries().find((e) => e.id === 'w1');
    expect(down && d2.downReason(down)).toBe('stopped');
    await d2.stop();
  });

  it('ignores values that are not announcements', async () => {
    const d = await directory([site('w3', 40)]);
    const kv = await new Kvm(connections[0] as NatsConnection).open(DIRECTORY_BUCKET);
    await kv.put(directoryKey(REGION, 'junk'), new TextEncoder().encode('not msgpack of an entry'));
    await kv.put(directoryKey(REGION, 'w4'), new Uint8Array([0x81, 0xa1, 0x61, 0x01]));
    // A later announcement arriving proves the two before it were seen (and dropped).
    const probe = await directory([site('w5', 41)]);
    await eventually('w5 to arrive', () => d.entries().some((e) => e.id === 'w5'));
    expect(d.entries().map((e) => e.id)).not.toContain('junk');
    expect(d.entries().map((e) => e.id)).not.toContain('w4');
    await Promise.all([d.stop(), probe.stop()]);
  });

  it('refuses to start a second process hosting a warehouse a live process announces; after its stop, it starts', async () => {
    const first = await directory([site('w6', 42)]);
    await expect(directory([site('w6', 42)])).rejects.toThrow(/w6 of region dir is hosted by another process/);
    // Marked down at the first one's graceful stop: another process may take the warehouse now.
    await first.stop();
    const second = await directory([site('w6', 42)]);
    expect(second.entries().find((e) => e.id === 'w6')).toMatchObject({ up: true });
    await second.stop();
  });
});
