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
  | { code: 'NO_FULFILLMENT_CENTER'; message: string; candidates: { warehouseId: string; reason: string }[] }
  | { code: 'UNAVAILABLE'; message: string; reason: string };

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
];

export function validationError(path: string, message: string): EngineError {
  return { code: 'VALIDATION_ERROR', message: `${path}: ${message}`, path };
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

export function unavailable(reason: string): EngineError {
  return { code: 'UNAVAILABLE', message: `unavailable: ${reason}`, reason };
}
