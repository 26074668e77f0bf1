/**
 * The typed errors of the darkstore client. Every engine rejection becomes an instance of the class
 * for its stable `code`, carrying the engine's facts as its own fields (an `InsufficientStockError`
 * has `lines`, an `InvalidTransitionError` has `orderId`, `expected` and `actual`) and the whole
 * engine value as `details`. Failures of the transport (no reply in time, nobody serving the
 * subject, a permission the connection lacks) have client-side codes of their own. Pure; never
 * performs I/O.
 */
import type { EngineError, ErrorCode } from '../engine/index.ts';

/** Codes of failures that happen between the client and the engine, never inside it. */
export type ClientErrorCode =
  | 'TIMEOUT'
  | 'NO_RESPONDERS'
  | 'PERMISSION_DENIED'
  | 'UNAUTHORIZED'
  | 'CONNECTION_CLOSED'
  | 'BAD_REPLY'
  | 'TRANSPORT_ERROR';

export type DarkstoreErrorCode = ErrorCode | ClientErrorCode;

/** Codes after which the same request may be sent again (with the same idempotency key). */
const RETRYABLE: ReadonlySet<DarkstoreErrorCode> = new Set(['TIMEOUT', 'NO_RESPONDERS', 'UNAVAILABLE']);

/** Base of every error the client throws: a stable `code` to switch on, and the engine's value if any. */
export class DarkstoreError extends Error {
  /**
   * The idempotency key the failed call carried when the client made it up (the caller gave none):
   * send again with it, or a retry is a new command (a second reservation, a second order).
   */
  sentKey?: string;
  /**
   * The idempotency keys of a failed batch's commands, in order (the caller's and those the client
   * made up): send the batch again with them.
   */
  sentKeys?: string[];

  constructor(
    readonly code: DarkstoreErrorCode,
    message: string,
    /** The engine's error value with all its facts; undefined for client-side failures. */
    readonly details?: EngineError,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** Whether sending the same request again (same key) may succeed. */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

type Facts<C extends ErrorCode> = Extract<EngineError, { code: C }>;

/** A rejection by the engine: `details` holds the facts of its code. */
export class RejectionError<C extends ErrorCode = ErrorCode> extends DarkstoreError {
  declare readonly code: C;
  declare readonly details: Facts<C>;

  constructor(details: Facts<C>) {
    super(details.code, details.message, details);
  }
}

export class ValidationError extends RejectionError<'VALIDATION_ERROR'> {
  /** Where in the request the offending value is ('' for the whole body). */
  readonly path = this.details.path;
}

export class InsufficientStockError extends RejectionError<'INSUFFICIENT_STOCK'> {
  /** Every short line: the SKU, what was requested and what was available. */
  readonly lines = this.details.lines;
}

export class VersionConflictError extends RejectionError<'VERSION_CONFLICT'> {
  readonly sku = this.details.sku;
  readonly expected = this.details.expected;
  readonly actual = this.details.actual;
}

export class InvalidQuantityError extends RejectionError<'INVALID_QUANTITY'> {
  readonly reservationId = this.details.reservationId;
  readonly sku = this.details.sku;
  readonly requested = this.details.requested;
  readonly held = this.details.held;
}

export class InvalidTransitionError extends RejectionError<'INVALID_TRANSITION'> {
  readonly orderId = this.details.orderId;
  readonly expected = this.details.expected;
  readonly actual = this.details.actual;
}

export class IdempotencyConflictError extends RejectionError<'IDEMPOTENCY_CONFLICT'> {
  readonly key = this.details.key;
}

export class NotFoundError extends RejectionError<'NOT_FOUND'> {
  readonly kind = this.details.kind;
  readonly id = this.details.id;
  /** How it went, when the engine still knows (e.g. a reservation `released` or `expired`). */
  readonly reason = this.details.reason;
}

export class LimitExceededError extends RejectionError<'LIMIT_EXCEEDED'> {
  readonly limit = this.details.limit;
  readonly max = this.details.max;
}

export class NoFulfillmentCenterError extends RejectionError<'NO_FULFILLMENT_CENTER'> {
  readonly candidates = this.details.candidates;
}

export class UnavailableError extends RejectionError<'UNAVAILABLE'> {
  readonly reason = this.details.reason;
}

export class ScanRejectedError extends RejectionError<'SCAN_REJECTED'> {
  readonly orderId = this.details.orderId;
  readonly sku = this.details.sku;
  readonly reason = this.details.reason;
  readonly requested = this.details.requested;
  readonly remaining = this.details.remaining;
}

export class PickIncompleteError extends RejectionError<'PICK_INCOMPLETE'> {
  readonly orderId = this.details.orderId;
  readonly lines = this.details.lines;
}

export class WrongCourierError extends RejectionError<'WRONG_COURIER'> {
  readonly orderId = this.details.orderId;
  readonly courierId = this.details.courierId;
  readonly assignedTo = this.details.assignedTo;
}

export class CourierStateConflictError extends RejectionError<'COURIER_STATE_CONFLICT'> {
  readonly courierId = this.details.courierId;
  readonly state = this.details.state;
  readonly event = this.details.event;
}

export class ProofRejectedError extends RejectionError<'PROOF_REJECTED'> {
  readonly orderId = this.details.orderId;
  readonly distanceKm = this.details.distanceKm;
  readonly radiusKm = this.details.radiusKm;
}

export class PingRejectedError extends RejectionError<'PING_REJECTED'> {
  readonly courierId = this.details.courierId;
  readonly reason = this.details.reason;
  readonly speedKmh = this.details.speedKmh;
}

/** No reply within the per-attempt timeout, after every retry. */
export class RequestTimeoutError extends DarkstoreError {
  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super('TIMEOUT', `no reply on ${subject} within ${timeoutMs} ms (${attempts} attempts)`, undefined, options);
  }
}

/** Nobody serves the subject (no region process hosts the warehouse), after every retry. */
export class NoRespondersError extends DarkstoreError {
  constructor(
    readonly subject: string,
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super('NO_RESPONDERS', `no responders on ${subject} (${attempts} attempts)`, undefined, options);
  }
}

/** The NATS account may not publish (or subscribe) where the request needs to. Not retried. */
export class PermissionDeniedError extends DarkstoreError {
  constructor(
    readonly subject: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super('PERMISSION_DENIED', `permission denied on ${subject}: ${message}`, undefined, options);
  }
}

/** The NATS server refused the connection's credentials. */
export class UnauthorizedError extends DarkstoreError {
  constructor(message: string, options?: ErrorOptions) {
    super('UNAUTHORIZED', message, undefined, options);
  }
}

const REJECTIONS: { [C in ErrorCode]: new (details: Facts<C>) => RejectionError<C> } = {
  VALIDATION_ERROR: ValidationError,
  INSUFFICIENT_STOCK: InsufficientStockError,
  VERSION_CONFLICT: VersionConflictError,
  INVALID_QUANTITY: InvalidQuantityError,
  INVALID_TRANSITION: InvalidTransitionError,
  IDEMPOTENCY_CONFLICT: IdempotencyConflictError,
  NOT_FOUND: NotFoundError,
  LIMIT_EXCEEDED: LimitExceededError,
  NO_FULFILLMENT_CENTER: NoFulfillmentCenterError,
  UNAVAILABLE: UnavailableError,
  SCAN_REJECTED: ScanRejectedError,
  PICK_INCOMPLETE: PickIncompleteError,
  WRONG_COURIER: WrongCourierError,
  COURIER_STATE_CONFLICT: CourierStateConflictError,
  PROOF_REJECTED: ProofRejectedError,
  PING_REJECTED: PingRejectedError,
};

/**
 * The typed error for an engine's error value. A code this client does not know (a newer engine)
 * becomes a plain `RejectionError` with the code and facts as sent.
 */
export function rejectionOf(error: EngineError): RejectionError {
  // Own entries only: a code such as `toString` or `constructor` is unknown, not Object's.
  const make = Object.hasOwn(REJECTIONS, error.code)
    ? (REJECTIONS[error.code] as new (
        details: EngineError,
      ) => RejectionError)
    : undefined;
  return make === undefined ? new RejectionError(error) : new make(error);
}

/** A client-side validation failure (the request was never sent). */
export function clientValidationError(path: string, message: string): ValidationError {
  return new ValidationError({ code: 'VALIDATION_ERROR', message: `${path}: ${message}`, path });
}

/** Rethrows a failed call's error, saying the idempotency key the client made up for it. */
export function withKeyOf(error: unknown, key: string): never {
  if (error instanceof DarkstoreError && error.sentKey === undefined) error.sentKey = key;
  throw error;
}

/** A failed result, saying the idempotency key the client made up for its call. */
export function failedWithKey<R extends { ok: boolean }>(result: R, key: string): R & { sentKey?: string } {
  return result.ok ? result : { ...result, sentKey: key };
}
