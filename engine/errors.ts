/**
 * The typed errors of darkstore: every rejection is a value with a stable `code` and the facts a
 * caller needs. Exceptions are for bugs only; this module never throws.
 */

/** One line that could not be reserved: what was asked and what was there. */
export interface ShortLine {
  sku: string;
  requested: number;
  available: number;
}

export type EngineError =
  | { code: 'VALIDATION_ERROR'; message: string; path: string }
  | { code: 'INSUFFICIENT_STOCK'; message: string; lines: ShortLine[] }
  | { code: 'VERSION_CONFLICT'; message: string; sku: string; expected: number; actual: number }
  | { code: 'INVALID_QUANTITY'; message: string; reservationId: string; sku: string; requested: number; held: number }
  | { code: 'INVALID_TRANSITION'; message: string; orderId: string; expected: string; actual: string }
  | { code: 'IDEMPOTENCY_CONFLICT'; message: string; key: string }
  | { code: 'NOT_FOUND'; message: string; kind: string; id: string; reason?: string }
  | { code: 'LIMIT_EXCEEDED'; message: string; limit: string; max: number }
  | {
      code: 'NO_FULFILLMENT_CENTER';
      message: string;
      candidates: { warehouseId: string; reason: string }[];
      /**
       * Present when a candidate that covers the address could not be asked now and did not fail
       * for good (down for a restart, nobody serving it, reopening): the answer may change, ask
       * again after about this many ms. Absent when every candidate answered or failed for good.
       */
      retryAfterMs?: number;
    }
  | {
      code: 'UNAVAILABLE';
      message: string;
      reason: string;
      /**
       * Present when the refusal is passing (a full queue, a warehouse reopening, a process shutting
       * down): ask again after about this many ms. Absent when it lasts until someone acts (a failed
       * warehouse).
       */
      retryAfterMs?: number;
    }
  | {
      code: 'SCAN_REJECTED';
      message: string;
      orderId: string;
      sku: string;
      reason: 'wrong_sku' | 'over_quantity' | 'nothing_to_pick';
      requested: number;
      remaining: number;
    }
  | { code: 'PICK_INCOMPLETE'; message: string; orderId: string; lines: { sku: string; remaining: number }[] }
  | { code: 'WRONG_COURIER'; message: string; orderId: string; courierId: string; assignedTo?: string }
  | { code: 'COURIER_STATE_CONFLICT'; message: string; courierId: string; state: string; event: string }
  | { code: 'PROOF_REJECTED'; message: string; orderId: string; distanceKm: number; radiusKm: number }
  | {
      code: 'PING_REJECTED';
      message: string;
      courierId: string;
      reason: 'time_went_back' | 'impossible_jump';
      speedKmh?: number;
      /** The refused point's index in the ping's trail; absent when it is the newest point (`position`). */
      trailIndex?: number;
    };

export type ErrorCode = EngineError['code'];

/** All error codes, stable across versions: clients switch on these. */
export const ERROR_CODES: readonly ErrorCode[] = [
  'VALIDATION_ERROR',
  'INSUFFICIENT_STOCK',
  'VERSION_CONFLICT',
  'INVALID_QUANTITY',
  'INVALID_TRANSITION',
  'IDEMPOTENCY_CONFLICT',
  'NOT_FOUND',
  'LIMIT_EXCEEDED',
  'NO_FULFILLMENT_CENTER',
  'UNAVAILABLE',
  'SCAN_REJECTED',
  'PICK_INCOMPLETE',
  'WRONG_COURIER',
  'COURIER_STATE_CONFLICT',
  'PROOF_REJECTED',
  'PING_REJECTED',
];

export function validationError(path: string, message: string): EngineError {
  return { code: 'VALIDATION_ERROR', message: path === '' ? message : `${path}: ${message}`, path };
}

export function insufficientStock(lines: ShortLine[]): EngineError {
  const names = lines.map((l) => `${l.sku} (requested ${l.requested}, available ${l.available})`).join(', ');
  return { code: 'INSUFFICIENT_STOCK', message: `insufficient stock: ${names}`, lines };
}

export function versionConflict(sku: string, expected: number, actual: number): EngineError {
  return {
    code: 'VERSION_CONFLICT',
    message: `${sku}: expected version ${expected}, found ${actual}`,
    sku,
    expected,
    actual,
  };
}

export function invalidQuantity(reservationId: string, sku: string, requested: number, held: number): EngineError {
  return {
    code: 'INVALID_QUANTITY',
    message: `${reservationId}/${sku}: requested ${requested}, held ${held}`,
    reservationId,
    sku,
    requested,
    held,
  };
}

/**
 * A plain commit, release or extend named a reservation an order owns: it moves with its order
 * (picking, cancellation), never on its own.
 */
export function reservationOfOrder(reservationId: string, orderId: string, orderState: string): EngineError {
  return {
    code: 'INVALID_TRANSITION',
    message: `reservation ${reservationId} belongs to order ${orderId} (${orderState}): it moves with the order`,
    orderId,
    expected: 'a reservation without an order',
    actual: orderState,
  };
}

export function idempotencyConflict(key: string): EngineError {
  return {
    code: 'IDEMPOTENCY_CONFLICT',
    message: `idempotency key ${key} was used with a different payload`,
    key,
  };
}

export function notFound(kind: string, id: string, reason?: string): EngineError {
  const error: EngineError = { code: 'NOT_FOUND', message: `${kind} ${id} not found`, kind, id };
  if (reason !== undefined) {
    error.reason = reason;
    error.message = `${kind} ${id} is ${reason}`;
  }
  return error;
}

export function limitExceeded(limit: string, max: number): EngineError {
  return { code: 'LIMIT_EXCEEDED', message: `limit ${limit} (${max}) reached`, limit, max };
}

/**
 * How long a passing refusal asks the caller to wait (ms): a full command queue (200,000 commands)
 * takes about 2 s to drain; a region with too many checkouts in flight frees some within a few
 * ms; a warehouse reopening (or a placement that did not answer) is back once it replayed its log,
 * in seconds; a process shutting down stops listening at once, and another process (or its restart)
 * takes its subjects.
 */
export const RETRY_AFTER_MS = { queueFull: 1_000, checkoutsBusy: 100, restarting: 1_000, shuttingDown: 500 } as const;

/** The warehouse cannot answer now; `retryAfterMs` when the refusal is passing (see `RETRY_AFTER_MS`). */
export function unavailable(reason: string, retryAfterMs?: number): EngineError {
  const error: Extract<EngineError, { code: 'UNAVAILABLE' }> = {
    code: 'UNAVAILABLE',
    message: `unavailable: ${reason}`,
    reason,
  };
  if (retryAfterMs !== undefined) error.retryAfterMs = retryAfterMs;
  return error;
}

export function scanRejected(
  orderId: string,
  sku: string,
  reason: 'wrong_sku' | 'over_quantity' | 'nothing_to_pick',
  requested: number,
  remaining: number,
): EngineError {
  return {
    code: 'SCAN_REJECTED',
    message: `order ${orderId}: scan of ${requested} × ${sku} rejected (${reason}, ${remaining} left to pick)`,
    orderId,
    sku,
    reason,
    requested,
    remaining,
  };
}

export function pickIncomplete(orderId: string, lines: { sku: string; remaining: number }[]): EngineError {
  const what = lines.map((l) => `${l.sku} × ${l.remaining}`).join(', ');
  return { code: 'PICK_INCOMPLETE', message: `order ${orderId}: still to pick ${what}`, orderId, lines };
}

export function wrongCourier(orderId: string, courierId: string, assignedTo: string | undefined): EngineError {
  const error: EngineError = {
    code: 'WRONG_COURIER',
    message: `order ${orderId} is not with courier ${courierId} (${assignedTo ?? 'no courier'})`,
    orderId,
    courierId,
  };
  if (assignedTo !== undefined) error.assignedTo = assignedTo;
  return error;
}

export function courierStateConflict(courierId: string, state: string, event: string): EngineError {
  return {
    code: 'COURIER_STATE_CONFLICT',
    message: `courier ${courierId} is ${state}: ${event} does not apply`,
    courierId,
    state,
    event,
  };
}

export function proofRejected(orderId: string, distanceKm: number, radiusKm: number): EngineError {
  return {
    code: 'PROOF_REJECTED',
    message: `order ${orderId}: delivered ${distanceKm.toFixed(3)} km from the address (at most ${radiusKm} km)`,
    orderId,
    distanceKm,
    radiusKm,
  };
}

export function pingRejected(
  courierId: string,
  reason: 'time_went_back' | 'impossible_jump',
  speedKmh?: number,
  trailIndex?: number,
): EngineError {
  const at = trailIndex === undefined ? '' : ` at trail[${trailIndex}]`;
  const error: EngineError = {
    code: 'PING_REJECTED',
    message: `courier ${courierId}: ping rejected (${reason}${at})`,
    courierId,
    reason,
  };
  if (speedKmh !== undefined) error.speedKmh = speedKmh;
  if (trailIndex !== undefined) error.trailIndex = trailIndex;
  return error;
}
