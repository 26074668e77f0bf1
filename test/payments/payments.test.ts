/**
 * Payments outside the single writer: the circuit breaker's states, backoff with jitter, the
 * simulated provider (deterministic, idempotent by key, with declines and outages), and the
 * resilient gateway that retries through an outage without ever moving money twice, and bounds a
 * call that never answers.
 */
import { describe, expect, it } from 'vitest';
import {
  BACKOFF_BASE_MS,
  BACKOFF_MAX_MS,
  backoffDelayMs,
  CircuitBreaker,
  FAILURES_TO_OPEN,
  OPEN_MS,
  ResilientGateway,
  SimulatedPaymentProvider,
} from '../../payments/index.ts';
import { Random } from '../../sim/index.ts';

/** A clock the test moves; `sleep` advances it instead of waiting. */
function virtualTime(startMs = 1_000_000) {
  const time = { now: startMs };
  return {
    time,
    clock: () => time.now,
    sleep: async (ms: number) => {
      time.now += ms;
    },
  };
}

describe('circuit breaker', () => {
  it('opens after consecutive failures, half-opens after OPEN_MS with one trial, closes on success', () => {
    const { time, clock } = virtualTime();
    const breaker = new CircuitBreaker(clock);
    for (let i = 0; i < FAILURES_TO_OPEN - 1; i++) breaker.failed();
    expect(breaker.state).toBe('closed');
    breaker.failed();
    expect(breaker.state).toBe('open');
    expect(breaker.allow()).toBe(false);
    time.now += OPEN_MS;
    expect(breaker.state).toBe('half_open');
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(false); // one trial at a time
    breaker.failed();
    expect(breaker.state).toBe('open');
    time.now += OPEN_MS;
    expect(breaker.allow()).toBe(true);
    breaker.succeeded();
    expect(breaker.state).toBe('closed');
  });
});

describe('backoff', () => {
  it('grows exponentially, is capped, and jitters deterministically from its seed', () => {
    const top = () => 0.999_999;
    expect(backoffDelayMs(0, top)).toBe(BACKOFF_BASE_MS - 1);
    expect(backoffDelayMs(3, top)).toBe(BACKOFF_BASE_MS * 8 - 1);
    expect(backoffDelayMs(40, top)).toBe(BACKOFF_MAX_MS - 1);
    const a = new Random(7);
    const b = new Random(7);
    const delays = (r: Random) => Array.from({ length: 8 }, (_, i) => backoffDelayMs(i, () => r.next()));
    expect(delays(a)).toEqual(delays(b));
  });
});

describe('simulated provider', () => {
  it('answers a repeated key with the first outcome and never captures twice', async () => {
    const { clock } = virtualTime();
    const provider = new SimulatedPaymentProvider({ seed: 1, clock });
    const auth = await provider.authorize({
      idempotencyKey: 'a1',
      orderId: 'o1',
      paymentToken: 'tok',
      amountCents: 1_000,
    });
    if (!auth.ok) throw new Error('expected an authorization');
    expect(
      await provider.authorize({ idempotencyKey: 'a1', orderId: 'o1', paymentToken: 'tok', amountCents: 1_000 }),
    ).toEqual(auth);
    const id = auth.value.authorizationId;
    expect(await provider.capture('c1', id, 800)).toEqual({ ok: true, value: { capturedCents: 800 } });
    expect(await provider.capture('c1', id, 800)).toEqual({ ok: true, value: { capturedCents: 800 } });
    expect(await provider.capture('c2', id, 800)).toMatchObject({ ok: false, reason: 'declined' });
    expect(provider.authorizations.get(id)?.capturedCents).toBe(800);
    expect(await provider.refund('r1', id, 900)).toMatchObject({ ok: false, reason: 'declined' });
    expect(await provider.refund('r2', id, 800)).toEqual({ ok: true, value: { refundedCents: 800 } });
  });

  it('refuses a hold it does not know, unless told to adopt it (its memory went with a crashed process)', async () => {
    const { clock } = virtualTime();
    const strict = new SimulatedPaymentProvider({ seed: 1, clock });
    expect(await strict.capture('c1', 'auth-o9-1', 500)).toMatchObject({ ok: false, reason: 'declined' });
    const restarted = new SimulatedPaymentProvider({ seed: 1, clock, adoptUnknownHolds: true });
    expect(await restarted.capture('c1', 'auth-o9-1', 500)).toEqual({ ok: true, value: { capturedCents: 500 } });
    expect(await restarted.capture('c2', 'auth-o9-1', 500)).toMatchObject({ ok: false, reason: 'declined' });
    expect(await restarted.refund('r1', 'auth-o9-1', 500)).toEqual({ ok: true, value: { refundedCents: 500 } });
    expect(await restarted.void('v1', 'auth-o8-1')).toEqual({ ok: true, value: { voided: true } });
    expect(await restarted.capture('c3', 'auth-o8-1', 100)).toMatchObject({ ok: false, reason: 'declined' });
  });

  it('declines at its rate, deterministically from the seed', async () => {
    const outcomes = async (seed: number) => {
      const provider = new SimulatedPaymentProvider({ seed, clock: () => 0, declineRate: 0.3 });
      const results = [];
      for (let i = 0; i < 200; i++) {
        results.push(
          (await provider.authorize({ idempotencyKey: `k${i}`, orderId: `o${i}`, paymentToken: 't', amountCents: 100 }))
            .ok,
        );
      }
      return results;
    };
    const first = await outcomes(5);
    expect(await outcomes(5)).toEqual(first);
    const declined = first.filter((ok) => !ok).length;
    expect(declined).toBeGreaterThan(30);
    expect(declined).toBeLessThan(90);
  });
});

describe('resilient gateway', () => {
  it('retries through an outage with the same key and captures exactly once', async () => {
    const { time, clock, sleep } = virtualTime();
    const provider = new SimulatedPaymentProvider({
      seed: 3,
      clock,
      sleep,
      latencyMs: { min: 50, max: 150 },
      outages: [{ fromMs: time.now + 1_000, toMs: time.now + 4_000 }],
    });
    const random = new Random(9);
    const gateway = new ResilientGateway(provider, {
      breaker: new CircuitBreaker(clock, 3, 2_000),
      random: () => random.next(),
      sleep,
      attemptsMax: 12,
    });
    const auth = await gateway.authorize({ idempotencyKey: 'a', orderId: 'o', paymentToken: 't', amountCents: 500 });
    if (!auth.ok) throw new Error('expected an authorization before the outage');
    time.now += 1_500; // inside the outage
    const captured = await gateway.capture('cap-o', auth.value.authorizationId, 500);
    expect(captured).toEqual({ ok: true, value: { capturedCents: 500 } });
    expect(time.now).toBeGreaterThanOrEqual(1_000_000 + 4_000); // it got through only after the outage
    expect(provider.authorizations.get(auth.value.authorizationId)?.capturedCents).toBe(500);
    expect(provider.calls).toBeGreaterThan(2);
  });

  it('gives up after its attempts with unavailable, short-circuiting while the breaker is open', async () => {
    const { clock, sleep } = virtualTime();
    const provider = new SimulatedPaymentProvider({
      seed: 3,
      clock,
      sleep,
      outages: [{ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }],
    });
    const gateway = new ResilientGateway(provider, {
      breaker: new CircuitBreaker(clock, 2, 3_600_000),
      random: () => 0.5,
      sleep,
      attemptsMax: 5,
    });
    const result = await gateway.authorize({ idempotencyKey: 'a', orderId: 'o', paymentToken: 't', amountCents: 1 });
    expect(result).toMatchObject({ ok: false, reason: 'unavailable' });
    expect(provider.calls).toBe(2);
    expect(gateway.shortCircuited).toBe(3);
  });

  it('counts a call that never answers as unavailable: call slots come back, and a hung trial does not keep the breaker open', async () => {
    const { time, clock, sleep } = virtualTime();
    // The provider hangs: its every call waits on a clock that never moves on.
    const hung = new SimulatedPaymentProvider({
      seed: 3,
      clock,
      sleep: () => new Promise<void>(() => undefined),
      latencyMs: { min: 10, max: 10 },
    });
    const breaker = new CircuitBreaker(clock, 1, 1_000);
    const gateway = new ResilientGateway(hung, {
      breaker,
      random: () => 0.5,
      sleep,
      attemptsMax: 1,
      callTimeoutMs: 20,
    });
    const first = await gateway.authorize({ idempotencyKey: 'a', orderId: 'o', paymentToken: 't', amountCents: 1 });
    expect(first).toEqual({ ok: false, reason: 'unavailable', message: 'no answer in 20 ms', uncertain: true });
    expect(breaker.state).toBe('open');
    // Half-open: the one trial hangs too, times out, and opens the breaker again instead of holding it.
    time.now += 1_000;
    expect(breaker.state).toBe('half_open');
    expect(await gateway.void('v', 'auth-1')).toMatchObject({ ok: false, reason: 'unavailable' });
    expect(breaker.state).toBe('open');
    time.now += 1_000;
    expect(breaker.allow()).toBe(true);
  });
});
