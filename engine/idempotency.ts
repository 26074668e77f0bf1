/**
 * Idempotency records of a warehouse: key → the fingerprint of the canonical command first seen
 * under it (see fingerprint.ts) and the result it produced. A repeated key with an equal payload
 * answers the stored result; with a different payload it is an IDEMPOTENCY_CONFLICT. Keeping a
 * number instead of the command keeps records small in memory and in every snapshot. Records are kept for IDEMPOTENCY_RETENTION_MS
 * of command time and at most IDEMPOTENCY_RECORDS_MAX of them (oldest evicted first).
 * Pure data: no clock, no I/O.
 */
import { IDEMPOTENCY_RECORDS_MAX, IDEMPOTENCY_RETENTION_MS } from './limits.ts';
import { RetainedMap } from './retained-map.ts';
import type { Result } from './types.ts';

export interface IdempotencyRecord {
  key: string;
  atMs: number;
  fingerprint: number;
  result: Result;
}

/** The idempotency records of a warehouse, forgotten after the retention window or past the bound. */
export function idempotencyStore(): RetainedMap<IdempotencyRecord> {
  return new RetainedMap<IdempotencyRecord>(IDEMPOTENCY_RETENTION_MS, IDEMPOTENCY_RECORDS_MAX);
}
