/**
 * Pick lists and scan verification. A pick list orders an order's lines by a simple, predictable
 * walk through the store: zone, then aisle, bay and level (SKU id breaks ties). A scan names a SKU
 * and a quantity: a SKU not on the list or more than is still to pick is rejected with the reason,
 * a repeated scan id is ignored, and scans may come in any order. Pure functions; the caller owns
 * the list and the set of seen scan ids.
 */
import type { ShelfLocation } from './types.ts';

export interface PickLine {
  sku: string;
  name: string;
  quantity: number;
  location: ShelfLocation;
  /** Units scanned so far. */
  picked: number;
}

/** Orders lines by the walk: zone, aisle, bay, level, then SKU id. Returns a new array. */
export function walkOrder<T extends { sku: string; location: ShelfLocation }>(lines: readonly T[]): T[] {
  return [...lines].sort((a, b) => {
    const x = a.location;
    const y = b.location;
    if (x.zone !== y.zone) return x.zone < y.zone ? -1 : 1;
    return x.aisle - y.aisle || x.bay - y.bay || x.level - y.level || (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0);
  });
}

export interface Scan {
  scanId: string;
  sku: string;
  quantity: number;
}

export type ScanOutcome =
  | { kind: 'accepted'; sku: string; quantity: number; remaining: number; complete: boolean }
  | { kind: 'duplicate' }
  | { kind: 'rejected'; reason: 'wrong_sku' | 'over_quantity'; sku: string; requested: number; remaining: number };

/** Whether every line is picked in full. */
export function pickComplete(lines: readonly PickLine[]): boolean {
  return lines.every((l) => l.picked >= l.quantity);
}

/**
 * Applies one scan to a pick list: the accepted quantity is added to its line (the caller commits
 * that quantity of the reservation). Mutates `lines` and `seenScanIds` only when accepted.
 */
export function applyScan(lines: PickLine[], seenScanIds: Set<string>, scan: Scan): ScanOutcome {
  if (seenScanIds.has(scan.scanId)) return { kind: 'duplicate' };
  const line = lines.find((l) => l.sku === scan.sku);
  if (line === undefined)
    return { kind: 'rejected', reason: 'wrong_sku', sku: scan.sku, requested: scan.quantity, remaining: 0 };
  const remaining = line.quantity - line.picked;
  if (scan.quantity > remaining) {
    return { kind: 'rejected', reason: 'over_quantity', sku: scan.sku, requested: scan.quantity, remaining };
  }
  line.picked += scan.quantity;
  seenScanIds.add(scan.scanId);
  return {
    kind: 'accepted',
    sku: scan.sku,
    quantity: scan.quantity,
    remaining: remaining - scan.quantity,
    complete: pickComplete(lines),
  };
}
