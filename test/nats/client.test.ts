/**
 * The typed client against a real nats-server and a real `darkstore serve` child process: every
 * command and query in a realistic sequence (configure, catalog, stock, reservations, an order from
 * checkout through the simulated payment provider, picking, packing, dispatch and delivery, the
 * courier's shift), batches, idempotent repeats, typed rejections and typed transport failures.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  DarkstoreClient,
  type DarkstoreError,
  DEFAULT_REQUEST_POLICY,
  IdempotencyConflictError,
  InsufficientStockError,
  InvalidTransitionError,
  NoRespondersError,
  NotFoundError,
  type OrderView,
  RejectionError,
  RequestTimeoutError,
  rejectionOf,
  ValidationError,
  type WarehouseClient,
} from '../../client/index.ts';
import { type EngineError, encode } from '../../engine/index.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';
import { berlinConfig, type RegionProcess, startRegionProcess } from './region-process.ts';

const STORE = { lat: 52.52, lon: 13.405 };
/** About 1.1 km north of the store. */
const HOME = { lat: 52.53, lon: 13.405 };
const SKU = 'sku-test-1';

let nats: NatsServer;
let region: RegionProcess;
let client: DarkstoreClient;
let mitte: WarehouseClient;

beforeAll(async () => {
  nats = await startNatsServer();
  region = await startRegionProcess({ natsUrl: nats.url, config: berlinConfig() });
  client = await DarkstoreClient.connect({ servers: nats.url, requestTimeoutMs: 2_000 });
  mitte = client.warehouse('berlin', 'mitte');
});

afterAll(async () => {
  await client?.close();
  await region?.cleanup();
  await nats?.stop();
});

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

describe('client round trips over NATS', () => {
  it('configures the store and moves stock: sku, receipt, adjust, count, POS sale, availability, changes', async () => {
    const configured = await mitte.configure({ location: STORE, courierSpeedKmh: 25 });
    expect(configured.config).toMatchObject({ location: STORE, courierSpeedKmh: 25 });
    const before = await mitte.changes(0);
    const sku = await mitte.skuUpsert({
      sku: SKU,
      ownerId: 'darkstore',
      name: 'test milk',
      priceCents: 199,
      location: { zone: 'A', aisle: 1, bay: 1, level: 1 },
      safetyStock: 0,
      substitutes: [],
    });
    expect(sku).toMatchObject({ kind: 'sku', sku: SKU });
    const received = await mitte.receipt({ receiptId: 'rc-test-1', lines: [{ sku: SKU, quantity: 10 }] });
    expect(received.movements).toMatchObject([{ sku: SKU, onHandDelta: 10 }]);
    expect((await mitte.adjust({ sku: SKU, delta: -1, reason: 'damage' })).movements[0]?.onHandDelta).toBe(-1);
    expect((await mitte.count({ sku: SKU, counted: 8 })).movements[0]?.onHandDelta).toBe(-1);
    const sold = await mitte.posSale({ sourceId: 'till-1', sourceSeq: 1, lines: [{ sku: SKU, quantity: 2 }] });
    expect(sold.movements[0]?.onHandDelta).toBe(-2);
    const seen = await mitte.availability([SKU, 'sku-00000', 'no-such-sku']);
    expect(seen.items).toMatchObject([
      { sku: SKU, onHand: 6, reserved: 0, available: 6 },
      { sku: 'sku-00000', onHand: 20, available: 20 },
    ]);
    expect(seen.unknown).toEqual(['no-such-sku']);
    const after = await mitte.changes(before.version);
    expect(after.items.map((i) => i.sku)).toEqual([SKU]);
    expect(after.version).toBeGreaterThan(before.version);
  });

  it('holds, extends, commits and releases stock; repeats by key answer the first result', async () => {
    const key = 'test-reserve-1';
    const held = await mitte.reserve({ key, lines: [{ sku: SKU, quantity: 3 }], ttlMs: 60_000 });
    expect(held.lines).toMatchObject([{ sku: SKU, quantity: 3, committed: 0 }]);
    // The same key and body: the first answer, nothing held twice.
    expect(await mitte.reserve({ key, lines: [{ sku: SKU, quantity: 3 }], ttlMs: 60_000 })).toEqual(held);
    const conflict = await rejection(mitte.reserve({ key, lines: [{ sku: SKU, quantity: 4 }], ttlMs: 60_000 }));
    expect(conflict).toBeInstanceOf(IdempotencyConflictError);
    expect(conflict).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', key });
    expect(await mitte.command(key)).toEqual({ ok: true, value: held });
    expect((await mitte.availability([SKU])).items[0]).toMatchObject({ onHand: 6, reserved: 3, available: 3 });

    const extended = await mitte.extend({ reservationId: held.reservationId, ttlMs: 120_000 });
    expect(extended.expiresAtMs).toBeGreaterThan(held.expiresAtMs);
    expect((await mitte.reservation(held.reservationId)).expiresAtMs).toBe(extended.expiresAtMs);
    const committed = await mitte.commit({ reservationId: held.reservationId, lines: [{ sku: SKU, quantity: 1 }] });
    expect(committed).toMatchObject({ lines: [{ sku: SKU, quantity: 1 }], closed: false });
    const released = await mitte.release({ reservationId: held.reservationId });
    expect(released.lines).toEqual([{ sku: SKU, quantity: 2 }]);
    const gone = await rejection(mitte.reservation(held.reservationId));
    expect(gone).toBeInstanceOf(NotFoundError);
    expect(gone).toMatchObject({ code: 'NOT_FOUND', kind: 'reservation', id: held.reservationId });
    expect((await mitte.availability([SKU])).items[0]).toMatchObject({ onHand: 5, reserved: 0, available: 5 });

    const short = await rejection(mitte.reserve({ lines: [{ sku: SKU, quantity: 99 }], ttlMs: 60_000 }));
    expect(short).toBeInstanceOf(InsufficientStockError);
    expect(short).toMatchObject({ lines: [{ sku: SKU, requested: 99, available: 5 }] });
    const invalid = await rejection(mitte.reserve({ lines: [{ sku: SKU, quantity: -1 }], ttlMs: 60_000 }));
    expect(invalid).toBeInstanceOf(ValidationError);
    expect((invalid as ValidationError).path).toMatch(/lines/);
  });

  it('takes an order from checkout to the door: payment, pick, pack, dispatch, delivery, capture', async () => {
    const quote = await mitte.eta(HOME);
    expect(quote).toMatchObject({ pickersOnShift: 2, couriersFree: 3 });
    expect(quote.promisedInMs).toBeGreaterThan(0);
    const line = { sku: 'sku-00001', quantity: 2 };
    const placed = await mitte.placeOrder({
      orderId: 'o-1',
      customerId: 'cust-1',
      address: HOME,
      lines: [line],
      paymentToken: 'tok-1',
      ttlMs: 600_000,
    });
    expect(placed).toMatchObject({ kind: 'order', orderId: 'o-1', state: 'reserved', duplicate: false });
    // The region's effect executor authorizes with the simulated provider and reports the outcome.
    const authorized = await eventually('authorization', async () => {
      const order = await mitte.order('o-1');
      return order.authorizationId !== undefined && order.payment.pending.length === 0 ? order : undefined;
    });
    expect(authorized.state).toBe('reserved');
    const late = await mitte.paymentOutcome({
      orderId: 'o-1',
      operation: 'authorize',
      outcome: 'succeeded',
      authorizationId: 'auth-late',
    });
    expect(late).toEqual({ kind: 'payment', orderId: 'o-1', operation: 'authorize', applied: false });

    const taken = await mitte.takePickTask({ pickerId: 'mitte-p0' });
    expect(taken.task).toMatchObject({ orderId: 'o-1', lines: [{ sku: line.sku, quantity: 2, picked: 0 }] });
    const scanned = await mitte.orderEvent({
      orderId: 'o-1',
      expectedState: 'picking',
      event: 'pick.scanned',
      scanId: 'scan-1',
      sku: line.sku,
      quantity: 2,
    });
    expect(scanned.pick).toEqual({ kind: 'scanned', sku: line.sku, remaining: 0, complete: true });
    const wrong = await rejection(
      mitte.orderEvent({ orderId: 'o-1', expectedState: 'packed', event: 'courier.picked_up', courierId: 'x' }),
    );
    expect(wrong).toBeInstanceOf(InvalidTransitionError);
    expect(wrong).toMatchObject({ orderId: 'o-1', expected: 'packed', actual: 'picking' });
    const packed = await mitte.orderEvent({
      orderId: 'o-1',
      expectedState: 'picking',
      event: 'pack.completed',
      bagCount: 1,
      stagingSlot: 'S-1',
    });
    expect(packed.state).toBe('courier_assigned');
    const offered = await mitte.order('o-1');
    const courierId = offered.dispatch?.offeredTo ?? '';
    expect(courierId).toMatch(/^mitte-c\d$/);
    await deliver(mitte, offered, courierId);
    const captured = await eventually('capture', async () => {
      const order = await mitte.order('o-1');
      return order.payment.capturedCents > 0 ? order : undefined;
    });
    expect(captured).toMatchObject({
      state: 'delivered',
      payment: { pending: [], capturedCents: offered.amountCents },
    });
    expect((await mitte.availability([line.sku])).items[0]).toMatchObject({ onHand: 18, reserved: 0 });
  });

  it('runs the shift: pickers and couriers check in and out, a breakdown, the fulfilment view', async () => {
    expect(await mitte.pickerCheckIn({ pickerId: 'p-extra' })).toEqual({
      kind: 'picker',
      pickerId: 'p-extra',
      onShift: true,
    });
    expect(await mitte.takePickTask({ pickerId: 'p-extra' })).toEqual({ kind: 'pick_task', pickerId: 'p-extra' });
    expect((await mitte.pickerCheckOut({ pickerId: 'p-extra' })).onShift).toBe(false);
    expect(await mitte.courierCheckIn({ courierId: 'c-extra', position: STORE })).toMatchObject({
      kind: 'courier',
      state: 'available',
    });
    expect((await mitte.courierCheckOut({ courierId: 'c-extra' })).state).toBe('offline');
    expect((await mitte.courierCheckIn({ courierId: 'c-extra', position: STORE })).state).toBe('available');
    expect((await mitte.courierBreakdown({ courierId: 'c-extra' })).state).toBe('offline');
    const floor = await mitte.fulfillment();
    expect(floor.pickers.map((p) => p.pickerId).sort()).toEqual(['mitte-p0', 'mitte-p1']);
    expect(floor.couriers.find((c) => c.courierId === 'c-extra')?.state).toBe('offline');
    expect(floor.config.courierSpeedKmh).toBe(25);
  });

  it('sends a batch: each command its own result, in order, a rejection not stopping the others', async () => {
    const results = await mitte.batch([
      { type: 'receipt', receiptId: 'rc-batch-1', lines: [{ sku: SKU, quantity: 5 }] },
      { type: 'reserve', lines: [{ sku: SKU, quantity: 1_000 }], ttlMs: 60_000 },
      { type: 'reserve', key: 'batch-reserve', lines: [{ sku: SKU, quantity: 4 }], ttlMs: 60_000 },
      { type: 'adjust', sku: 'no-such-sku', delta: 1, reason: 'found' },
      { type: 'count', sku: SKU, counted: -5 },
    ]);
    expect(results.map((r) => (r.ok ? r.value.kind : r.error.code))).toEqual([
      'stock',
      'INSUFFICIENT_STOCK',
      'reserved',
      'NOT_FOUND',
      'VALIDATION_ERROR',
    ]);
    expect((await mitte.availability([SKU])).items[0]).toMatchObject({ onHand: 10, reserved: 4 });
    expect(await mitte.command('batch-reserve')).toEqual(results[2]);
    const empty = await rejection(mitte.batch([]));
    expect(empty).toBeInstanceOf(ValidationError);
    expect(empty).toMatchObject({ path: 'commands' });
  });

  it('fails with typed errors when nobody serves a warehouse or a reply never comes', async () => {
    const nowhere = client.warehouse('berlin', 'nowhere');
    const started = Date.now();
    const none = await rejection(nowhere.availability([SKU], { retries: 2, backoffMs: 20, restartWaitMs: 0 }));
    expect(none).toBeInstanceOf(NoRespondersError);
    expect(none).toMatchObject({ code: 'NO_RESPONDERS', attempts: 3, retryable: true });
    expect(Date.now() - started).toBeLessThan(1_000);
    // A responder that swallows requests: each attempt times out.
    const silent: NatsConnection = await connect({ servers: nats.url });
    try {
      silent.subscribe('darkstore.berlin.silent.cmd', { callback: () => undefined });
      await silent.flush();
      const slow = client.warehouse('berlin', 'silent');
      const timedOut = await rejection(slow.pickerCheckIn({ pickerId: 'p' }, { timeoutMs: 150, retries: 1 }));
      expect(timedOut).toBeInstanceOf(RequestTimeoutError);
      expect(timedOut).toMatchObject({ code: 'TIMEOUT', timeoutMs: 150, attempts: 2 });
      // The key the client made up is on the error, to send the command again as the same command.
      const sentKey = (timedOut as DarkstoreError).sentKey as string;
      expect(sentKey).toMatch(/^\w{22}$/);
      const given = await rejection(slow.pickerCheckIn({ key: 'mine', pickerId: 'p' }, { timeoutMs: 50, retries: 0 }));
      expect((given as DarkstoreError).sentKey).toBeUndefined();
      // A checkout nobody answers says its key too; so does one answered with a refusal (a retry of
      // an UNAVAILABLE must reuse it). The address is far from every store.
      const order = (orderId: string) => ({
        orderId,
        customerId: 'c',
        address: { lat: 0, lon: 0 },
        lines: [{ sku: SKU, quantity: 1 }],
        paymentToken: 't',
        ttlMs: 60_000,
      });
      const lost = await rejection(client.checkout('nobody', order('o-x'), { retries: 0, restartWaitMs: 0 }));
      expect((lost as DarkstoreError).sentKey).toMatch(/^\w{22}$/);
      const far = await client.checkout('berlin', order('o-far'));
      expect(far).toMatchObject({ ok: false, error: { code: 'NO_FULFILLMENT_CENTER' } });
      expect(far.sentKey).toMatch(/^\w{22}$/);
      // An order event and a batch that got no reply say their keys too (a batch: every command's).
      const event = { orderId: 'o-1', expectedState: 'picking', event: 'order.cancel' } as const;
      const lostEvent = await rejection(slow.orderEvent(event, { timeoutMs: 50, retries: 0 }));
      expect((lostEvent as DarkstoreError).sentKey).toMatch(/^\w{22}$/);
      const commands = [
        { type: 'adjust', sku: SKU, delta: 1, reason: 'found' },
        { type: 'adjust', key: 'mine-2', sku: SKU, delta: 1, reason: 'found' },
      ] as const;
      const lostBatch = await rejection(slow.batch(commands, { timeoutMs: 50, retries: 0 }));
      const sentKeys = (lostBatch as DarkstoreError).sentKeys;
      expect(sentKeys).toHaveLength(2);
      expect(sentKeys?.[0]).toMatch(/^\w{22}$/);
      expect(sentKeys?.[1]).toBe('mine-2');
    } finally {
      await silent.close();
    }
    expect(() => client.warehouse('berlin', 'a.b')).toThrow(ValidationError);
  });

  it("gives a checkout attempt the time a region may take, beyond the client's shorter timeout", async () => {
    // This client times out at 2 s; a region may take longer (claim, candidates, placement).
    const slowRegion: NatsConnection = await connect({ servers: nats.url });
    try {
      slowRegion.subscribe('darkstore.slowregion.checkout', {
        callback: (_error, msg) => {
          setTimeout(() => msg.respond(encode({ ok: true, value: { kind: 'checkout' } })), 2_500);
        },
      });
      await slowRegion.flush();
      const order = {
        orderId: 'o-slow',
        customerId: 'c',
        address: STORE,
        lines: [{ sku: SKU, quantity: 1 }],
        ttlMs: 60_000,
      };
      const answered = await client.checkout('slowregion', { ...order, paymentToken: 't' }, { retries: 0 });
      expect(answered).toMatchObject({ ok: true, value: { kind: 'checkout' } });
      // The caller's own timeout still decides.
      const short = await rejection(
        client.checkout('slowregion', { ...order, paymentToken: 't' }, { retries: 0, timeoutMs: 200 }),
      );
      expect(short).toMatchObject({ code: 'TIMEOUT', timeoutMs: 200 });
    } finally {
      await slowRegion.close();
    }
  });

  it('keeps trying a warehouse nobody serves yet (a region restarting) for restartWaitMs, past its retries', async () => {
    const late = client.warehouse('berlin', 'late');
    const responder: NatsConnection = await connect({ servers: nats.url });
    try {
      // Nobody serves `late` for 1.5 s: the default policy's 3 retries alone are spent in ~350 ms.
      const coming = new Promise<void>((resolve) =>
        setTimeout(() => {
          responder.subscribe('darkstore.berlin.late.query', {
            callback: (_e, msg) => {
              msg.respond(encode({ ok: true, value: { kind: 'availability', items: [] } }));
            },
          });
          void responder.flush().then(resolve);
        }, 1_500),
      );
      const started = Date.now();
      const answered = await late.query({ type: 'availability', skus: [SKU] });
      expect(answered).toEqual({ ok: true, value: { kind: 'availability', items: [] } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
      await coming;
      // A short window gives up soon after it, with more attempts than the retries alone (the default
      // policy's 4 attempts wait at most 50 + 100 + 200 ms between them, a 5th at most 400 ms more).
      const gone = await rejection(
        client.warehouse('berlin', 'nowhere').query({ type: 'availability', skus: [SKU] }, { restartWaitMs: 1_000 }),
      );
      expect(gone).toBeInstanceOf(NoRespondersError);
      expect((gone as NoRespondersError).attempts).toBeGreaterThan(DEFAULT_REQUEST_POLICY.retries + 1);
    } finally {
      await responder.close();
    }
  });

  it('waits out an UNAVAILABLE that says it passes (retryAfterMs), as long as it asks, and not a failed warehouse', async () => {
    const responder: NatsConnection = await connect({ servers: nats.url });
    const unavailableFor = (reason: string, retryAfterMs?: number) =>
      encode({ ok: false, error: { code: 'UNAVAILABLE', message: `unavailable: ${reason}`, reason, retryAfterMs } });
    const asked = new Map<string, number[]>();
    const serve = (warehouse: string, answer: () => Uint8Array) =>
      responder.subscribe(`darkstore.berlin.${warehouse}.query`, {
        callback: (_e, msg) => {
          asked.set(warehouse, [...(asked.get(warehouse) ?? []), Date.now()]);
          msg.respond(answer());
        },
      });
    try {
      // Reopening for 1.2 s, asking for 300 ms between attempts: the default policy's 3 retries
      // would be spent in ~350 ms, and its first backoffs are 25–100 ms.
      const backAtMs = Date.now() + 1_200;
      serve('reopening', () =>
        Date.now() < backAtMs
          ? unavailableFor('warehouse reopening is reopening', 300)
          : encode({ ok: true, value: { kind: 'availability', items: [] } }),
      );
      serve('broken', () => unavailableFor('warehouse broken failed: disk full'));
      serve('stubborn', () => unavailableFor('warehouse stubborn is reopening', 1e12));
      await responder.flush();
      const query = { type: 'availability' as const, skus: [SKU] };
      const started = Date.now();
      const answered = await client.warehouse('berlin', 'reopening').query(query);
      expect(answered).toEqual({ ok: true, value: { kind: 'availability', items: [] } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_150);
      const times = asked.get('reopening') ?? [];
      expect(times.length).toBeGreaterThan(DEFAULT_REQUEST_POLICY.retries + 1);
      for (let i = 1; i < times.length; i++)
        expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(280);
      // A failed warehouse names no time to come back: the retries, at the backoff, then its refusal.
      const broken = await client.warehouse('berlin', 'broken').query(query, { backoffMs: 10 });
      expect(broken).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      expect(asked.get('broken')).toHaveLength(DEFAULT_REQUEST_POLICY.retries + 1);
      // A hint is kept to the backoff's cap, and the window ends the waiting all the same.
      const stubbornStarted = Date.now();
      const stubborn = await client
        .warehouse('berlin', 'stubborn')
        .query(query, { backoffMs: 10, backoffMaxMs: 100, restartWaitMs: 600 });
      expect(stubborn).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      expect(Date.now() - stubbornStarted).toBeLessThan(1_500);
      expect((asked.get('stubborn') ?? []).length).toBeGreaterThan(DEFAULT_REQUEST_POLICY.retries + 1);
      // A checkout whose only candidate restarts: a NO_FULFILLMENT_CENTER that says when to ask again
      // is asked again like an UNAVAILABLE; one that does not is final at once.
      let checkouts = 0;
      const placedAtMs = Date.now() + 800;
      responder.subscribe('darkstore.restarting.checkout', {
        callback: (_e, msg) => {
          checkouts++;
          const candidates = [{ warehouseId: 'w', reason: 'unavailable', detail: 'stopped' }];
          const refusal = { code: 'NO_FULFILLMENT_CENTER', message: 'm', candidates, retryAfterMs: 200 };
          msg.respond(
            encode(Date.now() < placedAtMs ? { ok: false, error: refusal } : { ok: true, value: { kind: 'checkout' } }),
          );
        },
      });
      let finals = 0;
      responder.subscribe('darkstore.final.checkout', {
        callback: (_e, msg) => {
          finals++;
          const candidates = [{ warehouseId: 'w', reason: 'missing_skus' }];
          msg.respond(encode({ ok: false, error: { code: 'NO_FULFILLMENT_CENTER', message: 'm', candidates } }));
        },
      });
      await responder.flush();
      const order = {
        orderId: 'o-r',
        customerId: 'c',
        address: HOME,
        lines: [{ sku: SKU, quantity: 1 }],
        paymentToken: 't',
        ttlMs: 60_000,
      };
      expect(await client.checkout('restarting', order)).toMatchObject({ ok: true, value: { kind: 'checkout' } });
      expect(checkouts).toBeGreaterThan(DEFAULT_REQUEST_POLICY.retries + 1);
      const final = await client.checkout('final', order);
      expect(final).toMatchObject({ ok: false, error: { code: 'NO_FULFILLMENT_CENTER' } });
      expect(finals).toBe(1);
    } finally {
      await responder.close();
    }
  });

  it('refuses a retry policy it cannot keep, and keeps its own for a field left undefined', async () => {
    const w = client.warehouse('berlin', 'nowhere');
    // Unchecked, retries: NaN retried for ever (a hot loop on NO_RESPONDERS) and Infinity timed out at once.
    for (const bad of [
      { retries: Number.NaN },
      { retries: 1.5 },
      { timeoutMs: Number.POSITIVE_INFINITY },
      { backoffMs: -1 },
    ]) {
      const refused = await rejection(w.availability([SKU], bad));
      expect(refused).toBeInstanceOf(ValidationError);
      expect((refused as ValidationError).message).toMatch(new RegExp(`^${Object.keys(bad)[0]}: `));
    }
    const kept = await rejection(w.availability([SKU], { retries: undefined, backoffMs: 5, restartWaitMs: 0 }));
    expect(kept).toMatchObject({ code: 'NO_RESPONDERS', attempts: DEFAULT_REQUEST_POLICY.retries + 1 });
    expect(() => new DarkstoreClient(client.nc, { retries: Number.NaN })).toThrow(ValidationError);
    // What msgpack cannot carry is refused before sending, as a rejection (not a synchronous throw).
    const huge = { type: 'adjust', sku: SKU, delta: 10n, reason: 'found' } as unknown as Parameters<typeof w.send>[0];
    const call = w.send(huge);
    expect(call).toBeInstanceOf(Promise);
    expect(await rejection(call)).toBeInstanceOf(ValidationError);
  });

  it('spreads retries: exponential backoff, capped, with jitter between half and all of the step', () => {
    const policy = { ...DEFAULT_REQUEST_POLICY, backoffMs: 100, backoffMaxMs: 1_000 };
    expect([0, 1, 2, 3, 4].map((n) => backoffDelayMs(policy, n, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect([0, 1, 2, 3, 4].map((n) => backoffDelayMs(policy, n, () => 0))).toEqual([50, 100, 200, 400, 500]);
    // Past the retries a call waiting for a restart keeps counting attempts: no doubling overflows
    // (0 × 2 ** 1024 would be NaN, a timer of 1 ms, and a window that never ends).
    expect(backoffDelayMs(policy, 5_000, () => 1)).toBe(1_000);
    expect(backoffDelayMs({ ...policy, backoffMs: 0 }, 5_000, () => 1)).toBe(0);
  });

  it('types what a reply says, whatever it says: an unknown code, a batch entry that is not a result', async () => {
    expect(rejectionOf({ code: 'toString', message: 'm' } as unknown as EngineError)).toBeInstanceOf(RejectionError);
    expect(rejectionOf({ code: 'constructor', message: 'm' } as unknown as EngineError)).toMatchObject({
      code: 'constructor',
    });
    const responder: NatsConnection = await connect({ servers: nats.url });
    try {
      responder.subscribe('darkstore.berlin.odd.cmd', {
        callback: (_e, msg) => {
          msg.respond(encode({ ok: true, value: { kind: 'batch', results: [null] } }));
        },
      });
      await responder.flush();
      const adjust = { type: 'adjust', sku: SKU, delta: 1, reason: 'found' } as const;
      const odd = await rejection(client.warehouse('berlin', 'odd').batch([adjust]));
      expect(odd).toMatchObject({ code: 'BAD_REPLY' });
    } finally {
      await responder.close();
    }
  });
});

/** The courier accepts, picks up, rides to the door (pinging) and hands over. */
async function deliver(w: WarehouseClient, order: OrderView, courierId: string): Promise<void> {
  const { orderId } = order;
  expect((await w.courierPing({ courierId, position: STORE, deviceTimeMs: Date.now() })).state).toBe('assigned');
  await w.orderEvent({ orderId, expectedState: 'courier_assigned', event: 'courier.accepted', courierId });
  const out = await w.orderEvent({ orderId, expectedState: 'courier_assigned', event: 'courier.picked_up', courierId });
  expect(out.state).toBe('out_for_delivery');
  // Ten minutes later on the courier's device: 1.1 km at a plausible speed.
  const atDoor = await w.courierPing({ courierId, position: HOME, deviceTimeMs: Date.now() + 10 * 60_000 });
  expect(atDoor).toMatchObject({ courierId, orderId, state: 'en_route_to_delivery' });
  const done = await w.orderEvent({
    orderId,
    expectedState: 'out_for_delivery',
    event: 'delivery.completed',
    courierId,
    position: HOME,
  });
  expect(done.state).toBe('delivered');
}
