/**
 * What the simulated world needs of the engine, whichever way it is reached: send a command to a
 * warehouse and get its answer, check out through the region's store selection, and receive the
 * committed events. The embedded engine answers synchronously; a NATS engine answers later. The
 * world never assumes which: it continues in the callbacks.
 */
import type { Command, EngineEvent, OrderPlaceCommand, Result } from '../engine/index.ts';
import type { CandidateReport } from '../service/checkout-choice.ts';

export type CheckoutAnswer =
  | { ok: true; warehouseId: string; promisedAtMs: number; candidates: CandidateReport[] }
  | { ok: false; code: string; candidates: CandidateReport[] };

export interface SimEngine {
  readonly mode: 'embedded' | 'nats';
  /** Committed events of a warehouse, in commit order. Set by the world before the run. */
  onEvents: (warehouseId: string, events: EngineEvent[]) => void;
  /** Commands sent so far. */
  readonly commands: number;
  send(warehouseId: string, command: Command, done?: (result: Result) => void): void;
  checkout(order: OrderPlaceCommand, done: (answer: CheckoutAnswer) => void): void;
  /** What the shopper app shows as available (the catalog read model). */
  available(warehouseId: string, sku: string): number;
  /** The engine's on hand of a SKU (for the accuracy against the shelf). */
  onHand(warehouseId: string, sku: string): number | undefined;
  /**
   * Units of a just-placed order that its warehouse holds beyond what it had: after the placement,
   * every SKU the order's reservation holds must still have available ≥ 0. Must be 0.
   */
  auditPlacement(warehouseId: string, orderId: string, done: (oversoldUnits: number) => void): void;
  /** The engine's state of an order, undefined when it does not know it. */
  orderState(warehouseId: string, orderId: string): string | undefined;
}
