/**
 * A simulated payment provider for tests and the simulator: deterministic from a seed, with
 * latency, a decline rate, and outage windows in which every call fails as unavailable. It is
 * idempotent by key like a real provider (a repeated key answers the first outcome and moves no
 * money) and keeps the ledger of what it holds, captured and refunded, so a test can prove that
 * nothing was charged twice. Time comes from the injected clock; latency through injected sleep.
 */
import { Random } from '../sim/random.ts';
import type { AuthorizeRequest, PaymentGateway, PaymentResult } from './gateway.ts';

export interface SimulatedProviderOptions {
  seed: number;
  clock: () => number;
  /** Waits `ms` (real or virtual time). Defaults to resolving at once. */
  sleep?: (ms: number) => Promise<void>;
  declineRate?: number;
  latencyMs?: { min: number; max: number };
  /** Windows of clock time in which the provider is down. */
  outages?: { fromMs: number; toMs: number }[];
  /**
   * Take an authorization id this provider does not know as a hold of the amount asked (default
   * false: refuse it). A real provider keeps its holds outside the caller; a simulated one inside a
   * region process loses them when the process is killed, and without this would refuse every
   * capture, void and refund of a hold taken before the crash.
   */
  adoptUnknownHolds?: boolean;
}

interface Authorization {
  orderId: string;
  heldCents: number;
  capturedCents: number;
  refundedCents: number;
  voided: boolean;
}

export class SimulatedPaymentProvider implements PaymentGateway {
  private readonly random: Random;
  private readonly outcomes = new Map<string, PaymentResult<unknown>>();
  readonly authorizations = new Map<string, Authorization>();
  /** Calls that reached the provider (repeats and outages included). */
  calls = 0;

  constructor(private readonly options: SimulatedProviderOptions) {
    this.random = new Random(options.seed);
  }

  private down(): boolean {
    const now = this.options.clock();
    return (this.options.outages ?? []).some((o) => now >= o.fromMs && now < o.toMs);
  }

  /** Latency, then an outage check, then the idempotent operation. */
  private async call<T>(key: string, operation: () => PaymentResult<T>): Promise<PaymentResult<T>> {
    this.calls++;
    const latency = this.options.latencyMs;
    if (latency !== undefined)
      await (this.options.sleep ?? (async () => {}))(this.random.int(latency.min, latency.max));
    if (this.down()) return { ok: false, reason: 'unavailable', message: 'provider outage' };
    const earlier = this.outcomes.get(key);
    if (earlier !== undefined) return earlier as PaymentResult<T>;
    const outcome = operation();
    this.outcomes.set(key, outcome);
    return outcome;
  }

  authorize(request: AuthorizeRequest): Promise<PaymentResult<{ authorizationId: string }>> {
    return this.call(request.idempotencyKey, () => {
      if (this.random.chance(this.options.declineRate ?? 0)) {
        return { ok: false, reason: 'declined', message: 'card declined' };
      }
      const authorizationId = `auth-${request.orderId}-${this.authorizations.size + 1}`;
      this.authorizations.set(authorizationId, {
        orderId: request.orderId,
        heldCents: request.amountCents,
        capturedCents: 0,
        refundedCents: 0,
        voided: false,
      });
      return { ok: true, value: { authorizationId } };
    });
  }

  /** The hold behind an id, adopted (as holding `heldCents`) when unknown and `adoptUnknownHolds` says so. */
  private hold(authorizationId: string, heldCents: number, capturedCents: number): Authorization | undefined {
    const known = this.authorizations.get(authorizationId);
    if (known !== undefined || this.options.adoptUnknownHolds !== true) return known;
    const adopted = { orderId: '', heldCents, capturedCents, refundedCents: 0, voided: false };
    this.authorizations.set(authorizationId, adopted);
    return adopted;
  }

  capture(
    key: string,
    authorizationId: string,
    amountCents: number,
  ): Promise<PaymentResult<{ capturedCents: number }>> {
    return this.call(key, () => {
      const auth = this.hold(authorizationId, amountCents, 0);
      if (auth === undefined || auth.voided || auth.capturedCents > 0 || amountCents > auth.heldCents) {
        return { ok: false, reason: 'declined', message: `cannot capture ${amountCents} on ${authorizationId}` };
      }
      auth.capturedCents = amountCents;
      return { ok: true, value: { capturedCents: amountCents } };
    });
  }

  void(key: string, authorizationId: string): Promise<PaymentResult<{ voided: true }>> {
    return this.call(key, () => {
      const auth = this.hold(authorizationId, 0, 0);
      if (auth === undefined || auth.capturedCents > 0) {
        return { ok: false, reason: 'declined', message: `cannot void ${authorizationId}` };
      }
      auth.voided = true;
      return { ok: true, value: { voided: true as const } };
    });
  }

  refund(key: string, authorizationId: string, amountCents: number): Promise<PaymentResult<{ refundedCents: number }>> {
    return this.call(key, () => {
      const auth = this.hold(authorizationId, amountCents, amountCents);
      if (auth === undefined || auth.refundedCents + amountCents > auth.capturedCents) {
        return { ok: false, reason: 'declined', message: `cannot refund ${amountCents} on ${authorizationId}` };
      }
      auth.refundedCents += amountCents;
      return { ok: true, value: { refundedCents: amountCents } };
    });
  }
}
