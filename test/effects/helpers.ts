/**
 * Test doubles for the effect executor: a virtual scheduler (time moves only when the test runs its
 * timers, in deadline order), a warehouse stand-in that keeps the core's idempotency rules for
 * `payment.outcome` (a repeated key with the same body answers the first result, with another body
 * IDEMPOTENCY_CONFLICT), and a gateway spy between the resilient gateway and the simulated provider
 * that records every call and how many ran at once. They never touch the real clock.
 */

import type { ResumableOrder, Scheduler } from '../../effects/index.ts';
import type { EngineError, EngineEvent, PaymentOperation, PaymentOutcomeCommand, Result } from '../../engine/index.ts';
import type { AuthorizeRequest, PaymentGateway } from '../../payments/index.ts';

interface Timer {
  atMs: number;
  seq: number;
  fire: () => void;
}

/** Lets every promise chain that waits on no timer run to its end. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

export class VirtualScheduler implements Scheduler {
  private timers: Timer[] = [];
  private seq = 0;

  constructor(public nowMs = 1_000_000) {}

  now = (): number => this.nowMs;

  sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
      if (signal?.aborted === true) return resolve();
      const timer: Timer = { atMs: this.nowMs + Math.max(0, ms), seq: this.seq++, fire: () => {} };
      const cancel = () => {
        this.timers = this.timers.filter((t) => t !== timer);
        resolve();
      };
      timer.fire = () => {
        signal?.removeEventListener('abort', cancel);
        resolve();
      };
      signal?.addEventListener('abort', cancel, { once: true });
      this.timers.push(timer);
    });

  get timersPending(): number {
    return this.timers.length;
  }

  /** Fires the earliest timer, moving time to its deadline; false when none is left. */
  private fireNext(untilMs = Number.POSITIVE_INFINITY): boolean {
    if (this.timers.length === 0) return false;
    this.timers.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
    const next = this.timers[0] as Timer;
    if (next.atMs > untilMs) return false;
    this.timers.shift();
    this.nowMs = Math.max(this.nowMs, next.atMs);
    next.fire();
    return true;
  }

  /** Runs timers in deadline order until `done` settles; fails if it waits on nothing. */
  async run<T>(done: Promise<T>): Promise<T> {
    let settled = false;
    done.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    for (;;) {
      await flush();
      if (settled) return done;
      if (!this.fireNext()) throw new Error('deadlock: the promise waits, and no timer is left to fire');
    }
  }

  /** Runs every timer due in the next `ms`, then moves time to its end. */
  async advance(ms: number): Promise<void> {
    const untilMs = this.nowMs + ms;
    await flush();
    while (this.fireNext(untilMs)) await flush();
    this.nowMs = untilMs;
    await flush();
  }
}

/** A warehouse stand-in for `submit`: the core's idempotency by key, and refusals on demand. */
export class FakeWarehouse {
  /** Commands recorded (first time per key), with the time they arrived. */
  readonly recorded: (PaymentOutcomeCommand & { atMs: number })[] = [];
  duplicates = 0;
  conflicts = 0;
  /** How many of the next submits to refuse with UNAVAILABLE (backpressure). */
  refuseNext = 0;
  /** Refuses the commands it returns an error for, as the core would (an unknown order, say). */
  refuseWith: ((command: PaymentOutcomeCommand) => EngineError | undefined) | undefined;
  private readonly byKey = new Map<string, { body: string; result: Result }>();

  constructor(private readonly scheduler: Scheduler) {}

  submit = async (command: PaymentOutcomeCommand): Promise<Result> => {
    if (this.refuseNext > 0) {
      this.refuseNext--;
      return { ok: false, error: { code: 'UNAVAILABLE', message: 'queue full', reason: 'backpressure' } };
    }
    const refusal = this.refuseWith?.(command);
    if (refusal !== undefined) return { ok: false, error: refusal };
    const body = JSON.stringify(command);
    const earlier = this.byKey.get(command.key);
    if (earlier !== undefined) {
      if (earlier.body === body) {
        this.duplicates++;
        return earlier.result;
      }
      this.conflicts++;
      return {
        ok: false,
        error: { code: 'IDEMPOTENCY_CONFLICT', message: `key ${command.key} reused`, key: command.key },
      };
    }
    const result: Result = {
      ok: true,
      value: { kind: 'payment', orderId: command.orderId, operation: command.operation, applied: true },
    };
    this.byKey.set(command.key, { body, result });
    this.recorded.push({ ...command, atMs: this.scheduler.now() });
    return result;
  };

  outcomesOf(orderId: string, operation: PaymentOperation): string[] {
    return this.recorded.filter((c) => c.orderId === orderId && c.operation === operation).map((c) => c.outcome);
  }
}

/** Records every call that reaches the provider, and the most that ran at once (per key, overall). */
export class SpyGateway implements PaymentGateway {
  readonly keys: string[] = [];
  inFlightMax = 0;
  sameKeyInFlightMax = 0;
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly inner: PaymentGateway) {}

  private async track<T>(key: string, call: () => Promise<T>): Promise<T> {
    this.keys.push(key);
    const same = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, same);
    this.sameKeyInFlightMax = Math.max(this.sameKeyInFlightMax, same);
    const total = [...this.inFlight.values()].reduce((a, b) => a + b, 0);
    this.inFlightMax = Math.max(this.inFlightMax, total);
    try {
      return await call();
    } finally {
      this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
    }
  }

  authorize(request: AuthorizeRequest) {
    return this.track(request.idempotencyKey, () => this.inner.authorize(request));
  }
  capture(key: string, authorizationId: string, amountCents: number) {
    return this.track(key, () => this.inner.capture(key, authorizationId, amountCents));
  }
  void(key: string, authorizationId: string) {
    return this.track(key, () => this.inner.void(key, authorizationId));
  }
  refund(key: string, authorizationId: string, amountCents: number) {
    return this.track(key, () => this.inner.refund(key, authorizationId, amountCents));
  }
}

/** An `order.effect` event as the core emits it. */
export function effectEvent(
  orderId: string,
  effect: string,
  amountCents: number,
  ids: { authorizationId?: string; paymentToken?: string } = {},
): EngineEvent {
  return { type: 'order.effect', orderId, effect, amountCents, ...ids };
}

/** The payment fields of a recovered order, with `pending` operations still owed. */
export function recoveredOrder(
  orderId: string,
  pending: PaymentOperation[],
  fields: Partial<Omit<ResumableOrder, 'orderId' | 'payment'>> & { failures?: number; capturedCents?: number } = {},
): ResumableOrder {
  const { failures = 0, capturedCents = 0, ...rest } = fields;
  return {
    orderId,
    paymentToken: `tok-${orderId}`,
    amountCents: 1_000,
    adjustmentCents: 0,
    ...rest,
    payment: { pending, capturedCents, voided: false, refundedCents: 0, failures, refundOnCapture: false },
  };
}
