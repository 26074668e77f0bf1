/**
 * What the simulated world needs of the engine, whichever way it is reached: send a command to a
 * warehouse and get its answer, check out through the region's store selection, and receive the
 * committed events. The embedded engine answers synchronously; a NATS engine answers later. The
 * world never assumes which: it continues in the callbacks.
 */
import type { Command, EngineEvent, GeoPoint, OrderPlaceCommand, QuantityLine, Result } from '../engine/index.ts';
import type { CandidateReport } from '../service/checkout-choice.ts';

/** A warehouse's on hand by SKU (undefined for a SKU it does not list). */
export type Books = (sku: string) => number | undefined;

export type CheckoutAnswer =
  | { ok: true; warehouseId: string; promisedAtMs: number; candidates: CandidateReport[] }
  | { ok: false; code: string; candidates: CandidateReport[] };

export interface SimEngine {
  readonly mode: 'embedded' | 'nats';
  /** Committed events of a warehouse, in commit order. Set by the world before the run. */
  onEvents: (warehouseId: string, events: EngineEvent[]) => void;
  /** The event types `onEvents` reacts to, when the world says so: an engine may leave the others out. */
  eventTypes?: ReadonlySet<EngineEvent['type']>;
  /** Commands sent so far. */
  readonly commands: number;
  send(warehouseId: string, command: Command, done?: (result: Result) => void): void;
  checkout(order: OrderPlaceCommand, done: (answer: CheckoutAnswer) => void): void;
  /** What the shopper app shows as available (the catalog read model). */
  available(warehouseId: string, sku: string): number;
  /**
   * The warehouse's books now: its on hand per SKU (for restocking, cycle counts and the accuracy
   * against the shelf), or undefined when they could not be read (a store that is down). The lookup
   * is valid inside `done` only.
   */
  books(warehouseId: string, done: (onHand: Books | undefined) => void): void;
  /**
   * Units of a just-placed order that its warehouse holds beyond what it had: after the placement,
   * every SKU the order's reservation holds must still have available ≥ 0. Must be 0.
   */
  auditPlacement(warehouseId: string, orderId: string, done: (oversoldUnits: number) => void): void;
  /**
   * A partitioned run only: the other thread's shopper at `address` checks out; answers that
   * thread's calls about the candidates hosted here until the checkout is over, and says at which
   * of them, if any, the order was placed. Returns at once when none of them is hosted here.
   */
  serveCheckout?(orderId: string, address: GeoPoint): { warehouseId: string; lines: QuantityLine[] } | undefined;
  /** The engine's states of orders (undefined for an order it does not know), in the order asked. */
  orderStates(warehouseId: string, orderIds: readonly string[], done: (states: (string | undefined)[]) => void): void;
}
