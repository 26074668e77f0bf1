/**
 * The effect executor against a real simulated provider behind the real resilient gateway and circuit
 * breaker, in virtual time: outcomes of authorize, decline and outage; a capture during an outage
 * retried until it lands, once; a crash between the provider's answer and the durable outcome
 * resumed without a second charge; one call at a time per (order, operation); the bounds; close();
 * and committed events handed to the notifier. `submit` is a stand-in keeping the core's
 * idempotency rules, so a wrong command key shows up as a conflict.
 */
import { describe, expect, it } from 'vitest';
import {
  EffectExecutor,
  type EffectExecutorOptions,
  NotificationFeed,
  outcomeKey,
  RESUME_SWEEP_MS,
  systemScheduler,
} from '../../effects/index.ts';
import type { Result } from '../../engine/index.ts';
import { type Notification, type NotificationSender, Notifier } from '../../notifications/index.ts';
import {
  CircuitBreaker,
  type PaymentGateway,
  ResilientGateway,
  SimulatedPaymentProvider,
  type SimulatedProviderOptions,
} from '../../payments/index.ts';
import { Random } from '../../sim/index.ts';
import { effectEvent, FakeWarehouse, recoveredOrder, SpyGateway, VirtualScheduler } from './helpers.ts';

const AUTH_ID = 'auth-o1-1';
const unused = async (): Promise<never> => {
  throw new Error('not called in this test');
};
/** A gateway for tests that replace the one method they call. */
const stubGateway: PaymentGateway = { authorize: unused, capture: unused, void: unused, refund: unused }; // the simulated provider's first authorization for order o1

function setup(
  options: { provider?: Partial<SimulatedProviderOptions>; executor?: Partial<EffectExecutorOptions> } = {},
) {
  const scheduler = new VirtualScheduler();
  const provider = new SimulatedPaymentProvider({
    seed: 1,
    clock: scheduler.now,
    sleep: scheduler.sleep,
    latencyMs: { min: 20, max: 80 },
    ...options.provider,
  });
  const spy = new SpyGateway(provider);
  const breaker = new CircuitBreaker(scheduler.now, 3, 10_000);
  const random = new Random(7);
  const gateway = new ResilientGateway(spy, {
    breaker,
    random: () => random.next(),
    sleep: scheduler.sleep,
    attemptsMax: 4,
  });
  const warehouse = new FakeWarehouse(scheduler);
  const executor = new EffectExecutor({
    warehouseId: 'W1',
    gateway,
    submit: warehouse.submit,
    scheduler,
    retryDelayMs: 30_000,
    ...options.executor,
  });
  const settle = () => scheduler.run(executor.idle());
  return { scheduler, provider, spy, breaker, gateway, warehouse, executor, settle };
}

const authorize = (orderId: string, amountCents = 1_000) =>
  effectEvent(orderId, 'authorizePayment', amountCents, { paymentToken: `tok-${orderId}` });

describe('effect executor: outcomes', () => {
  it('reports an authorization with its id, under stable provider and command keys', async () => {
    const { executor, warehouse, spy, settle } = setup();
    expect(executor.handle([authorize('o1')])).toEqual({ started: 1, coalesced: 0, refused: 0 });
    await settle();
    expect(warehouse.recorded).toMatchObject([
      {
        type: 'payment.outcome',
        key: 'pay:o1:authorize:succeeded',
        orderId: 'o1',
        operation: 'authorize',
        outcome: 'succeeded',
        authorizationId: AUTH_ID,
      },
    ]);
    expect(spy.keys).toEqual(['W1:o1:authorize']);
  });

  it('reports a decline as final, with the provider message', async () => {
    const { executor, warehouse, settle } = setup({ provider: { declineRate: 1 } });
    executor.handle([authorize('o1')]);
    await settle();
    expect(warehouse.recorded).toMatchObject([
      { key: 'pay:o1:authorize:declined', outcome: 'declined', message: 'card declined' },
    ]);
    expect(executor.tracked()).toEqual([]);
  });

  it('during an outage the breaker opens and authorizations are reported unavailable, not retried', async () => {
    const { executor, warehouse, provider, breaker, gateway, settle } = setup({
      provider: { outages: [{ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }] },
    });
    executor.handle(['o1', 'o2', 'o3'].map((id) => authorize(id)));
    await settle();
    expect(warehouse.recorded.map((c) => [c.key, c.outcome]).sort()).toEqual([
      ['pay:o1:authorize:unavailable:1', 'unavailable'],
      ['pay:o2:authorize:unavailable:1', 'unavailable'],
      ['pay:o3:authorize:unavailable:1', 'unavailable'],
    ]);
    expect(breaker.state).toBe('open');
    expect(gateway.shortCircuited).toBeGreaterThan(0);
    expect(provider.calls).toBeLessThan(3 * 4); // the breaker spared the provider calls
    expect(executor.stats).toMatchObject({ unavailable: 3, retried: 0 });
  });

  it('tries an authorize whose answer was lost until the provider answers, reporting the first try uncertain', async () => {
    const { provider, scheduler } = setup();
    let lost = 0;
    // The request reaches the provider (it places the hold); the answer never comes back.
    const lossy: PaymentGateway = {
      ...stubGateway,
      authorize: async (request) => {
        const answer = await provider.authorize(request);
        if (lost++ === 0) throw new Error('connection reset after the request went out');
        return answer;
      },
    };
    const warehouse = new FakeWarehouse(scheduler);
    const executor = new EffectExecutor({ warehouseId: 'W1', gateway: lossy, submit: warehouse.submit, scheduler });
    executor.handle([authorize('o1')]);
    await scheduler.run(executor.idle());
    expect(warehouse.recorded.map((c) => [c.outcome, c.uncertain])).toEqual([
      ['unavailable', true],
      ['succeeded', undefined],
    ]);
    // One hold at the provider, reported with its id: the warehouse voids it on the cancelled order.
    expect(provider.authorizations.size).toBe(1);
    expect(warehouse.recorded[1]?.authorizationId).toBe([...provider.authorizations.keys()][0]);
    expect(executor.stats).toMatchObject({ retried: 1 });
  });

  it('ignores effects that are not payments, and answers a void without an authorization as declined', async () => {
    const { executor, warehouse, spy, settle } = setup();
    const ignored = executor.handle([effectEvent('o1', 'notify', 0), effectEvent('o1', 'requestCourier', 0)]);
    expect(ignored).toEqual({ started: 0, coalesced: 0, refused: 0 });
    executor.handle([effectEvent('o2', 'voidAuthorization', 500)]);
    await settle();
    expect(warehouse.recorded).toMatchObject([
      { orderId: 'o2', outcome: 'declined', message: 'no authorization to void' },
    ]);
    expect(spy.keys).toEqual([]);
  });

  it('keeps command keys within the id limit for the longest order ids, and messages within the text limit', async () => {
    const { executor, warehouse, settle } = setup();
    executor.handle([authorize('o'.repeat(128))]);
    await settle();
    const key = warehouse.recorded[0]?.key ?? '';
    expect(key.length).toBeLessThanOrEqual(128);
    expect(key).toMatch(/^pay:#[0-9a-f]{40}:authorize:succeeded$/);
    expect(outcomeKey('o'.repeat(128), 'authorize', 'succeeded')).toBe(key);

    const chatty = new EffectExecutor({
      warehouseId: 'W1',
      gateway: {
        ...stubGateway,
        void: async () => ({ ok: false, reason: 'declined', message: `${'x'.repeat(511)}\u{1F4B3}` }),
      },
      submit: warehouse.submit,
      scheduler: new VirtualScheduler(),
    });
    chatty.handle([effectEvent('o9', 'voidAuthorization', 0, { authorizationId: 'a9' })]);
    await chatty.idle();
    const message = warehouse.recorded[1]?.message ?? '';
    expect(message).toHaveLength(512);
    expect(message.endsWith('x\uFFFD')).toBe(true); // the card emoji cut in half is not sent half
  });
});

describe('effect executor: retries and resumption', () => {
  it('retries a capture through an outage and captures exactly once after it', async () => {
    const outages: { fromMs: number; toMs: number }[] = [];
    const { executor, warehouse, provider, spy, scheduler, settle } = setup({ provider: { outages } });
    executor.handle([authorize('o1')]);
    await settle();
    const outageEndMs = scheduler.nowMs + 300_000;
    outages.push({ fromMs: scheduler.nowMs, toMs: outageEndMs });
    executor.handle([effectEvent('o1', 'capturePayment', 900, { authorizationId: AUTH_ID })]);
    await settle();

    const captures = warehouse.recorded.filter((c) => c.operation === 'capture');
    const last = captures[captures.length - 1];
    expect(last).toMatchObject({ key: 'pay:o1:capture:succeeded', outcome: 'succeeded', amountCents: 900 });
    expect(last?.atMs).toBeGreaterThanOrEqual(outageEndMs);
    const reports = captures.slice(0, -1);
    expect(reports.length).toBeGreaterThan(1);
    expect(reports.map((c) => c.key)).toEqual(reports.map((_, i) => `pay:o1:capture:unavailable:${i + 1}`));
    expect(reports.every((c) => c.outcome === 'unavailable')).toBe(true);
    // Every try used the one provider key, and the provider's ledger holds one capture of 900.
    expect(new Set(spy.keys.filter((k) => k.endsWith(':capture')))).toEqual(new Set(['W1:o1:capture']));
    expect(provider.authorizations.get(AUTH_ID)).toMatchObject({ heldCents: 1_000, capturedCents: 900 });
    expect(warehouse.conflicts).toBe(0);
  });

  it('resumes operations a crash interrupted, without a second hold or charge', async () => {
    const { provider, spy, scheduler, warehouse } = setup();
    // Process A: the provider answers, then the process dies before the outcome is durable.
    const lost = (): Promise<Result> => new Promise(() => {});
    const crashed = new EffectExecutor({ warehouseId: 'W1', gateway: spy, submit: lost, scheduler });
    crashed.handle([authorize('o1')]);
    await scheduler.advance(1_000);
    crashed.handle([effectEvent('o1', 'capturePayment', 900, { authorizationId: AUTH_ID })]);
    await scheduler.advance(1_000);
    crashed.close();
    expect(provider.authorizations.get(AUTH_ID)).toMatchObject({ capturedCents: 900 });

    // Process B: recovery finds both operations still pending and runs them again.
    const resumed = new EffectExecutor({ warehouseId: 'W1', gateway: spy, submit: warehouse.submit, scheduler });
    const order = recoveredOrder('o1', ['authorize'], { amountCents: 1_000 });
    expect(resumed.resume([order])).toEqual({ started: 1, coalesced: 0, refused: 0 });
    const afterCapture = recoveredOrder('o1', ['capture'], { authorizationId: AUTH_ID, adjustmentCents: 100 });
    resumed.resume([afterCapture]);
    await scheduler.run(resumed.idle());

    const outcomes = warehouse.recorded.map((c) => [c.operation, c.outcome, c.authorizationId ?? c.amountCents]);
    expect(outcomes.sort()).toEqual([
      ['authorize', 'succeeded', AUTH_ID],
      ['capture', 'succeeded', 900],
    ]);
    expect(provider.authorizations.size).toBe(1); // no second hold
    expect(provider.authorizations.get(AUTH_ID)).toMatchObject({ capturedCents: 900 }); // no second charge
  });

  it('numbers outage reports after the failures the warehouse already counted', async () => {
    const outages: { fromMs: number; toMs: number }[] = [];
    const { executor, warehouse, scheduler, settle } = setup({ provider: { outages } });
    executor.handle([authorize('o1')]);
    await settle();
    outages.push({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER });
    executor.resume([recoveredOrder('o1', ['void'], { authorizationId: AUTH_ID, failures: 4 })]);
    await scheduler.advance(40_000); // the first try, and the retry 30 s later
    executor.close();
    expect(warehouse.recorded.slice(1).map((c) => c.key)).toEqual([
      'pay:o1:void:unavailable:5',
      'pay:o1:void:unavailable:6',
    ]);
  });

  it('tries again when the warehouse cannot take the outcome, moving the money once', async () => {
    const { executor, warehouse, provider, spy, settle } = setup();
    warehouse.refuseNext = 1;
    executor.handle([authorize('o1')]);
    await settle();
    expect(warehouse.recorded).toMatchObject([{ key: 'pay:o1:authorize:succeeded', authorizationId: AUTH_ID }]);
    expect(spy.keys).toEqual(['W1:o1:authorize', 'W1:o1:authorize']);
    expect(provider.authorizations.size).toBe(1);
  });

  it('ends an operation whose final outcome the warehouse refuses, but keeps retrying one still owed', async () => {
    const { executor, warehouse, scheduler, settle } = setup({
      provider: { outages: [{ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }] },
    });
    warehouse.refuseWith = (c) =>
      c.orderId === 'gone'
        ? { code: 'NOT_FOUND', message: 'no order gone', kind: 'order', id: 'gone' }
        : { code: 'INVALID_TRANSITION', message: 'not now', orderId: c.orderId, expected: 'x', actual: 'y' };
    executor.handle([
      effectEvent('gone', 'capturePayment', 500, { authorizationId: 'auth-gone' }),
      effectEvent('o1', 'capturePayment', 500, { authorizationId: AUTH_ID }),
    ]);
    await scheduler.advance(5_000);
    expect(executor.tracked().map((t) => [t.orderId, t.phase])).toEqual([['o1', 'waiting']]);
    expect(executor.stats.rejected).toBe(2);
    expect(executor.lastRejection?.error.code).toBeDefined();
    warehouse.refuseWith = undefined;
    executor.close();
    await settle();
  });

  it('close() stops retry timers; calls already answered still report', async () => {
    const { executor, warehouse, scheduler, spy } = setup({
      provider: { outages: [{ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }] },
    });
    executor.handle([effectEvent('o1', 'refundPayment', 500, { authorizationId: AUTH_ID })]);
    await scheduler.advance(5_000);
    const [waiting] = executor.tracked();
    expect(waiting).toMatchObject({ phase: 'waiting', retries: 1 });
    expect((waiting?.retryAtMs ?? 0) - (warehouse.recorded[0]?.atMs ?? 0)).toBe(30_000);
    const calls = spy.keys.length;
    executor.close();
    await executor.idle();
    expect(scheduler.timersPending).toBe(0);
    await scheduler.advance(3_600_000);
    expect(spy.keys.length).toBe(calls);
    expect(executor.handle([authorize('o2')])).toEqual({ started: 0, coalesced: 0, refused: 1 });
  });
});

describe('effect executor: one call per operation, and bounds', () => {
  it('does not start an operation twice while it is tracked; a redelivery afterwards is harmless', async () => {
    const { executor, warehouse, spy, settle } = setup();
    executor.handle([authorize('o1')]);
    await settle();
    const capture = effectEvent('o1', 'capturePayment', 1_000, { authorizationId: AUTH_ID });
    expect(executor.handle([capture, capture])).toEqual({ started: 1, coalesced: 1, refused: 0 });
    expect(executor.handle([capture])).toEqual({ started: 0, coalesced: 1, refused: 0 });
    await settle();
    expect(spy.keys.filter((k) => k === 'W1:o1:capture')).toHaveLength(1);
    expect(spy.sameKeyInFlightMax).toBe(1);
    // At-least-once delivery of the batch: the provider and the warehouse both answer a duplicate.
    executor.handle([capture]);
    await settle();
    expect(warehouse.outcomesOf('o1', 'capture')).toEqual(['succeeded']);
    expect(warehouse).toMatchObject({ duplicates: 1, conflicts: 0 });
  });

  it('refuses operations past opsMax (left to resume) and keeps provider calls under callsMax', async () => {
    const { executor, warehouse, spy, settle } = setup({ executor: { opsMax: 3, callsMax: 2 } });
    const summary = executor.handle(['o1', 'o2', 'o3', 'o4', 'o5'].map((id) => authorize(id)));
    expect(summary).toEqual({ started: 3, coalesced: 0, refused: 2 });
    expect(executor.tracked().map((t) => t.phase)).toEqual(['calling', 'calling', 'queued']);
    await settle();
    expect(spy.inFlightMax).toBe(2);
    expect(warehouse.recorded.map((c) => c.orderId).sort()).toEqual(['o1', 'o2', 'o3']);
    // The refused ones are still pending in the warehouse: the next resume runs them.
    executor.resume([recoveredOrder('o4', ['authorize']), recoveredOrder('o5', ['authorize'])]);
    await settle();
    expect(warehouse.recorded.map((c) => c.outcome)).toEqual(Array(5).fill('succeeded'));
    expect(executor.stats).toMatchObject({ started: 5, refused: 2 });
  });

  it('sweeps up refused operations on its own: RESUME_SWEEP_MS after a refusal, the pending ones are offered again', async () => {
    const pending = [recoveredOrder('o4', ['authorize']), recoveredOrder('o5', ['authorize'])];
    const { executor, warehouse, scheduler, settle } = setup({
      executor: { opsMax: 3, callsMax: 2, pendingOrders: () => pending.filter((o) => o.payment.pending.length > 0) },
    });
    expect(executor.handle(['o1', 'o2', 'o3', 'o4', 'o5'].map((id) => authorize(id)))).toMatchObject({ refused: 2 });
    await settle();
    expect(warehouse.recorded.map((c) => c.orderId).sort()).toEqual(['o1', 'o2', 'o3']);
    // No start in between, no one calling resume: the sweep runs them.
    await scheduler.run(scheduler.sleep(RESUME_SWEEP_MS));
    await settle();
    expect(warehouse.recorded.map((c) => c.orderId).sort()).toEqual(['o1', 'o2', 'o3', 'o4', 'o5']);
    expect(executor.stats).toMatchObject({ started: 5, refused: 2 });
  });
});

describe('effect executor: notifications', () => {
  it('hands committed events to the notifier, and idle() waits for the sends', async () => {
    const out: string[] = [];
    const sender: NotificationSender = {
      push: async (n: Notification) => {
        out.push(`${n.orderId} ${n.type}`);
        return true;
      },
      sms: async () => true,
    };
    const { executor, settle } = setup({ executor: { notifier: new Notifier(sender) } });
    executor.handle([
      { type: 'order.changed', orderId: 'o1', state: 'reserved' },
      authorize('o1'),
      { type: 'availability.changed', sku: 'milk', available: 3, version: 9 },
    ]);
    executor.handle([
      { type: 'pick.queued', orderId: 'o1', queueLength: 1 },
      { type: 'pick.queued', orderId: 'o1', queueLength: 1 },
    ]);
    executor.handle([{ type: 'order.line_dropped', orderId: 'o1', sku: 'milk', quantity: 1, adjustmentCents: 99 }]);
    await settle();
    expect(out).toEqual(['o1 confirmed', 'o1 partially_fulfilled']);
    expect(executor.notifications).toMatchObject({ inFlight: 0, dropped: 0, failed: 0 });
  });

  it('drops notifications past the in-flight bound and counts them; a throwing sender is counted', async () => {
    const stuck: NotificationSender = { push: () => new Promise<boolean>(() => {}), sms: async () => true };
    const feed = new NotificationFeed(new Notifier(stuck), () => {}, 2);
    for (const id of ['o1', 'o2', 'o3']) feed.push({ type: 'pick.queued', orderId: id, queueLength: 1 });
    expect(feed).toMatchObject({ inFlight: 2, dropped: 1 });
    let settled = 0;
    const broken: NotificationSender = {
      push: async () => {
        throw new Error('push service down');
      },
      sms: async () => true,
    };
    const feedOfBroken = new NotificationFeed(new Notifier(broken), () => settled++);
    feedOfBroken.push({ type: 'pick.queued', orderId: 'o1', queueLength: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(feedOfBroken).toMatchObject({ inFlight: 0, failed: 1 });
    expect(settled).toBe(1);
  });
});

describe('system scheduler', () => {
  it('waits on the wall clock, and an aborted sleep ends at once', async () => {
    const startMs = systemScheduler.now();
    await systemScheduler.sleep(5);
    expect(systemScheduler.now() - startMs).toBeGreaterThanOrEqual(4);
    const stop = new AbortController();
    const long = systemScheduler.sleep(60_000, stop.signal);
    stop.abort();
    await long;
    expect(systemScheduler.now() - startMs).toBeLessThan(10_000);
  });
});
