/**
 * The darkstore client: one NATS connection (its own, or one the caller owns) and the request
 * policy (timeout per attempt, retries, backoff) every warehouse handle shares. `warehouse(region,
 * id)` gives the typed handle to a warehouse wherever a region process hosts it. It holds no
 * state of the engine's and never retries anything but what its idempotency keys make safe.
 */
import { errors, type NatsConnection } from '@nats-io/transport-node';
import type { Result } from '../engine/index.ts';
import { checkoutSubject, connectNats, type NatsConnectOptions, TOKEN_PATTERN } from '../protocol/index.ts';
import { clientValidationError, DarkstoreError, failedWithKey, UnauthorizedError, withKeyOf } from './errors.ts';
import {
  type CallOptions,
  DEFAULT_REQUEST_POLICY,
  encodeBody,
  type RequestPolicy,
  resolvePolicy,
  Transport,
} from './transport.ts';
import type { PlaceOrderInput } from './types.ts';
import { newKey, WarehouseClient } from './warehouse.ts';

export interface ClientOptions {
  /** How long one attempt of a request waits for its reply (default 5,000 ms). */
  requestTimeoutMs?: number;
  /** Attempts after the first on a timeout, no responders or UNAVAILABLE (default 3). */
  retries?: number;
  /** Delay before the first retry, doubled for each next one (default 50 ms)... */
  backoffMs?: number;
  /** ...up to this (default 2,000 ms). Each delay is jittered between half and all of it. */
  backoffMaxMs?: number;
  /**
   * How long after a call began it is still retried, past `retries`, while its warehouse restarts:
   * no responders (a region process restarting), or UNAVAILABLE with a `retryAfterMs` (a warehouse
   * reopening, a process shutting down, a full queue; also a checkout's NO_FULFILLMENT_CENTER whose
   * candidate may be back soon). Default 10,000 ms; 0: only `retries`.
   */
  restartWaitMs?: number;
  /** Source of the jitter (tests make it deterministic). */
  random?: () => number;
}

/**
 * `NatsConnectOptions.timeoutMs` is how long to wait for the connection; requests use
 * `requestTimeoutMs`.
 */
export type DarkstoreConnectOptions = NatsConnectOptions & ClientOptions;

/**
 * Least time one checkout attempt waits for its answer: the region may take its claim (up to 2 s),
 * ask the candidates (0.25 s) and place the order (up to 5 s) before it answers. Shorter, a slow
 * checkout is sent again while the first attempt still runs (safe, it follows the claim, but wasted).
 */
export const CHECKOUT_ATTEMPT_TIMEOUT_MS = 10_000;

/** The client's policy from its options, checked (`resolvePolicy`): bad values throw at construction. */
function policyOf(options: ClientOptions): RequestPolicy {
  const { requestTimeoutMs: timeoutMs, retries, backoffMs, backoffMaxMs, restartWaitMs } = options;
  return resolvePolicy(DEFAULT_REQUEST_POLICY, { timeoutMs, retries, backoffMs, backoffMaxMs, restartWaitMs });
}

export class DarkstoreClient {
  private readonly transport: Transport;
  private ownsConnection = false;

  /** A client on a connection the caller owns (and closes). */
  constructor(
    readonly nc: NatsConnection,
    options: ClientOptions = {},
  ) {
    this.transport = new Transport(nc, policyOf(options), options.random);
  }

  /**
   * Connects to NATS with the deployment's credentials and TLS, and returns a client that owns the
   * connection (`close()` drains it). Refused credentials throw `UnauthorizedError`.
   */
  static async connect(options: DarkstoreConnectOptions): Promise<DarkstoreClient> {
    let nc: NatsConnection;
    try {
      nc = await connectNats(options);
    } catch (error) {
      if (error instanceof errors.AuthorizationError || error instanceof errors.UserAuthenticationExpiredError) {
        throw new UnauthorizedError(`NATS refused the credentials: ${error.message}`, { cause: error });
      }
      const message = error instanceof Error ? error.message : String(error);
      throw new DarkstoreError('TRANSPORT_ERROR', `cannot connect to NATS: ${message}`, undefined, { cause: error });
    }
    const client = new DarkstoreClient(nc, options);
    client.ownsConnection = true;
    return client;
  }

  /** The request policy every call uses unless it overrides it. */
  get policy(): Readonly<RequestPolicy> {
    return this.transport.policy;
  }

  /** The typed handle to one warehouse. Region and warehouse ids are subject tokens. */
  warehouse(region: string, warehouseId: string): WarehouseClient {
    if (!TOKEN_PATTERN.test(region)) throw clientValidationError('region', 'must be 1–64 letters, digits, _ or -');
    if (!TOKEN_PATTERN.test(warehouseId)) {
      throw clientValidationError('warehouseId', 'must be 1–64 letters, digits, _ or -');
    }
    return new WarehouseClient(this.transport, region, warehouseId);
  }

  /**
   * Checks out through the region's store selection (`checkoutSubject(region)`, answered by any
   * region process of the region) and returns its result as is: a `checkout` value naming the
   * warehouse that took the order, or a rejection (NO_FULFILLMENT_CENTER carries every candidate's
   * reason). The order's key (the caller's, or one made here) stays the same across retries, and a
   * checkout sent again with its key answers the order it placed. Throws only when no result came
   * back. A key made here is on a failed result and on such an error (`sentKey`), to send again with.
   */
  async checkout(
    region: string,
    order: PlaceOrderInput,
    options?: CallOptions,
  ): Promise<Result<unknown> & { sentKey?: string }> {
    if (!TOKEN_PATTERN.test(region)) throw clientValidationError('region', 'must be 1–64 letters, digits, _ or -');
    const key = order.key ?? newKey();
    // Each attempt waits at least for a region's usual worst case; the caller's timeoutMs decides.
    const timeoutMs = Math.max(this.transport.policy.timeoutMs, CHECKOUT_ATTEMPT_TIMEOUT_MS);
    const attempt = options?.timeoutMs === undefined ? { ...options, timeoutMs } : options;
    const sent = this.transport.request(checkoutSubject(region), encodeBody({ ...order, key }), attempt);
    if (order.key !== undefined) return sent;
    // A key made up here is on a failed result and on the error of a call that got none (`sentKey`):
    // a retry must send it again, not a new one.
    return sent.then(
      (result) => failedWithKey(result, key),
      (error: unknown) => withKeyOf(error, key),
    );
  }

  /** Drains and closes the connection if the client opened it; a caller's connection stays open. */
  async close(): Promise<void> {
    if (this.ownsConnection && !this.nc.isClosed()) await this.nc.drain();
  }
}
