/**
 * What the client's methods take and give: each command's input (the engine's command without its
 * `type`, with the idempotency key optional, since the client makes one when the caller gives
 * none), each command's value (the engine's `CommandValue` narrowed by kind) and each query's view.
 * Types only.
 */
import type { OrderState } from '../actors/index.ts';
import type {
  AdjustCommand,
  Availability,
  CheckoutQuote,
  Command,
  CommandValue,
  CommitCommand,
  CountCommand,
  CourierCheckInCommand,
  CourierPingCommand,
  ExtendCommand,
  FulfillmentView,
  OrderEventCommand,
  OrderPlaceCommand,
  OrderRecord,
  PaymentOutcomeCommand,
  PosSaleCommand,
  ReceiptCommand,
  ReleaseCommand,
  ReserveCommand,
  SkuUpsertCommand,
  TickCommand,
  WarehouseConfigureCommand,
} from '../engine/index.ts';

/** A command's fields as a caller gives them: no `type`, and the idempotency key optional. */
export type Keyed<C> = Omit<C, 'type' | 'key'> & {
  /**
   * The idempotency key. Give one to look the command up later (`command(key)`) or to retry it
   * yourself across processes; otherwise the client makes one and keeps it across its retries.
   */
  key?: string;
};

type Unkeyed<C> = C extends unknown ? Omit<C, 'key'> & { key?: string } : never;

/** Any command a caller may send (the runtime's own `tick` excepted), with the key optional. */
export type ClientCommand = Unkeyed<Exclude<Command, TickCommand>>;

export type SkuUpsertInput = Keyed<SkuUpsertCommand>;
export type ReceiptInput = Keyed<ReceiptCommand>;
export type AdjustInput = Keyed<AdjustCommand>;
export type CountInput = Keyed<CountCommand>;
export type PosSaleInput = Keyed<PosSaleCommand>;
export type ReserveInput = Keyed<ReserveCommand>;
export type CommitInput = Keyed<CommitCommand>;
export type ReleaseInput = Keyed<ReleaseCommand>;
export type ExtendInput = Keyed<ExtendCommand>;
export type PlaceOrderInput = Keyed<OrderPlaceCommand>;
/** An order event; `eventId` defaults to the idempotency key (both stay the same across retries). */
export type OrderEventInput = Omit<Keyed<OrderEventCommand>, 'eventId'> & { eventId?: string };
export type PaymentOutcomeInput = Keyed<PaymentOutcomeCommand>;
export type ConfigureInput = Keyed<WarehouseConfigureCommand>;
export type PickerInput = { pickerId: string; key?: string };
export type CourierInput = { courierId: string; key?: string };
export type CourierCheckInInput = Keyed<CourierCheckInCommand>;
export type CourierPingInput = Keyed<CourierPingCommand>;

export type CommandKind = CommandValue['kind'];
/** The value of a successful command of the given kind. */
export type CommandValueOf<K extends CommandKind> = Extract<CommandValue, { kind: K }>;

export type SkuValue = CommandValueOf<'sku'>;
export type StockValue = CommandValueOf<'stock'>;
export type ReservedValue = CommandValueOf<'reserved'>;
export type CommittedValue = CommandValueOf<'committed'>;
export type ReleasedValue = CommandValueOf<'released'>;
export type ExtendedValue = CommandValueOf<'extended'>;
export type OrderValue = CommandValueOf<'order'>;
export type PaymentValue = CommandValueOf<'payment'>;
export type ConfiguredValue = CommandValueOf<'configured'>;
export type PickerValue = CommandValueOf<'picker'>;
export type PickTaskValue = CommandValueOf<'pick_task'>;
export type CourierValue = CommandValueOf<'courier'>;

/** `availability`: the SKUs asked for, and those the warehouse does not know. */
export interface AvailabilityView {
  items: Availability[];
  unknown: string[];
}

/** `changes`: every SKU changed after the version asked from, oldest first, and the version to ask from next. */
export interface ChangesView {
  items: Availability[];
  version: number;
}

/** `order`: the order as the warehouse keeps it, with the brief's name of its state. */
export type OrderView = OrderRecord & { state: OrderState };

export type { CheckoutQuote, FulfillmentView };
