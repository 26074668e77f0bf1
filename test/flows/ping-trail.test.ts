/**
 * Pings that carry a trail of earlier GPS points (a courier app's batched upload): one command
 * that tracks, bridges gaps, moves ETAs, hands out orders and keeps a courier from going silent
 * exactly as the same points sent as separate pings would; a point that cannot be believed refuses
 * the whole ping and changes nothing; a repeated key answers the same and a changed trail conflicts.
 */
import { describe, expect, it } from 'vitest';
import { decode, encode, type GeoPoint } from '../../engine/index.ts';
import { COURIER_ACK_TIMEOUT_MS, COURIER_SILENCE_MS } from '../../engine/limits.ts';
import { Floor, HOME, STORE } from './floor.ts';

type Point = { position: GeoPoint; deviceTimeMs: number };

const north = (lat: number): GeoPoint => ({ lat, lon: STORE.lon });

/**
 * From the store to the door in 120 s of device time, relative to `startMs`, never faster than
 * 60 km/h: two steps of 150 m, a 40 s gap (bridged), a 35 s stop (nothing to bridge), the door.
 */
function walkHome(startMs: number): Point[] {
  return [
    { position: north(52.5214), deviceTimeMs: startMs + 10_000 },
    { position: north(52.5228), deviceTimeMs: startMs + 20_000 },
    { position: north(52.5264), deviceTimeMs: startMs + 60_000 },
    { position: north(52.52641), deviceTimeMs: startMs + 95_000 },
    { position: north(52.5278), deviceTimeMs: startMs + 105_000 },
    { position: HOME, deviceTimeMs: startMs + 120_000 },
  ];
}

/** Sends the points as separate pings, all at the floor's current time; the last answer. */
function separately(f: Floor, courierId: string, points: Point[]) {
  const results = points.map((p) => f.pingAt(courierId, p.position, p.deviceTimeMs));
  for (const result of results) expect(result.ok).toBe(true);
  return results[results.length - 1];
}

/** The same run twice, the points sent as separate pings in one and as one trail in the other. */
function bothWays(setUp: (f: Floor) => Point[], after: (f: Floor) => void = () => {}) {
  const single = Floor.open({ couriers: ['c1'] });
  const batched = Floor.open({ couriers: ['c1'] });
  const points = setUp(single);
  const singleResult = separately(single, 'c1', points);
  const trail = setUp(batched);
  expect(trail).toEqual(points);
  const commandsBefore = batched.commands.length;
  const batchedResult = batched.pingTrailAt('c1', trail);
  expect(batched.commands.length).toBe(commandsBefore + 1);
  after(single);
  after(batched);
  return { single, batched, singleResult, batchedResult };
}

describe('courier.ping with a trail', () => {
  it('tracks, bridges, moves the ETA and goes silent exactly as the same points sent as separate pings', () => {
    let startMs = 0;
    const { single, batched, singleResult, batchedResult } = bothWays(
      (f) => {
        f.placeAndPack('o1', [{ sku: 'milk', quantity: 1 }]);
        startMs = f.atMs;
        expect(f.pingAt('c1', STORE, startMs).ok).toBe(true);
        expect(f.courierEvent('o1', 'courier_assigned', 'courier.accepted', 'c1').ok).toBe(true);
        expect(f.courierEvent('o1', 'courier_assigned', 'courier.picked_up', 'c1').ok).toBe(true);
        // The app uploads late (a gap in coverage): every point arrives at this one warehouse time.
        f.atMs += 2 * 60_000;
        return walkHome(startMs);
      },
      (f) => {
        f.advance(COURIER_SILENCE_MS - 1);
        expect(f.courierState('c1')).toBe('en_route_to_delivery');
        f.advance(1);
        expect(f.courierState('c1')).toBe('offline');
      },
    );
    expect(batchedResult).toEqual(singleResult);
    expect(batched.log).toEqual(single.log);
    expect(Buffer.compare(batched.stateBytes(), single.stateBytes())).toBe(0);

    // What the comparison is about: bridged points, a stop left alone, ETA updates, the silence.
    const moved = batched.events('courier.moved').filter((e) => e.atMs > startMs);
    expect(moved.map((e) => [(e.atMs - startMs) / 1_000, e.interpolated])).toEqual([
      [10, false],
      [20, false],
      [25, true],
      [30, true],
      [35, true],
      [40, true],
      [45, true],
      [50, true],
      [55, true],
      [60, false],
      [95, false],
      [105, false],
      [120, false],
    ]);
    expect(batched.events('order.eta').length).toBeGreaterThanOrEqual(3);
    expect(batched.events('escalation.raised').map((e) => e.kind)).toEqual(['courier_offline_on_road']);
    expect(batched.courier('c1').position).toEqual(HOME);
    batched.replayMatches();
    single.replayMatches();
  });

  it('offers a waiting order between the points of a trail, as the command loop would between pings', () => {
    const { single, batched } = bothWays((f) => {
      f.placeAndPack('o1', [{ sku: 'bread', quantity: 1 }]);
      expect(f.order('o1').dispatch?.offeredTo).toBe('c1');
      // c1 misses the acknowledgement: unresponsive, so o2 waits when it is packed.
      f.advance(COURIER_ACK_TIMEOUT_MS);
      expect(f.courier('c1').unresponsive).toBe(true);
      f.placeAndPack('o2', [{ sku: 'eggs', quantity: 1 }]);
      expect(f.order('o2').dispatch?.offeredTo).toBeUndefined();
      const startMs = f.atMs;
      // Heard from again at the first point: o2 goes to c1, and the next points move o2's ETA.
      return [
        { position: north(52.5236), deviceTimeMs: startMs - 20_000 },
        { position: north(52.5218), deviceTimeMs: startMs - 10_000 },
        { position: STORE, deviceTimeMs: startMs },
      ];
    });
    expect(batched.log).toEqual(single.log);
    expect(Buffer.compare(batched.stateBytes(), single.stateBytes())).toBe(0);
    const types = batched.log.map((e) => (e.type === 'order.eta' ? `eta:${e.orderId}` : e.type));
    const offered = types.lastIndexOf('dispatch.offered');
    expect(types.slice(offered).filter((t) => t === 'courier.moved')).toHaveLength(2);
    expect(types.slice(offered)).toContain('eta:o2');
    expect(batched.order('o2').dispatch?.offeredTo).toBe('c1');
    batched.replayMatches();
  });

  it('refuses the whole ping when one point is an impossible jump or goes back in time, changing nothing', () => {
    const f = Floor.open({ couriers: ['c1'] });
    const startMs = f.atMs;
    expect(f.pingAt('c1', STORE, startMs).ok).toBe(true);
    f.atMs += 60_000;
    const before = f.stateBytes();
    const logLength = f.log.length;
    const good = walkHome(startMs);

    // 11 km in 40 s at trail[2]: nothing of the trail is applied, not even the two points before it.
    const jump = good.map((p, i) => (i === 2 ? { ...p, position: north(52.62) } : p));
    const refused = f.pingTrailAt('c1', jump);
    expect(refused).toMatchObject({
      ok: false,
      error: { code: 'PING_REJECTED', courierId: 'c1', reason: 'impossible_jump', trailIndex: 2 },
    });
    expect(!refused.ok && refused.error.code === 'PING_REJECTED' && (refused.error.speedKmh ?? 0) > 90).toBe(true);
    if (!refused.ok) expect(refused.error.message).toContain('trail[2]');

    // The newest point is the jump: no trail index.
    const newestJump = good.map((p, i) => (i === good.length - 1 ? { ...p, position: north(52.7) } : p));
    const refusedNewest = f.pingTrailAt('c1', newestJump);
    expect(refusedNewest).toMatchObject({ ok: false, error: { code: 'PING_REJECTED', reason: 'impossible_jump' } });
    expect(!refusedNewest.ok && 'trailIndex' in refusedNewest.error).toBe(false);

    // The oldest point is not after the last accepted one: refused as a single ping would be.
    const stale = [{ position: STORE, deviceTimeMs: startMs }, ...good];
    expect(f.pingTrailAt('c1', stale)).toMatchObject({
      ok: false,
      error: { code: 'PING_REJECTED', reason: 'time_went_back', trailIndex: 0 },
    });

    expect(Buffer.compare(f.stateBytes(), before)).toBe(0);
    expect(f.log).toHaveLength(logLength);
    expect(f.courier('c1')).toMatchObject({ position: STORE, lastSeenAtMs: startMs });

    // The track did not move: the same upload without the jump is believed whole.
    expect(f.pingTrailAt('c1', good).ok).toBe(true);
    expect(f.courier('c1')).toMatchObject({ position: HOME, lastSeenAtMs: f.atMs });
    f.replayMatches();
  });

  it('answers a repeated key the same, and a different trail under the same key with IDEMPOTENCY_CONFLICT', () => {
    const f = Floor.open({ couriers: ['c1'] });
    const startMs = f.atMs;
    f.atMs += 2 * 60_000;
    const points = walkHome(startMs);
    const newest = points[points.length - 1] as Point;
    const body = {
      type: 'courier.ping',
      key: 'upload-1',
      courierId: 'c1',
      position: newest.position,
      deviceTimeMs: newest.deviceTimeMs,
      trail: points.slice(0, -1),
    };
    const first = f.send(body);
    expect(first.ok).toBe(true);
    const before = f.stateBytes();
    const logLength = f.log.length;

    expect(f.send(structuredClone(body))).toEqual(first);
    const moved = structuredClone(body);
    (moved.trail[1] as Point).position = north(52.5237);
    const dropped = { ...body, trail: body.trail.slice(1) };
    const none = { ...body, trail: undefined };
    for (const changed of [moved, dropped, none]) {
      expect(f.send(changed)).toMatchObject({ ok: false, error: { code: 'IDEMPOTENCY_CONFLICT', key: 'upload-1' } });
    }
    expect(Buffer.compare(f.stateBytes(), before)).toBe(0);
    expect(f.log).toHaveLength(logLength);

    // An empty trail means no trail: the same command, the same answer.
    const plain = {
      type: 'courier.ping',
      key: 'upload-2',
      courierId: 'c1',
      position: HOME,
      deviceTimeMs: newest.deviceTimeMs + 5_000,
    };
    const answer = f.send(plain);
    expect(answer.ok).toBe(true);
    expect(f.send({ ...plain, trail: [] })).toEqual(answer);

    // msgpack writes -0 as 0: the command read back from the WAL is the same command.
    const zero = {
      type: 'courier.ping',
      key: 'upload-3',
      courierId: 'c2',
      position: { lat: -0, lon: -0 },
      deviceTimeMs: newest.deviceTimeMs,
      trail: [{ position: { lat: -0, lon: 0 }, deviceTimeMs: newest.deviceTimeMs - 5_000 }],
    };
    expect(f.send({ type: 'courier.check_in', key: f.key(), courierId: 'c2', position: { lat: 0, lon: 0 } }).ok).toBe(
      true,
    );
    const zeroAnswer = f.send(zero);
    expect(zeroAnswer.ok).toBe(true);
    expect(f.send(decode(encode(zero)))).toEqual(zeroAnswer);
    f.replayMatches();
  });
});
