/**
 * One warehouse as the client sees it: a typed method per command and per query. Methods resolve
 * with the command's value (narrowed by kind) or the query's view, and throw a typed
 * `DarkstoreError` for every rejection and transport failure; `send`, `query` and `batch` give the
 * engine's raw `Result`s instead, for callers that prefer values to exceptions. Every command
 * carries an idempotency key (the caller's, or one made here) that stays the same across retries.
 */
import { nuid } from '@nats-io/transport-node';
import type { GeoPoint, Query, Reservation, Result } from '../engine/index.ts';
import { commandSubject, querySubject } from '../protocol/index.ts';
import { DarkstoreError, failedWithKey, rejectionOf, withKeyOf } from './errors.ts';
import { type CallOptions, encodeBody, type Transport } from './transport.ts';
import type {
  AdjustInput,
  AvailabilityView,
  ChangesView,
  CheckoutQuote,
  ClientCommand,
  CommandKind,
  CommandValueOf,
  CommitInput,
  CommittedValue,
  ConfiguredValue,
  ConfigureInput,
  CountInput,
  CourierCheckInInput,
  CourierInput,
  CourierPingInput,
  CourierValue,
  ExtendedValue,
  ExtendInput,
  FulfillmentView,
  OrderEventInput,
  OrderValue,
  OrderView,
  PaymentOutcomeInput,
  PaymentValue,
  PickerInput,
  PickerValue,
  PickTaskValue,
  PlaceOrderInput,
  PosSaleInput,
  ReceiptInput,
  ReleasedValue,
  ReleaseInput,
  ReservedValue,
  ReserveInput,
  SkuUpsertInput,
  SkuValue,
  StockValue,
} from './types.ts';

/** A fresh idempotency key: a NATS nuid (22 characters, unique without coordination). */
export function newKey(): string {
  return nuid.next();
}

/** The command with its key: the caller's, or a new one. */
function keyed<C extends { key?: string }>(command: C): C & { key: string } {
  return command.key === undefined ? { ...command, key: newKey() } : (command as C & { key: string });
}

/** The value of a successful result, or the typed error of a failed one. */
function unwrap<T>(result: Result<unknown>): T {
  if (!result.ok) throw rejectionOf(result.error);
  return result.value as T;
}

export class WarehouseClient {
  readonly commandSubject: string;
  readonly querySubject: string;

  constructor(
    private readonly transport: Transport,
    readonly region: string,
    readonly warehouseId: string,
  ) {
    this.commandSubject = commandSubject(region, warehouseId);
    this.querySubject = querySubject(region, warehouseId);
  }

  /**
   * Sends one command and returns the engine's result as is (rejections included). Throws only
   * when no result came back: a transport failure after the retries.
   */
  async send(command: ClientCommand, options?: CallOptions): Promise<Result & { sentKey?: string }> {
    const withKey = keyed(command);
    const body = encodeBody(withKey);
    const sent = this.transport.request(this.commandSubject, body, options) as Promise<Result>;
    if (command.key !== undefined) return sent;
    // A key made up here is on a failed result, or on the error of a call that got none (`sentKey`).
    return sent.then(
      (result) => failedWithKey(result, withKey.key),
      (error: unknown) => withKeyOf(error, withKey.key),
    );
  }

  /**
   * Sends commands as one batch: each gets its own result, in order (a rejection of one does not
   * stop the others). Throws when the batch as a whole is refused or no reply came back; the error
   * then says every command's key (`sentKeys`), and a failed result says a key made up here
   * (`sentKey`), so that sending again applies nothing twice.
   */
  async batch(commands: readonly ClientCommand[], options?: CallOptions): Promise<(Result & { sentKey?: string })[]> {
    const sent = commands.map(keyed);
    const keys = sent.map((c) => c.key);
    let value: { kind?: unknown; results?: unknown };
    try {
      const body = encodeBody({ type: 'batch', commands: sent });
      value = unwrap<{ kind?: unknown; results?: unknown }>(
        await this.transport.request(this.commandSubject, body, options),
      );
      if (value?.kind !== 'batch' || !Array.isArray(value.results) || value.results.length !== commands.length) {
        throw new DarkstoreError('BAD_REPLY', `reply on ${this.commandSubject} is not a batch of ${commands.length}`);
      }
    } catch (error) {
      if (error instanceof DarkstoreError) error.sentKeys ??= keys;
      throw error;
    }
    return (value.results as Result[]).map((result, i) =>
      commands[i]?.key === undefined ? failedWithKey(result, keys[i] as string) : result,
    );
  }

  /** Sends a query and returns the engine's result as is. Queries are read-only: retries are always safe. */
  async query(query: Query, options?: CallOptions): Promise<Result<unknown>> {
    return this.transport.request(this.querySubject, encodeBody(query), options);
  }

  /**
   * Sends a command and returns its value of `kind`, or throws. A key the client made up (here, or
   * by the caller of `run` when `made`) is on the error (`sentKey`).
   */
  private async run<K extends CommandKind>(
    input: ClientCommand,
    kind: K,
    options: CallOptions | undefined,
    made = input.key === undefined,
  ): Promise<CommandValueOf<K>> {
    const command = keyed(input);
    try {
      const value = unwrap<{ kind?: unknown }>(await this.send(command, options));
      if (value?.kind !== kind) {
        throw new DarkstoreError('BAD_REPLY', `${command.type} answered ${String(value?.kind)}, not ${kind}`);
      }
      return value as CommandValueOf<K>;
    } catch (error) {
      throw made ? withKeyOf(error, command.key) : error;
    }
  }

  private async ask<T>(query: Query, options: CallOptions | undefined): Promise<T> {
    return unwrap<T>(await this.query(query, options));
  }

  // Catalog and stock.

  skuUpsert(input: SkuUpsertInput, options?: CallOptions): Promise<SkuValue> {
    return this.run({ ...input, type: 'sku.upsert' }, 'sku', options);
  }

  receipt(input: ReceiptInput, options?: CallOptions): Promise<StockValue> {
    return this.run({ ...input, type: 'receipt' }, 'stock', options);
  }

  adjust(input: AdjustInput, options?: CallOptions): Promise<StockValue> {
    return this.run({ ...input, type: 'adjust' }, 'stock', options);
  }

  count(input: CountInput, options?: CallOptions): Promise<StockValue> {
    return this.run({ ...input, type: 'count' }, 'stock', options);
  }

  posSale(input: PosSaleInput, options?: CallOptions): Promise<StockValue> {
    return this.run({ ...input, type: 'pos.sale' }, 'stock', options);
  }

  // Reservations.

  reserve(input: ReserveInput, options?: CallOptions): Promise<ReservedValue> {
    return this.run({ ...input, type: 'reserve' }, 'reserved', options);
  }

  commit(input: CommitInput, options?: CallOptions): Promise<CommittedValue> {
    return this.run({ ...input, type: 'commit' }, 'committed', options);
  }

  release(input: ReleaseInput, options?: CallOptions): Promise<ReleasedValue> {
    return this.run({ ...input, type: 'release' }, 'released', options);
  }

  extend(input: ExtendInput, options?: CallOptions): Promise<ExtendedValue> {
    return this.run({ ...input, type: 'extend' }, 'extended', options);
  }

  // Orders and payments.

  placeOrder(input: PlaceOrderInput, options?: CallOptions): Promise<OrderValue> {
    return this.run({ ...input, type: 'order.place' }, 'order', options);
  }

  /** An order event (a scan, a pack, a courier's pickup or delivery, a cancel...). */
  orderEvent(input: OrderEventInput, options?: CallOptions): Promise<OrderValue> {
    // Keyed here, as the event id defaults to the key.
    const command = keyed(input);
    const event = { ...command, eventId: command.eventId ?? command.key, type: 'order.event' } as const;
    return this.run(event, 'order', options, input.key === undefined);
  }

  paymentOutcome(input: PaymentOutcomeInput, options?: CallOptions): Promise<PaymentValue> {
    return this.run({ ...input, type: 'payment.outcome' }, 'payment', options);
  }

  // The floor: configuration, pickers, couriers.

  configure(input: ConfigureInput, options?: CallOptions): Promise<ConfiguredValue> {
    return this.run({ ...input, type: 'warehouse.configure' }, 'configured', options);
  }

  pickerCheckIn(input: PickerInput, options?: CallOptions): Promise<PickerValue> {
    return this.run({ ...input, type: 'picker.check_in' }, 'picker', options);
  }

  pickerCheckOut(input: PickerInput, options?: CallOptions): Promise<PickerValue> {
    return this.run({ ...input, type: 'picker.check_out' }, 'picker', options);
  }

  /** The picker's next pick task (`task` is absent when the queue is empty). */
  takePickTask(input: PickerInput, options?: CallOptions): Promise<PickTaskValue> {
    return this.run({ ...input, type: 'pick.take' }, 'pick_task', options);
  }

  courierCheckIn(input: CourierCheckInInput, options?: CallOptions): Promise<CourierValue> {
    return this.run({ ...input, type: 'courier.check_in' }, 'courier', options);
  }

  courierCheckOut(input: CourierInput, options?: CallOptions): Promise<CourierValue> {
    return this.run({ ...input, type: 'courier.check_out' }, 'courier', options);
  }

  courierBreakdown(input: CourierInput, options?: CallOptions): Promise<CourierValue> {
    return this.run({ ...input, type: 'courier.breakdown' }, 'courier', options);
  }

  courierPing(input: CourierPingInput, options?: CallOptions): Promise<CourierValue> {
    return this.run({ ...input, type: 'courier.ping' }, 'courier', options);
  }

  // Queries: answered once everything they reflect is durable.

  availability(skus: string[], options?: CallOptions): Promise<AvailabilityView> {
    return this.ask({ type: 'availability', skus }, options);
  }

  changes(sinceVersion: number, options?: CallOptions): Promise<ChangesView> {
    return this.ask({ type: 'changes', sinceVersion }, options);
  }

  reservation(reservationId: string, options?: CallOptions): Promise<Reservation> {
    return this.ask({ type: 'reservation', reservationId }, options);
  }

  /** The stored result of the command sent under `key` (a rejection is a result too). */
  command(key: string, options?: CallOptions): Promise<Result> {
    return this.ask({ type: 'command', key }, options);
  }

  order(orderId: string, options?: CallOptions): Promise<OrderView> {
    return this.ask({ type: 'order', orderId }, options);
  }

  fulfillment(options?: CallOptions): Promise<FulfillmentView> {
    return this.ask({ type: 'fulfillment' }, options);
  }

  /** What the warehouse would promise an order for `address` placed now. */
  eta(address: GeoPoint, options?: CallOptions): Promise<CheckoutQuote> {
    return this.ask({ type: 'eta', address }, options);
  }
}
