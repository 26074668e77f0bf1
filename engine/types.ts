/**
 * The vocabulary of the warehouse core as data: commands, their results, events, ledger entries and
 * the records the core keeps. Everything here is plain data that round-trips through msgpack.
 */
import type { CompiledSnapshot, OrderContext, OrderEventType, OrderState } from '../actors/index.ts';
import type { EngineError } from './errors.ts';

export interface ShelfLocation {
  zone: string;
  aisle: number;
  bay: number;
  level: number;
}

/** A SKU's stock in one warehouse. `available` is derived (see `availableOf`), never stored. */
export interface SkuRecord {
  sku: string;
  ownerId: string;
  name: string;
  priceCents: number;
  location: ShelfLocation;
  onHand: number;
  reserved: number;
  safetyStock: number;
  substitutes: string[];
  /** Warehouse-wide change counter at this SKU's last change: rises on every change of the SKU. */
  version: number;
}

/** One held line of a reservation. `quantity` is what is still held; `committed` what was deducted. */
export interface ReservationLine {
  sku: string;
  quantity: number;
  committed: number;
  /** The SKU the customer asked for when this line holds a substitute. */
  substituteFor?: string;
}

export interface Reservation {
  reservationId: string;
  /** Command sequence number that created it: orders timers deterministically. */
  createdSeq: number;
  orderRef?: string;
  lines: ReservationLine[];
  createdAtMs: number;
  expiresAtMs: number;
}

export type AdjustmentReason = 'shrinkage' | 'damage' | 'found' | 'correction';

/** Commands as a caller sends them (before the runtime stamps them). */
export type Command =
  | SkuUpsertCommand
  | ReceiptCommand
  | AdjustCommand
  | CountCommand
  | PosSaleCommand
  | ReserveCommand
  | CommitCommand
  | ReleaseCommand
  | ExtendCommand
  | OrderPlaceCommand
  | OrderEventCommand
  | TickCommand;

export interface SkuUpsertCommand {
  type: 'sku.upsert';
  key: string;
  sku: string;
  ownerId: string;
  name: string;
  priceCents: number;
  location: ShelfLocation;
  safetyStock: number;
  substitutes: string[];
}

export interface QuantityLine {
  sku: string;
  quantity: number;
}

export interface ReceiptCommand {
  type: 'receipt';
  key: string;
  receiptId: string;
  lines: QuantityLine[];
}

export interface AdjustCommand {
  type: 'adjust';
  key: string;
  sku: string;
  /** Signed change of on hand: negative for shrinkage and damage, positive for found. */
  delta: number;
  reason: AdjustmentReason;
  note?: string;
}

export interface CountCommand {
  type: 'count';
  key: string;
  sku: string;
  /** The absolute number of units found on the shelf. */
  counted: number;
}

export interface PosSaleCommand {
  type: 'pos.sale';
  key: string;
  sourceId: string;
  sourceSeq: number;
  lines: QuantityLine[];
}

export interface ReserveLine {
  sku: string;
  quantity: number;
  expectedVersion?: number;
  allowSubstitutes?: boolean;
}

export interface ReserveCommand {
  type: 'reserve';
  key: string;
  lines: ReserveLine[];
  ttlMs: number;
  orderRef?: string;
}

export interface CommitCommand {
  type: 'commit';
  key: string;
  reservationId: string;
  /** Lines to deduct; absent means every held unit. */
  lines?: QuantityLine[];
  /** Release whatever stays held after this commit and close the reservation. */
  releaseRest?: boolean;
}

export interface ReleaseCommand {
  type: 'release';
  key: string;
  reservationId: string;
}

export interface ExtendCommand {
  type: 'extend';
  key: string;
  reservationId: string;
  ttlMs: number;
}

/** Checkout: reserve every line at once and open the order, which then asks for a payment hold. */
export interface OrderPlaceCommand {
  type: 'order.place';
  key: string;
  orderId: string;
  customerId: string;
  address: { lat: number; lon: number };
  lines: QuantityLine[];
  paymentToken: string;
  allowSubstitutes?: boolean;
  /** How long the reservation holds while payment and picking get going. */
  ttlMs: number;
}

/** An event in an order's life, from a picker, a courier, the payment provider or operations. */
export interface OrderEventCommand {
  type: 'order.event';
  key: string;
  orderId: string;
  /** Unique per event: a repeat answers the first outcome and changes nothing. */
  eventId: string;
  /** The state the sender believes the order is in; a mismatch is INVALID_TRANSITION. */
  expectedState: OrderState;
  event: OrderEventType;
  /** Facts some events carry (the authorization id of `payment.authorized`, a courier id, a reason). */
  authorizationId?: string;
  courierId?: string;
  reason?: string;
}

/** An open or finished order of the warehouse. */
export interface OrderRecord {
  orderId: string;
  customerId: string;
  address: { lat: number; lon: number };
  lines: QuantityLine[];
  paymentToken: string;
  amountCents: number;
  /** The order machine's state (compiled snapshot: leaf path and context). */
  lifecycle: CompiledSnapshot<OrderContext>;
  reservationId: string;
  authorizationId?: string;
  courierId?: string;
  /** Units already picked (committed), which a cancel puts back on the shelf. */
  picked: QuantityLine[];
  createdAtMs: number;
  updatedAtMs: number;
  /** The latest event ids applied, with the state each left the order in (bounded). */
  events: { eventId: string; state: OrderState }[];
}

/** Time advances: due reservations expire. The runtime issues it; its key is optional. */
export interface TickCommand {
  type: 'tick';
  key?: string;
}

export type CommandType = Command['type'];

/** A command as the runtime logged it: with its sequence number and time. */
export interface StampedCommand {
  seq: number;
  atMs: number;
  command: Command;
}

/** What a command answers. Round-trips through msgpack. */
export type Result<T = CommandValue> = { ok: true; value: T } | { ok: false; error: EngineError };

export type CommandValue =
  | { kind: 'sku'; sku: string; version: number }
  | { kind: 'stock'; movements: { sku: string; onHandDelta: number; version: number }[]; duplicate: boolean }
  | { kind: 'reserved'; reservationId: string; expiresAtMs: number; lines: ReservationLine[] }
  | { kind: 'committed'; reservationId: string; lines: QuantityLine[]; closed: boolean }
  | { kind: 'released'; reservationId: string; lines: QuantityLine[] }
  | { kind: 'extended'; reservationId: string; expiresAtMs: number }
  | { kind: 'tick'; expired: number }
  | { kind: 'order'; orderId: string; state: OrderState; reservationId: string; duplicate: boolean };

/** Availability of one SKU as readers and events see it. */
export interface Availability {
  sku: string;
  onHand: number;
  reserved: number;
  safetyStock: number;
  available: number;
  version: number;
}

export type EngineEvent =
  | { type: 'availability.changed'; sku: string; available: number; version: number }
  | {
      type: 'reservation.at_risk';
      sku: string;
      onHand: number;
      reserved: number;
      shortBy: number;
      reservationIds: string[];
    }
  | { type: 'reservation.expired'; reservationId: string; lines: QuantityLine[] }
  | { type: 'pos.gap_skipped'; sourceId: string; fromSeq: number; toSeq: number }
  | { type: 'order.changed'; orderId: string; state: OrderState; eventId?: string }
  | {
      type: 'order.effect';
      orderId: string;
      effect: string;
      amountCents: number;
      paymentToken?: string;
      authorizationId?: string;
    }
  | { type: 'order.rejected'; orderId: string; eventId: string; expected: string; actual: string; event: string };

export type LedgerReason =
  | 'receipt'
  | 'shrinkage'
  | 'damage'
  | 'found'
  | 'correction'
  | 'count_drift'
  | 'pos_sale'
  | 'reserve'
  | 'commit'
  | 'release'
  | 'expire'
  | 'restock';

/** One stock movement. Summing every entry of a SKU gives its on hand and reserved. */
export interface LedgerEntry {
  ledgerSeq: number;
  /** The command that caused it. */
  seq: number;
  atMs: number;
  sku: string;
  onHandDelta: number;
  reservedDelta: number;
  reason: LedgerReason;
  reference: string;
}

/** Reads, answered from memory. */
export type Query =
  | { type: 'availability'; skus: string[] }
  | { type: 'changes'; sinceVersion: number }
  | { type: 'reservation'; reservationId: string }
  | { type: 'command'; key: string }
  | { type: 'order'; orderId: string };
