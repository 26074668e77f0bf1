/**
 * Request/reply with the engine over NATS for the client: msgpack bodies, a timeout per attempt,
 * and retries with exponential backoff and jitter on the failures that a second attempt can cure
 * (no reply in time, nobody serving the subject, an UNAVAILABLE answer). Retrying is safe because
 * the caller sends the same bytes, so a command carries the same idempotency key every time: the
 * engine answers a repeat with the first result and never applies it twice. It never changes a
 * request, never invents a result, and turns every transport failure into a typed error.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { errors, type NatsConnection } from '@nats-io/transport-node';
import type { Result } from '../engine/index.ts';
import { REQUEST_BYTES_MAX } from '../protocol/index.ts';
import {
  clientValidationError,
  DarkstoreError,
  NoRespondersError,
  PermissionDeniedError,
  RequestTimeoutError,
} from './errors.ts';

/** Largest reply decoded (bytes, and per string, array and map): the server's own payload bound. */
const REPLY_BYTES_MAX = 64 * 1024 * 1024;

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder({
  maxStrLength: REPLY_BYTES_MAX,
  maxBinLength: REPLY_BYTES_MAX,
  maxArrayLength: REPLY_BYTES_MAX,
  maxMapLength: REPLY_BYTES_MAX,
  maxExtLength: REPLY_BYTES_MAX,
});

/** How requests are timed and retried. Every field has a default in `DEFAULT_REQUEST_POLICY`. */
export interface RequestPolicy {
  /** How long one attempt waits for its reply. */
  timeoutMs: number;
  /** Attempts after the first one (0: never retry). */
  retries: number;
  /** Delay before the first retry; each retry doubles it, up to `backoffMaxMs`. */
  backoffMs: number;
  backoffMaxMs: number;
  /**
   * How long after a call began a request is still tried again, past `retries`, while its warehouse
   * is restarting: nobody serves its subject (NO_RESPONDERS: the region process is starting or
   * restarting), or it answers UNAVAILABLE with a `retryAfterMs` (the refusal passes: a warehouse
   * reopening, a process shutting down, a full queue). Both come back at once, so `retries` alone
   * spend themselves in a few hundred ms, while a restart takes seconds (recovery, and a start waits
   * 4 s for another process announcing the same warehouses). An UNAVAILABLE without `retryAfterMs`
   * (a failed warehouse) gets `retries` only. 0: only `retries`.
   */
  restartWaitMs: number;
}

export const DEFAULT_REQUEST_POLICY: RequestPolicy = {
  timeoutMs: 5_000,
  retries: 3,
  backoffMs: 50,
  backoffMaxMs: 2_000,
  restartWaitMs: 10_000,
};

/** Per-call overrides of the client's policy (a field left `undefined` keeps the client's). */
export type CallOptions = Partial<RequestPolicy>;

/** Doublings of the backoff counted at most (2 ** 31 × any backoff is past every cap a policy allows). */
const BACKOFF_DOUBLINGS_MAX = 31;

/** Least delay between the attempts `restartWaitMs` adds past the retries. */
const RESTART_RETRY_MIN_MS = 50;

/** Most retries a policy may ask for: with the backoff capped, more would hold a call for hours. */
const RETRIES_MAX = 100;
/** Longest timeout or backoff a policy may ask for: what a Node timer can wait (about 24.8 days). */
const TIMER_MS_MAX = 2 ** 31 - 1;

/**
 * The policy with the defined fields of `options` over `base`, checked: a timeout of 1 ms up to a
 * timer's limit, 0 to RETRIES_MAX retries (whole numbers), backoffs from 0 to a timer's limit.
 * Anything else (NaN, Infinity, a fraction of a retry) throws a VALIDATION_ERROR naming the field:
 * unchecked, `retries: NaN` retried for ever and `timeoutMs: Infinity` timed out at once.
 */
export function resolvePolicy(base: RequestPolicy, options: CallOptions = {}): RequestPolicy {
  const policy = { ...base };
  for (const field of ['timeoutMs', 'retries', 'backoffMs', 'backoffMaxMs', 'restartWaitMs'] as const) {
    const value = options[field];
    if (value !== undefined) policy[field] = value;
  }
  const whole = (field: keyof RequestPolicy, min: number, max: number) => {
    const value = policy[field];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw clientValidationError(field, `must be a whole number from ${min} to ${max}`);
    }
  };
  whole('timeoutMs', 1, TIMER_MS_MAX);
  whole('retries', 0, RETRIES_MAX);
  for (const field of ['backoffMs', 'backoffMaxMs', 'restartWaitMs'] as const) {
    const value = policy[field];
    if (!Number.isFinite(value) || value < 0 || value > TIMER_MS_MAX) {
      throw clientValidationError(field, `must be a number of ms from 0 to ${TIMER_MS_MAX}`);
    }
  }
  return policy;
}

/**
 * Encodes a request body (fields left `undefined` are dropped, as the engine's codec does). What
 * msgpack cannot carry (a bigint, a cycle, a function) is a VALIDATION_ERROR, never sent.
 */
export function encodeBody(body: unknown): Uint8Array {
  try {
    return encoder.encode(body);
  } catch (error) {
    throw clientValidationError(
      '',
      `cannot be encoded as msgpack (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}

/**
 * The delay before retry number `attempt` (0-based): exponential, capped, with "equal jitter"
 * (half fixed, half random) so that many clients failing together do not retry in lockstep.
 */
export function backoffDelayMs(policy: RequestPolicy, attempt: number, random: () => number): number {
  // The exponent stops growing long before 2 ** attempt overflows: past the retries, a call that
  // waits for a restart keeps counting attempts, and 0 × Infinity would be NaN (a timer of 1 ms).
  const capMs = Math.min(policy.backoffMaxMs, policy.backoffMs * 2 ** Math.min(attempt, BACKOFF_DOUBLINGS_MAX));
  return capMs / 2 + random() * (capMs / 2);
}

/** A reply that is not a `Result` is a bug on the other side, not something to retry. */
function resultOf(subject: string, data: Uint8Array): Result<unknown> {
  let reply: unknown;
  try {
    reply = decoder.decode(data);
  } catch (error) {
    throw new DarkstoreError('BAD_REPLY', `reply on ${subject} is not msgpack`, undefined, { cause: error });
  }
  if (isResult(reply)) return reply;
  throw new DarkstoreError('BAD_REPLY', `reply on ${subject} is not a result`);
}

/** A `Result` as the wire carries it: `ok: true`, or `ok: false` with an error that has a code. */
function isResult(value: unknown): value is Result<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as { ok?: unknown; error?: { code?: unknown } | null };
  return r.ok === true || (r.ok === false && typeof r.error?.code === 'string');
}

/** A typed error for what nats.js threw; `attempts` is how many were made when it is final. */
function transportError(error: unknown, subject: string, timeoutMs: number, attempts: number): DarkstoreError {
  if (error instanceof DarkstoreError) return error;
  if (error instanceof errors.TimeoutError)
    return new RequestTimeoutError(subject, timeoutMs, attempts, { cause: error });
  const cause = error instanceof errors.RequestError ? error.cause : error;
  if (cause instanceof errors.NoRespondersError) return new NoRespondersError(subject, attempts, { cause: error });
  if (cause instanceof errors.PermissionViolationError) {
    return new PermissionDeniedError(subject, cause.message, { cause: error });
  }
  if (cause instanceof errors.ClosedConnectionError || cause instanceof errors.DrainingConnectionError) {
    return new DarkstoreError('CONNECTION_CLOSED', `connection closed: ${cause.message}`, undefined, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new DarkstoreError('TRANSPORT_ERROR', `request on ${subject} failed: ${message}`, undefined, { cause: error });
}

/**
 * The refusals in a result that ask for the same request again: an UNAVAILABLE (the result's own,
 * or those of a batch's commands), or a NO_FULFILLMENT_CENTER that says when to ask again (a
 * candidate could not be asked now and may be back soon).
 */
function refusalsToRetry(result: Result<unknown>): { retryAfterMs?: unknown }[] {
  if (!result.ok) {
    const { error } = result;
    if (error.code === 'UNAVAILABLE') return [error];
    return error.code === 'NO_FULFILLMENT_CENTER' && hintOf(error) !== undefined ? [error] : [];
  }
  const value = result.value as { kind?: unknown; results?: unknown };
  if (value === null || typeof value !== 'object' || value.kind !== 'batch' || !Array.isArray(value.results)) {
    return [];
  }
  const refusals: { retryAfterMs?: unknown }[] = [];
  for (const entry of value.results as unknown[]) {
    // Every entry of a batch is a result, or the reply is not one (a bug on the other side).
    if (!isResult(entry)) throw new DarkstoreError('BAD_REPLY', 'a batch reply holds an entry that is not a result');
    if (!entry.ok && entry.error.code === 'UNAVAILABLE') refusals.push(entry.error);
  }
  return refusals;
}

/**
 * How long refusals ask to wait before the request is sent again (the longest of them), or
 * undefined when one of them lasts (it names no `retryAfterMs`: a failed warehouse). The hint comes
 * from the wire, so anything but a finite number of ms at least 0 counts as none.
 */
function retryAfterMs(refusals: readonly { retryAfterMs?: unknown }[]): number | undefined {
  let longest = 0;
  for (const refusal of refusals) {
    const after = hintOf(refusal);
    if (after === undefined) return undefined;
    longest = Math.max(longest, after);
  }
  return longest;
}

/** A refusal's `retryAfterMs` when it is a usable wait (a finite number of ms, at least 0). */
function hintOf(refusal: { retryAfterMs?: unknown }): number | undefined {
  const after = refusal.retryAfterMs;
  return typeof after === 'number' && Number.isFinite(after) && after >= 0 ? after : undefined;
}

/** Sends requests on one NATS connection under a request policy. */
export class Transport {
  constructor(
    readonly nc: NatsConnection,
    readonly policy: RequestPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * Sends one encoded request and returns the engine's result, retrying as the policy says. The
   * last refusal (an UNAVAILABLE, or a NO_FULFILLMENT_CENTER that says when to ask again) is
   * returned as is once the retries and the restart window are spent; transport failures throw.
   */
  async request(subject: string, body: Uint8Array, options: CallOptions = {}): Promise<Result<unknown>> {
    const policy = resolvePolicy(this.policy, options);
    if (body.length > REQUEST_BYTES_MAX) {
      throw clientValidationError('', `request is ${body.length} bytes, more than ${REQUEST_BYTES_MAX}`);
    }
    const startedMs = Date.now();
    // Past the retries only while the warehouse is restarting (nobody serves the subject, or a
    // refusal says it passes) and the window lasts, and never faster than RESTART_RETRY_MIN_MS
    // apart (a zero backoff would resend in a hot loop).
    const pastWindow = (delayMs: number) => Date.now() - startedMs + delayMs > policy.restartWaitMs;
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= policy.retries;
      let delayMs: number;
      try {
        const msg = await this.nc.request(subject, body, { timeout: policy.timeoutMs });
        const result = resultOf(subject, msg.data);
        const refusals = refusalsToRetry(result);
        if (refusals.length === 0) return result;
        const afterMs = retryAfterMs(refusals);
        if (last && afterMs === undefined) return result;
        // The refusal's hint is honoured up to the backoff's own cap: a reply cannot hold a call for long.
        const hintMs = Math.min(afterMs ?? 0, policy.backoffMaxMs);
        delayMs = Math.max(backoffDelayMs(policy, attempt, this.random), hintMs);
        if (last) {
          delayMs = Math.max(delayMs, RESTART_RETRY_MIN_MS);
          if (pastWindow(delayMs)) return result;
        }
      } catch (error) {
        const typed = transportError(error, subject, policy.timeoutMs, attempt + 1);
        if (!typed.retryable) throw typed;
        delayMs = backoffDelayMs(policy, attempt, this.random);
        if (last) {
          delayMs = Math.max(delayMs, RESTART_RETRY_MIN_MS);
          if (typed.code !== 'NO_RESPONDERS' || pastWindow(delayMs)) throw typed;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
