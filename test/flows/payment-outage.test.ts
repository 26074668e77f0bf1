/**
 * A payment provider outage end to end in virtual time: the real warehouse core (the `Floor`), the
 * real effect executor and the real `ResilientGateway` with its circuit breaker over a simulated
 * provider that is down for a window, all on one virtual clock. Each command's events go to the
 * executor as the runtime hands over committed batches, and the executor's outcomes go back into
 * the core as commands. Checkouts during the outage are cancelled and their stock released; the
 * breaker opens; a capture owed by an order delivered during the outage is retried and lands once
 * the provider is back, exactly once; the whole run replays byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { EffectExecutor } from '../../effects/index.ts';
import type { EngineEvent, PaymentOutcomeCommand, Result } from '../../engine/index.ts';
import { CircuitBreaker, ResilientGateway, SimulatedPaymentProvider } from '../../payments/index.ts';
import { Random } from '../../sim/index.ts';
import { SpyGateway, VirtualScheduler } from '../effects/helpers.ts';
import { Floor, HOME, T0 } from './floor.ts';

const OUTAGE_FROM_MS = T0 + 60_000;
const OUTAGE_TO_MS = OUTAGE_FROM_MS + 5 * 60_000;
const CAPTURE_KEY = 'w-flow:o-road:capture';
const ROAD_LINES = [
  { sku: 'milk', quantity: 2 },
  { sku: 'bread', quantity: 1 },
];
/** Three items at 300 cents. */
const ROAD_CHARGE_CENTS = 900;

/** The floor, the provider with its outage, the gateway with its breaker and the executor, on one clock. */
function setup() {
  const scheduler = new VirtualScheduler(T0);
  const floor = Floor.open({ couriers: ['c1'] });
  const provider = new SimulatedPaymentProvider({
    seed: 5,
    clock: scheduler.now,
    sleep: scheduler.sleep,
    latencyMs: { min: 20, max: 80 },
    outages: [{ fromMs: OUTAGE_FROM_MS, toMs: OUTAGE_TO_MS }],
  });
  const spy = new SpyGateway(provider);
  const breaker = new CircuitBreaker(scheduler.now);
  const random = new Random(9);
  const gateway = new ResilientGateway(spy, { breaker, random: () => random.next(), sleep: scheduler.sleep });
  const outcomes: (PaymentOutcomeCommand & { atMs: number })[] = [];
  /** Applies a command at the virtual time and hands its events to the executor, as the runtime does. */
  const act = (send: () => Result): Result => {
    floor.atMs = Math.max(floor.atMs, scheduler.now());
    const before = floor.log.length;
    const result = send();
    executor.handle(floor.log.slice(before) as EngineEvent[]);
    return result;
  };
  const executor: EffectExecutor = new EffectExecutor({
    warehouseId: 'w-flow',
    gateway,
    scheduler,
    submit: async (command) => {
      outcomes.push({ ...command, atMs: scheduler.now() });
      return act(() => floor.send(command));
    },
  });
  const settle = () => scheduler.run(executor.idle());
  return { scheduler, floor, provider, spy, breaker, gateway, executor, outcomes, act, settle };
}

type World = ReturnType<typeof setup>;

/** Places an order and lets its authorization come back. */
async function checkout(w: World, orderId: string, lines: { sku: string; quantity: number }[]): Promise<void> {
  expect(w.act(() => w.floor.place(orderId, lines)).ok).toBe(true);
  await w.settle();
}

/** Picks every line, packs, and the courier accepts and takes the order on the road. */
function dispatch(w: World, orderId: string, courierId: string): void {
  const { floor, act } = w;
  expect(
    act(() => {
      expect(floor.pickAll()).toBe(orderId);
      return floor.pack(orderId);
    }).ok,
  ).toBe(true);
  expect(floor.stateOf(orderId)).toBe('courier_assigned');
  expect(act(() => floor.courierEvent(orderId, 'courier_assigned', 'courier.accepted', courierId)).ok).toBe(true);
  expect(act(() => floor.courierEvent(orderId, 'courier_assigned', 'courier.picked_up', courierId)).ok).toBe(true);
}

/** The courier hands the order over at the address. */
function deliver(w: World, orderId: string, courierId: string): Result {
  const facts = { position: HOME };
  return w.act(() => w.floor.courierEvent(orderId, 'out_for_delivery', 'delivery.completed', courierId, facts));
}

/** An order delivered while the provider is down: it is on the road before, and delivered in the outage. */
async function deliveredInOutage(w: World): Promise<void> {
  await checkout(w, 'o-road', ROAD_LINES);
  expect(String(w.floor.order('o-road').lifecycle.value)).toBe('reserved.confirmed');
  dispatch(w, 'o-road', 'c1');
  await w.scheduler.advance(OUTAGE_FROM_MS - w.scheduler.now());
  expect(deliver(w, 'o-road', 'c1').ok).toBe(true);
  expect(w.floor.stateOf('o-road')).toBe('delivered');
  expect(w.floor.order('o-road').payment.pending).toEqual(['capture']);
}

describe('order flow: payment provider outage', () => {
  it('opens the breaker, cancels checkouts it cannot hold, and captures a delivered order once, after the outage', async () => {
    const w = setup();
    const { floor, scheduler, provider, breaker, gateway, spy, outcomes } = w;
    await deliveredInOutage(w);
    // The capture's first try fails through all its attempts: reported, still owed.
    await scheduler.advance(10_000);
    expect(floor.order('o-road').payment).toMatchObject({ pending: ['capture'], failures: 1, capturedCents: 0 });
    expect(breaker.state).toBe('closed');

    // A checkout in the outage: its authorization trips the breaker and comes back unavailable, so
    // the checkout is cancelled and its stock released.
    const milk = floor.available('milk');
    expect(w.act(() => floor.place('o-out1', [{ sku: 'milk', quantity: 3 }])).ok).toBe(true);
    expect(floor.available('milk')).toBe(milk - 3);
    await scheduler.advance(10_000);
    expect(breaker.state).toBe('open');
    expect(floor.stateOf('o-out1')).toBe('cancelled');
    expect(floor.available('milk')).toBe(milk);

    // The next checkout never reaches the provider: the open breaker refuses it at once.
    const shortCircuited = gateway.shortCircuited;
    const eggs = floor.available('eggs');
    expect(w.act(() => floor.place('o-out2', [{ sku: 'eggs', quantity: 2 }])).ok).toBe(true);
    await scheduler.advance(10_000);
    expect(floor.stateOf('o-out2')).toBe('cancelled');
    expect(gateway.shortCircuited).toBeGreaterThan(shortCircuited);
    expect(spy.keys).not.toContain('w-flow:o-out2:authorize');
    expect(floor.available('eggs')).toBe(eggs);
    for (const orderId of ['o-out1', 'o-out2']) {
      const order = floor.order(orderId);
      expect(floor.warehouse.state.reservations.has(order.reservationId)).toBe(false);
      expect(order.payment.pending).toEqual([]);
      expect(outcomes.filter((c) => c.orderId === orderId).map((c) => c.outcome)).toEqual(['unavailable']);
      // Nothing was held, so there is nothing to void.
      expect(floor.effects(orderId).map((e) => e.effect)).toEqual(['authorizePayment']);
    }

    // The provider comes back: the capture, retried with backoff, lands once, after the outage.
    await w.settle();
    const captures = outcomes.filter((c) => c.orderId === 'o-road' && c.operation === 'capture');
    expect(captures.length).toBeGreaterThan(2);
    expect(captures.slice(0, -1).every((c) => c.outcome === 'unavailable')).toBe(true);
    expect(captures.at(-1)).toMatchObject({ outcome: 'succeeded', amountCents: ROAD_CHARGE_CENTS });
    expect(captures.at(-1)?.atMs).toBeGreaterThanOrEqual(OUTAGE_TO_MS);
    expect(floor.order('o-road').payment).toMatchObject({ pending: [], capturedCents: ROAD_CHARGE_CENTS });
    // Every try used the same idempotency key; the provider's ledger holds one capture, of the charge.
    expect(new Set(spy.keys.filter((k) => k.endsWith(':capture')))).toEqual(new Set([CAPTURE_KEY]));
    expect([...provider.authorizations.values()]).toEqual([
      {
        orderId: 'o-road',
        heldCents: ROAD_CHARGE_CENTS,
        capturedCents: ROAD_CHARGE_CENTS,
        refundedCents: 0,
        voided: false,
      },
    ]);
    expect(breaker.state).toBe('closed');

    // A checkout after the outage is held as usual.
    await checkout(w, 'o-after', [{ sku: 'milk', quantity: 1 }]);
    expect(String(floor.order('o-after').lifecycle.value)).toBe('reserved.confirmed');
    expect(provider.authorizations.size).toBe(2);
    expect(floor.events('escalation.raised').filter((e) => e.kind === 'payment_refused')).toEqual([]);
    floor.replayMatches();
  });

  // A refund asked for while the capture is still owed waits for the capture's outcome
  // (`refundOnCapture`): the money the provider takes when it is back is refunded at once.
  it('a refund while the capture is still owed leaves the customer charged nothing', async () => {
    const w = setup();
    const { floor, provider } = w;
    await deliveredInOutage(w);
    await w.scheduler.advance(5_000);
    // Ops refund the order while the provider is still down (the goods came back damaged).
    expect(w.act(() => floor.event('o-road', 'delivered', 'payment.refunded', { reason: 'damaged' })).ok).toBe(true);
    expect(floor.stateOf('o-road')).toBe('refunded');
    await w.settle();
    floor.replayMatches();
    // Whatever the provider took for the refunded order, it gave back, and nothing was refused.
    const [auth] = [...provider.authorizations.values()];
    expect(auth?.orderId).toBe('o-road');
    expect(auth?.voided === true || auth?.capturedCents === auth?.refundedCents).toBe(true);
    expect(floor.events('escalation.raised').filter((e) => e.kind === 'payment_refused')).toEqual([]);
  });
});
