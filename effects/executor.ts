/**
 * The effect executor: the part of the runtime that carries out the payment effects the warehouse
 * core asks for in committed events, and reports each answer back as a `payment.outcome` command.
 * It owns the operations in flight (at most one per order and operation), their retries while the
 * provider is down (a capture, void or refund is retried until it gets an answer, never dropped),
 * the bounds on both, and handing committed events to the notifier.
 * It never decides anything about an order (the core does, from the outcomes), never keeps state a
 * crash could lose (what is owed stays in each order's `payment.pending`, which `resume` runs again),
 * and never calls the provider without the operation's stable idempotency key.
 */
import { setMaxListeners } from 'node:events';
import type { EngineError, EngineEvent, PaymentOutcomeCommand, Result } from '../engine/index.ts';
import type { Notifier } from '../notifications/index.ts';
import type { PaymentGateway } from '../payments/index.ts';
import { NotificationFeed } from './notification-feed.ts';
import { opOfEvent, opsOfOrder, type PaymentOp, type ResumableOrder } from './payment-ops.ts';
import { callProvider, outcomeCommand } from './provider-call.ts';
import type { Scheduler } from './scheduler.ts';

/**
 * Most operations tracked at once: calling the provider, waiting for a call slot, or waiting to
 * retry. Past it an operation is refused: it is not started and not remembered, and it stays in
 * its order's `payment.pending` in the warehouse, so the next `resume` runs it: at the next start,
 * or the sweep RESUME_SWEEP_MS after a refusal over the orders `pendingOrders` gives. Refusals are
 * counted.
 */
export const EFFECT_OPS_MAX = 10_000;
/** How long after an operation was refused (past opsMax) the executor offers pending ones again. */
export const RESUME_SWEEP_MS = 60_000;
/** Most provider calls in flight at once; the other tracked operations wait their turn in order. */
export const PROVIDER_CALLS_MAX = 64;
/** First delay before an operation that came back unavailable is tried again; doubles per retry. */
export const RETRY_DELAY_MS = 30_000;
/** Longest delay between two tries of one operation. */
export const RETRY_DELAY_MAX_MS = 10 * 60_000;

/** The step before the next try of an operation that came back unavailable `retries` times so far. */
export function retryStepMs(retries: number, firstMs = RETRY_DELAY_MS, maxMs = RETRY_DELAY_MAX_MS): number {
  return Math.min(maxMs, firstMs * 2 ** Math.min(retries, 30));
}

export interface EffectExecutorOptions {
  warehouseId: string;
  /** Normally a `ResilientGateway`, which retries within one try and has the circuit breaker. */
  gateway: PaymentGateway;
  /** Hands a command to the warehouse (e.g. `DurableWarehouse.submit`); answers when durable. */
  submit: (command: PaymentOutcomeCommand) => Promise<Result>;
  scheduler: Scheduler;
  retryDelayMs?: number;
  retryDelayMaxMs?: number;
  /** Jitter in [0, 1) for retry delays (each is between half and all of its step); none without. */
  random?: () => number;
  notifier?: Notifier;
  opsMax?: number;
  callsMax?: number;
  /** The orders whose pending payments a sweep offers again after refusals (none: no sweep). */
  pendingOrders?: () => Iterable<ResumableOrder>;
  resumeSweepMs?: number;
}

/** What became of the operations one `handle` or `resume` call offered. */
export interface OfferSummary {
  started: number;
  /** Already tracked for the same (order, operation): not started a second time. */
  coalesced: number;
  /** Past `opsMax`, or after `close`: left to the next `resume`. */
  refused: number;
}

type Phase = 'queued' | 'calling' | 'waiting';

interface Job extends PaymentOp {
  id: string;
  phase: Phase;
  /** Unavailable answers reported from this process: numbers their command keys. */
  reports: number;
  retries: number;
  retryAtMs?: number;
}

/**
 * Wiring: `DurableWarehouse.open({ ..., onCommitted: (batch) => executor.handle(batch.events) })`
 * with `submit: (command) => warehouse.submit(command)`, then `executor.resume(recovered orders)`.
 */
export class EffectExecutor {
  /** Offers (started, coalesced, refused), provider answers per try, retries, refused outcomes. */
  readonly stats = {
    started: 0,
    coalesced: 0,
    refused: 0,
    succeeded: 0,
    declined: 0,
    unavailable: 0,
    retried: 0,
    rejected: 0,
  };
  /** Committed events on their way to the notifier, with its counters (absent without a notifier). */
  readonly notifications: NotificationFeed | undefined;
  /** The latest outcome the warehouse refused for a reason a retry cannot fix (a bug report). */
  lastRejection: { command: PaymentOutcomeCommand; error: EngineError } | undefined;
  private readonly jobs = new Map<string, Job>();
  private readonly ready: Job[] = [];
  private calling = 0;
  /** A resume sweep is scheduled (`sweepLater`). */
  private sweeping = false;
  private idleWaiters: (() => void)[] = [];
  private readonly stopped = new AbortController();

  constructor(private readonly options: EffectExecutorOptions) {
    // Every operation waiting to retry listens for close(); that many listeners is expected, not a leak.
    setMaxListeners((options.opsMax ?? EFFECT_OPS_MAX) + 1, this.stopped.signal);
    const { notifier } = options;
    this.notifications = notifier === undefined ? undefined : new NotificationFeed(notifier, () => this.wakeIdle());
  }

  /**
   * Takes one committed batch's events: starts the payment operations they ask for and hands them to
   * the notifier. Returns at once; the calls run in the background (see `idle`).
   */
  handle(events: readonly EngineEvent[]): OfferSummary {
    const summary: OfferSummary = { started: 0, coalesced: 0, refused: 0 };
    for (const event of events) {
      const op = opOfEvent(event);
      if (op !== undefined) summary[this.offer(op)]++;
      this.notifications?.push(event);
    }
    return summary;
  }

  /**
   * After recovery: runs again every operation still in `payment.pending` of the given orders. An
   * operation that reached the provider before a crash gets its first answer again, moving nothing.
   */
  resume(orders: Iterable<ResumableOrder>): OfferSummary {
    const summary: OfferSummary = { started: 0, coalesced: 0, refused: 0 };
    for (const order of orders) for (const op of opsOfOrder(order)) summary[this.offer(op)]++;
    return summary;
  }

  /** Resolves when no operation is tracked and no notification is being sent. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops retry timers and refuses new operations. Calls already in flight finish and report their
   * outcome; operations waiting to be tried again are forgotten (they stay pending in the warehouse).
   */
  close(): void {
    this.stopped.abort();
    for (const [id, job] of this.jobs) if (job.phase !== 'calling') this.jobs.delete(id);
    this.ready.length = 0;
    this.wakeIdle();
  }

  /** The tracked operations, for operations tools and tests. */
  tracked(): { orderId: string; operation: string; phase: Phase; retries: number; retryAtMs: number | undefined }[] {
    return [...this.jobs.values()].map(({ orderId, operation, phase, retries, retryAtMs }) => {
      return { orderId, operation, phase, retries, retryAtMs };
    });
  }

  private offer(op: PaymentOp): keyof OfferSummary {
    const outcome = this.track(op);
    this.stats[outcome]++;
    return outcome;
  }

  private track(op: PaymentOp): keyof OfferSummary {
    if (this.stopped.signal.aborted) return 'refused';
    const id = `${op.orderId}\u0000${op.operation}`;
    const running = this.jobs.get(id);
    if (running !== undefined) {
      running.authorizationId ??= op.authorizationId;
      return 'coalesced';
    }
    if (this.jobs.size >= (this.options.opsMax ?? EFFECT_OPS_MAX)) {
      this.sweepLater();
      return 'refused';
    }
    const job: Job = { ...op, id, phase: 'queued', reports: 0, retries: 0 };
    this.jobs.set(id, job);
    this.ready.push(job);
    this.pump();
    return 'started';
  }

  /**
   * After a refusal: once, RESUME_SWEEP_MS later, offers again every operation still pending in the
   * warehouse's orders (those tracked coalesce; those refused again sweep again later).
   */
  private sweepLater(): void {
    const pendingOrders = this.options.pendingOrders;
    if (pendingOrders === undefined || this.sweeping || this.stopped.signal.aborted) return;
    this.sweeping = true;
    void this.options.scheduler.sleep(this.options.resumeSweepMs ?? RESUME_SWEEP_MS, this.stopped.signal).then(() => {
      this.sweeping = false;
      if (!this.stopped.signal.aborted) this.resume(pendingOrders());
    });
  }

  /** Starts queued operations while call slots are free. */
  private pump(): void {
    while (this.calling < (this.options.callsMax ?? PROVIDER_CALLS_MAX)) {
      const job = this.ready.shift();
      if (job === undefined) return;
      job.phase = 'calling';
      this.calling++;
      void this.run(job).finally(() => {
        this.calling--;
        this.pump();
        this.wakeIdle();
      });
    }
  }

  /** One try: call the provider, report the answer, then finish or wait to try again. */
  private async run(job: Job): Promise<void> {
    const answer = await callProvider(this.options.gateway, this.options.warehouseId, job);
    this.stats[answer.ok ? 'succeeded' : answer.reason]++;
    if (!answer.ok && answer.reason === 'unavailable') {
      job.reports++;
      if (answer.uncertain === true) job.uncertain = true;
    }
    const command = outcomeCommand(job, answer, job.failuresBefore + job.reports);
    const recorded = await this.record(command);
    // An authorize answered unavailable is final for the warehouse (it cancels the order), unless a
    // call may have reached the provider: then it is tried until the provider answers, and a hold
    // it turns out to have placed is voided by the warehouse.
    const final =
      answer.ok || answer.reason === 'declined' || (job.operation === 'authorize' && job.uncertain !== true);
    if (recorded === 'rejected' || (recorded === 'recorded' && final)) this.jobs.delete(job.id);
    else this.retryLater(job);
  }

  /**
   * Submits an outcome. `retry` when the warehouse could not take it now (backpressure, stopped):
   * the operation is tried again, and the provider answers its key with the same outcome. A refused
   * outage report changes nothing (the operation is still owed and tried again), unless the warehouse
   * does not know the order; a refused final outcome ends the operation (`lastRejection` says why).
   */
  private async record(command: PaymentOutcomeCommand): Promise<'recorded' | 'retry' | 'rejected'> {
    let result: Result;
    try {
      result = await this.options.submit(command);
    } catch {
      return 'retry';
    }
    if (result.ok) return 'recorded';
    const { code } = result.error;
    if (code === 'UNAVAILABLE') return 'retry';
    // An outage report whose number an earlier process used: that report was counted already.
    if (code === 'IDEMPOTENCY_CONFLICT' && command.outcome === 'unavailable') return 'recorded';
    this.stats.rejected++;
    this.lastRejection = { command, error: result.error };
    return command.outcome === 'unavailable' && code !== 'NOT_FOUND' ? 'recorded' : 'rejected';
  }

  private retryLater(job: Job): void {
    if (this.stopped.signal.aborted) {
      this.jobs.delete(job.id);
      return;
    }
    const { scheduler, random } = this.options;
    const stepMs = retryStepMs(job.retries, this.options.retryDelayMs, this.options.retryDelayMaxMs);
    const delayMs = random === undefined ? stepMs : Math.floor(stepMs / 2 + (random() * stepMs) / 2);
    job.phase = 'waiting';
    job.retries++;
    job.retryAtMs = scheduler.now() + delayMs;
    this.stats.retried++;
    void scheduler.sleep(delayMs, this.stopped.signal).then(() => {
      if (this.jobs.get(job.id) !== job || this.stopped.signal.aborted) return; // forgotten by close()
      job.phase = 'queued';
      job.retryAtMs = undefined;
      this.ready.push(job);
      this.pump();
    });
  }

  private isIdle(): boolean {
    return this.jobs.size === 0 && (this.notifications?.inFlight ?? 0) === 0;
  }

  private wakeIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
