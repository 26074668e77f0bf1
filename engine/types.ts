/**
 * The vocabulary of the warehouse core as data: commands, their results, events, ledger entries and
 * the records the core keeps. Everything here is plain data that round-trips through msgpack.
 */
import type {
  CompiledSnapshot,
  CourierContext,
  CourierState,
  OrderContext,
  OrderEventType,
  OrderState,
  PickTaskContext,
} from '../actors/index.ts';
import type { EngineError } from './errors.ts';
import type { GeoPoint } from './geo.ts';
import type { PickLine } from './pick-list.ts';

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
  | PaymentOutcomeCommand
  | WarehouseConfigureCommand
  | PickerShiftCommand
  | PickTakeCommand
  | CourierCheckInCommand
  | CourierShiftCommand
  | CourierPingCommand
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
  /** `pick.scanned`: the scan (its id makes a repeat harmless), the SKU's barcode and the units. */
  scanId?: string;
  sku?: string;
  quantity?: number;
  /** `pack.completed`: how many bags and where they wait for the courier. */
  bagCount?: number;
  stagingSlot?: string;
  /** `delivery.completed`: where the courier handed over (proof: near the address). */
  position?: GeoPoint;
  /** `delivery.completed`: left at the door, the customer being unavailable. */
  safeDrop?: boolean;
}

export type PaymentOperation = 'authorize' | 'capture' | 'void' | 'refund';

/**
 * What the payment provider answered for an effect the warehouse asked for. Sent by the runtime's
 * effect executor; `unavailable` means the provider could not be reached after the retries.
 */
export interface PaymentOutcomeCommand {
  type: 'payment.outcome';
  key: string;
  orderId: string;
  operation: PaymentOperation;
  outcome: 'succeeded' | 'declined' | 'unavailable';
  authorizationId?: string;
  amountCents?: number;
  message?: string;
  /**
   * With `unavailable`: a call may have reached the provider without an answer, so it may have
   * acted (an authorize may have placed a hold). An authorize stays owed until the provider answers.
   */
  uncertain?: boolean;
}

/** Where the store is and the knobs of its fulfilment. Omitted knobs keep their current value. */
export interface WarehouseConfigureCommand {
  type: 'warehouse.configure';
  key: string;
  location: GeoPoint;
  /** How long a packed order may wait for a courier before operations are alerted. */
  pendingDispatchEscalationMs?: number;
  /** Rolling pick-pack average above which the warehouse is flagged slow. */
  pickPackSlowMs?: number;
  /** Average courier speed used for ETAs, in km/h. */
  courierSpeedKmh?: number;
}

export interface PickerShiftCommand {
  type: 'picker.check_in' | 'picker.check_out';
  key: string;
  pickerId: string;
}

/** A picker asks for the next pick task; the oldest queued order is theirs. */
export interface PickTakeCommand {
  type: 'pick.take';
  key: string;
  pickerId: string;
}

export interface CourierCheckInCommand {
  type: 'courier.check_in';
  key: string;
  courierId: string;
  position: GeoPoint;
}

/** A courier ends the shift, or reports a breakdown of the vehicle (its order is reassigned). */
export interface CourierShiftCommand {
  type: 'courier.check_out' | 'courier.breakdown';
  key: string;
  courierId: string;
}

/** One earlier GPS point in a ping's trail, as the device recorded it. */
export interface TrailPoint {
  position: GeoPoint;
  deviceTimeMs: number;
}

/**
 * A courier's position. `position` and `deviceTimeMs` are the newest point; `trail` (a batched
 * upload) holds earlier points of the same device, oldest first, device times strictly rising and
 * below `deviceTimeMs`, at most PING_TRAIL_MAX. The warehouse applies the trail and then the newest
 * point as if each had arrived as a separate ping at this command's time, or refuses them all.
 */
export interface CourierPingCommand {
  type: 'courier.ping';
  key: string;
  courierId: string;
  position: GeoPoint;
  /** The device's clock: orders the track; the warehouse's own time decides silence. */
  deviceTimeMs: number;
  trail?: TrailPoint[];
}

/** The warehouse's configuration, with defaults until `warehouse.configure` says otherwise. */
export interface WarehouseConfig {
  location: GeoPoint;
  pendingDispatchEscalationMs: number;
  pickPackSlowMs: number;
  courierSpeedKmh: number;
}

export interface PickerRecord {
  pickerId: string;
  /** The order being picked, if any. */
  orderId?: string;
  checkedInAtMs: number;
  picksThisShift: number;
}

/** An order's pick task: its lifecycle, the walk-ordered list and what was scanned or dropped. */
export interface PickTask {
  lifecycle: CompiledSnapshot<PickTaskContext>;
  pickerId?: string;
  queuedAtMs: number;
  startedAtMs?: number;
  lines: (PickLine & { substituteFor?: string })[];
  /** Accepted scan ids (bounded by the units on the list). */
  scanIds: string[];
  dropped: { sku: string; quantity: number; adjustmentCents: number }[];
}

export interface CourierRecord {
  courierId: string;
  lifecycle: CompiledSnapshot<CourierContext>;
  position: GeoPoint;
  /** Device time of the last accepted ping (the track's clock). */
  lastPingAtMs: number;
  /** Warehouse time the courier was last heard from: silence is measured from here. */
  lastSeenAtMs: number;
  deliveriesThisShift: number;
  orderId?: string;
  /** Missed an acknowledgement: not offered orders until heard from again. */
  unresponsive: boolean;
  offlineReason?: 'checked_out' | 'silent' | 'breakdown';
}

/** Where an order stands with couriers: waiting, or offered to one who has to acknowledge. */
export interface DispatchState {
  /** Since when the order has been waiting for a courier (undefined once one accepted). */
  waitingSinceMs?: number;
  offeredTo?: string;
  offerDeadlineMs?: number;
  /** Couriers that declined or missed the acknowledgement for this order. */
  passedBy: string[];
  escalated: boolean;
  /** The order is already on the road: a new courier takes it over from a broken-down one. */
  handover: boolean;
}

export interface PaymentState {
  /** Operations asked of the provider whose outcome has not come back (resumed after a crash). */
  pending: PaymentOperation[];
  capturedCents: number;
  voided: boolean;
  refundedCents: number;
  /** Answers of `unavailable` so far (the executor keeps retrying). */
  failures: number;
  /**
   * A refund was asked for while the capture was still owed: the capture's outcome decides (money
   * taken is refunded at once; a capture refused leaves a hold to void).
   */
  refundOnCapture: boolean;
  /**
   * An authorize came back unavailable after a call that may have reached the provider: it stays
   * owed (tried again) until the provider answers, and a hold it turns out to have placed is voided.
   */
  authorizeUncertain?: true;
}

/** An open or finished order of the warehouse. */
export interface OrderRecord {
  orderId: string;
  customerId: string;
  address: { lat: number; lon: number };
  lines: QuantityLine[];
  paymentToken: string;
  allowSubstitutes: boolean;
  amountCents: number;
  /** Taken off the amount for lines dropped at picking. */
  adjustmentCents: number;
  /** When delivery was promised at checkout (queue wait + pick-pack + travel + buffer). */
  promisedAtMs: number;
  /** The latest ETA sent to the customer. */
  etaAtMs: number;
  /** The order machine's state (compiled snapshot: leaf path and context). */
  lifecycle: CompiledSnapshot<OrderContext>;
  reservationId: string;
  authorizationId?: string;
  courierId?: string;
  /** Units already picked (committed), which a cancel puts back on the shelf. */
  picked: QuantityLine[];
  payment: PaymentState;
  pick?: PickTask;
  pack?: { bagCount: number; stagingSlot: string; packedAtMs: number; pickPackMs: number };
  dispatch?: DispatchState;
  pickedUpAtMs?: number;
  delivery?: { atMs: number; position: GeoPoint; distanceKm: number; safeDrop: boolean };
  /** The late check-in prompt was raised. */
  lateRaised: boolean;
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
  | {
      kind: 'order';
      orderId: string;
      state: OrderState;
      reservationId: string;
      duplicate: boolean;
      promisedAtMs: number;
      /** What a scan or stockout report did, for the picker's handheld. */
      pick?: PickOutcome;
    }
  | { kind: 'configured'; config: WarehouseConfig }
  | { kind: 'picker'; pickerId: string; onShift: boolean }
  | { kind: 'pick_task'; pickerId: string; task?: { orderId: string; lines: PickLine[] } }
  | { kind: 'courier'; courierId: string; state: CourierState; orderId?: string; etaAtMs?: number }
  | { kind: 'payment'; orderId: string; operation: PaymentOperation; applied: boolean };

export type PickOutcome =
  | { kind: 'scanned'; sku: string; remaining: number; complete: boolean }
  | { kind: 'duplicate_scan' }
  | { kind: 'substituted'; sku: string; substitute: string; quantity: number }
  | { kind: 'dropped'; sku: string; quantity: number; adjustmentCents: number };

/**
 * Why an order was cancelled: the payment hold was declined, or the provider stayed unreachable; the
 * reservation ran out before the hold came; or someone asked (the customer, operations).
 */
export type CancelReason = 'payment_declined' | 'payment_unavailable' | 'reservation_expired' | 'requested';

export type EscalationKind = 'no_courier' | 'courier_offline_on_road' | 'pick_pack_slow' | 'payment_refused';

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
      /** The newest reservations first; at most AT_RISK_IDS_PER_EVENT per event. */
      reservationIds: string[];
      /** This event's place (from 1) among the `parts` events naming one shortfall's reservations. */
      part: number;
      parts: number;
    }
  | { type: 'reservation.expired'; reservationId: string; lines: QuantityLine[] }
  | { type: 'pos.gap_skipped'; sourceId: string; fromSeq: number; toSeq: number }
  | {
      type: 'order.changed';
      orderId: string;
      state: OrderState;
      eventId?: string;
      /** Why, when the change is a cancellation. */
      reason?: CancelReason;
    }
  | {
      type: 'order.effect';
      orderId: string;
      effect: string;
      amountCents: number;
      paymentToken?: string;
      authorizationId?: string;
    }
  | { type: 'order.rejected'; orderId: string; eventId: string; expected: string; actual: string; event: string }
  | { type: 'order.line_dropped'; orderId: string; sku: string; quantity: number; adjustmentCents: number }
  | { type: 'order.substituted'; orderId: string; sku: string; substitute: string; quantity: number }
  | { type: 'order.eta'; orderId: string; etaAtMs: number }
  | { type: 'order.late'; orderId: string; courierId?: string; promisedAtMs: number; state: OrderState }
  | { type: 'pick.queued'; orderId: string; queueLength: number }
  | { type: 'pick_pack.recorded'; orderId: string; pickPackMs: number; averageMs: number; slow: boolean }
  | { type: 'courier.changed'; courierId: string; state: CourierState; orderId?: string }
  | { type: 'courier.moved'; courierId: string; position: GeoPoint; atMs: number; interpolated: boolean }
  | { type: 'dispatch.offered'; orderId: string; courierId: string; deadlineMs: number }
  | { type: 'dispatch.waiting'; orderId: string; queueLength: number }
  | {
      type: 'escalation.raised';
      kind: EscalationKind;
      orderId?: string;
      courierId?: string;
      detail: string;
    };

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
  | { type: 'changes'; sinceVersion: number; limit?: number }
  | { type: 'reservation'; reservationId: string }
  | { type: 'command'; key: string }
  | { type: 'order'; orderId: string }
  | { type: 'fulfillment' }
  /** What the warehouse would promise an order for this address if it were placed now. */
  | { type: 'eta'; address: GeoPoint };
