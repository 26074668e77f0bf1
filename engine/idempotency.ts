/**
 * Idempotency records of a warehouse: key → the canonical command first seen under it and the
 * result it produced. A repeated key with an equal payload answers the stored result; with a
 * different payload it is an IDEMPOTENCY_CONFLICT. Records are kept for IDEMPOTENCY_RETENTION_MS
 * of command time and at most IDEMPOTENCY_RECORDS_MAX of them (oldest evicted first). Insertion
 * order is command-time order, so pruning only ever looks at the front of the map.
 * Pure data structure: no clock, no I/O.
 */
import { IDEMPOTENCY_RECORDS_MAX, IDEMPOTENCY_RETENTION_MS } from './limits.ts';
import type { Command, Result } from './types.ts';

export interface IdempotencyRecord {
  key: string;
  atMs: number;
  command: Command;
  result: Result;
}

/** Structural equality of plain data (the canonical commands produced by validation). */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  if (ak.length !== bk.length) return false;
  for (const k of ak) {
    if (!sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

export class IdempotencyStore {
  readonly records = new Map<string, IdempotencyRecord>();
  /** Records dropped before their retention ended because the store was full. */
  evictedEarly = 0;

  get(key: string): IdempotencyRecord | undefined {
    return this.records.get(key);
  }

  put(record: IdempotencyRecord): void {
    this.records.set(record.key, record);
    if (this.records.size > IDEMPOTENCY_RECORDS_MAX) {
      const oldest = this.records.keys().next().value as string;
      this.records.delete(oldest);
      this.evictedEarly++;
    }
  }

  /** Drops records older than the retention window at command time `atMs`. */
  prune(atMs: number): void {
    for (const [key, record] of this.records) {
      if (atMs - record.atMs <= IDEMPOTENCY_RETENTION_MS) break;
      this.records.delete(key);
    }
  }
}
