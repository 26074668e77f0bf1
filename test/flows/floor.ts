/**
 * A warehouse floor in virtual time for end-to-end flow tests: the real core (`Warehouse`, with
 * invariant checks) behind `validateCommand`, a clock the test moves, every event and command
 * kept, and one-line helpers for what pickers, couriers, the payment provider and customers do.
 * `replayMatches` proves the whole run rebuilds byte for byte from its command log and from a
 * snapshot taken halfway, which is how the core recovers after a crash.
 */
import { expect } from 'vitest';
import type { OrderState } from '../../actors/index.ts';
import {
  decode,
  type EngineEvent,
  encode,
  fromSnapshot,
  type GeoPoint,
  type LedgerEntry,
  type LedgerReason,
  type OrderRecord,
  type Result,
  type StampedCommand,
  toSnapshot,
  validateCommand,
  Warehouse,
  type WarehouseSnapshot,
} from '../../engine/index.ts';

export const STORE: GeoPoint = { lat: 52.52, lon: 13.405 };
/** About 1.1 km north of the store. */
export const HOME: GeoPoint = { lat: 52.53, lon: 13.405 };
export const T0 = Date.UTC(2026, 10, 21, 18, 0, 0);

type Ok = Extract<Result, { ok: true }>['value'];

export interface FloorOptions {
  pickers?: string[];
  couriers?: string[];
  /** Units received per SKU (milk, bread, eggs, oat; oat substitutes milk). */
  stock?: Partial<Record<string, number>>;
  pendingDispatchEscalationMs?: number;
}

export class Floor {
  readonly warehouse = new Warehouse('w-flow', { assertInvariants: true });
  atMs = T0;
  readonly log: EngineEvent[] = [];
  readonly commands: StampedCommand[] = [];
  private keys = 0;
  private deviceMs = T0;

  static open(options: FloorOptions = {}): Floor {
    const floor = new Floor();
    const configure: Record<string, unknown> = { type: 'warehouse.configure', key: floor.key(), location: STORE };
    if (options.pendingDispatchEscalationMs !== undefined) {
      configure.pendingDispatchEscalationMs = options.pendingDispatchEscalationMs;
    }
    floor.ok(configure);
    const skus: [string, number, string[]][] = [
      ['milk', 1, ['oat']],
      ['bread', 2, []],
      ['eggs', 1, []],
      ['oat', 3, []],
    ];
    for (const [sku, aisle, substitutes] of skus) {
      floor.ok({
        type: 'sku.upsert',
        key: floor.key(),
        sku,
        ownerId: 'owner-1',
        name: `item ${sku}`,
        priceCents: 300,
        location: { zone: 'A', aisle, bay: 1, level: 1 },
        safetyStock: 0,
        substitutes,
      });
      const units = options.stock?.[sku] ?? 20;
      if (units > 0) {
        floor.ok({ type: 'receipt', key: floor.key(), receiptId: `rc-${sku}`, lines: [{ sku, quantity: units }] });
      }
    }
    for (const pickerId of options.pickers ?? ['p1']) floor.ok({ type: 'picker.check_in', key: floor.key(), pickerId });
    for (const courierId of options.couriers ?? ['c1']) {
      floor.ok({ type: 'courier.check_in', key: floor.key(), courierId, position: STORE });
    }
    return floor;
  }

  key(): string {
    return `k-${++this.keys}`;
  }

  /** Validates, stamps and applies raw input now; keeps the command and its events. */
  send(input: unknown): Result {
    const validated = validateCommand(input);
    if (!validated.ok) return validated;
    const stamped = { seq: this.warehouse.state.lastSeq + 1, atMs: this.atMs, command: validated.value };
    const result = this.warehouse.apply(stamped);
    // As the runtime does after every batch: it settles the deadline heaps, which must change nothing
    // a command sees (replayMatches compares with cores that never ask).
    this.warehouse.nextDeadlineMs();
    this.commands.push(stamped);
    this.log.push(...this.warehouse.drainEvents());
    // Every reply survives msgpack unchanged.
    expect(decode(encode(result))).toEqual(result);
    return result;
  }

  ok(input: unknown): Ok {
    const result = this.send(input);
    if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
    return result.value;
  }

  /** Moves the clock and lets the warehouse see the time (as the runtime's timer does). */
  advance(ms: number): void {
    this.atMs += ms;
    this.send({ type: 'tick' });
  }

  order(orderId: string): OrderRecord & { state: OrderState } {
    const result = this.warehouse.order(orderId);
    if (!result.ok) throw new Error(`no order ${orderId}`);
    return result.value;
  }

  stateOf(orderId: string): OrderState {
    return this.order(orderId).state;
  }

  courierState(courierId: string): string {
    return this.warehouse.fulfillment().couriers.find((c) => c.courierId === courierId)?.state ?? 'unknown';
  }

  onHand(sku: string): number {
    return this.warehouse.availability([sku]).items[0]?.onHand ?? Number.NaN;
  }

  events<T extends EngineEvent['type']>(type: T): Extract<EngineEvent, { type: T }>[] {
    return this.log.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type);
  }

  place(orderId: string, lines: { sku: string; quantity: number }[], extra: Record<string, unknown> = {}): Result {
    return this.send({
      type: 'order.place',
      key: this.key(),
      orderId,
      customerId: `cust-${orderId}`,
      address: HOME,
      lines,
      paymentToken: `tok-${orderId}`,
      ttlMs: 600_000,
      ...extra,
    });
  }

  /** The payment provider's answer, as the effect executor sends it. */
  payment(orderId: string, operation: string, outcome = 'succeeded', extra: Record<string, unknown> = {}): Result {
    const body: Record<string, unknown> = { type: 'payment.outcome', key: this.key(), orderId, operation, outcome };
    if (operation === 'authorize' && outcome === 'succeeded') body.authorizationId = `auth-${orderId}`;
    return this.send({ ...body, ...extra });
  }

  event(orderId: string, expectedState: string, event: string, facts: Record<string, unknown> = {}): Result {
    return this.send({
      type: 'order.event',
      key: this.key(),
      orderId,
      eventId: this.key(),
      expectedState,
      event,
      ...facts,
    });
  }

  take(pickerId = 'p1'): Ok {
    return this.ok({ type: 'pick.take', key: this.key(), pickerId });
  }

  scan(orderId: string, sku: string, quantity: number, scanId = this.key()): Result {
    return this.event(orderId, 'picking', 'pick.scanned', { scanId, sku, quantity });
  }

  /** The picker's current task (taking the next one if free), or undefined when the queue is empty. */
  takeTask(
    pickerId = 'p1',
  ): { orderId: string; lines: { sku: string; quantity: number; picked: number }[] } | undefined {
    const taken = this.take(pickerId);
    return taken.kind === 'pick_task' ? taken.task : undefined;
  }

  /** Takes the next task and scans every line in full. */
  pickAll(pickerId = 'p1'): string {
    const taken = this.take(pickerId);
    if (taken.kind !== 'pick_task' || taken.task === undefined) throw new Error('no pick task');
    for (const line of taken.task.lines) {
      const result = this.scan(taken.task.orderId, line.sku, line.quantity - line.picked);
      if (!result.ok) throw new Error(`scan refused: ${result.error.message}`);
    }
    return taken.task.orderId;
  }

  pack(orderId: string, bagCount = 2): Result {
    return this.event(orderId, 'picking', 'pack.completed', { bagCount, stagingSlot: 'S-1' });
  }

  courierEvent(orderId: string, expectedState: string, event: string, courierId: string, facts = {}): Result {
    return this.event(orderId, expectedState, event, { courierId, ...facts });
  }

  ping(courierId: string, position: GeoPoint, advanceDeviceMs = 5_000): Result {
    this.deviceMs = Math.max(this.deviceMs + advanceDeviceMs, this.atMs);
    return this.send({ type: 'courier.ping', key: this.key(), courierId, position, deviceTimeMs: this.deviceMs });
  }

  /** From accepted to delivered at the address. */
  deliver(orderId: string, courierId: string): void {
    this.ping(courierId, STORE);
    expect(this.courierEvent(orderId, 'courier_assigned', 'courier.accepted', courierId).ok).toBe(true);
    expect(this.courierEvent(orderId, 'courier_assigned', 'courier.picked_up', courierId).ok).toBe(true);
    this.atMs += 4 * 60_000;
    this.ping(courierId, HOME);
    const done = this.courierEvent(orderId, 'out_for_delivery', 'delivery.completed', courierId, { position: HOME });
    expect(done.ok).toBe(true);
  }

  /** Available units of a SKU (on hand − reserved − safety stock). */
  available(sku: string): number {
    return this.warehouse.availability([sku]).items[0]?.available ?? Number.NaN;
  }

  /** Reserved units of a SKU. */
  reserved(sku: string): number {
    return this.warehouse.availability([sku]).items[0]?.reserved ?? Number.NaN;
  }

  /** A courier as the floor view shows it (state, position, unresponsive mark, order). */
  courier(courierId: string): ReturnType<Warehouse['fulfillment']>['couriers'][number] {
    const courier = this.warehouse.fulfillment().couriers.find((c) => c.courierId === courierId);
    if (courier === undefined) throw new Error(`no courier ${courierId}`);
    return courier;
  }

  /** Every stock movement so far (the floor never drains the ledger), optionally of one reason. */
  ledger(reason?: LedgerReason): LedgerEntry[] {
    const all = this.warehouse.state.ledger;
    return reason === undefined ? [...all] : all.filter((e) => e.reason === reason);
  }

  /** The payment effects asked for an order, in order: what the runtime's executor would run. */
  effects(orderId: string): Extract<EngineEvent, { type: 'order.effect' }>[] {
    return this.events('order.effect').filter((e) => e.orderId === orderId);
  }

  /**
   * The warehouse state as bytes, without the bookkeeping every applied command changes even when
   * it is refused: its sequence number and time, and the idempotency record that keeps its answer.
   * Equal bytes before and after a refused command mean the refusal changed nothing else.
   */
  stateBytes(): Buffer {
    const snapshot = { ...toSnapshot(this.warehouse.state), lastSeq: 0, lastAtMs: 0, idempotency: [] };
    return Buffer.from(encode(snapshot));
  }

  /** A ping stamped with an exact device time (the GPS track's clock), for tests of tracking. */
  pingAt(courierId: string, position: GeoPoint, deviceTimeMs: number): Result {
    this.deviceMs = Math.max(this.deviceMs, deviceTimeMs);
    return this.send({ type: 'courier.ping', key: this.key(), courierId, position, deviceTimeMs });
  }

  /**
   * One ping carrying a trail (a courier app's batched upload): `points` oldest first, each with its
   * exact device time; the last is the ping's own point, the others go in its trail.
   */
  pingTrailAt(courierId: string, points: { position: GeoPoint; deviceTimeMs: number }[]): Result {
    const newest = points[points.length - 1];
    if (newest === undefined) throw new Error('a ping needs at least one point');
    this.deviceMs = Math.max(this.deviceMs, newest.deviceTimeMs);
    return this.send({
      type: 'courier.ping',
      key: this.key(),
      courierId,
      position: newest.position,
      deviceTimeMs: newest.deviceTimeMs,
      trail: points.slice(0, -1),
    });
  }

  /** Like `ping`, for several positions recorded `stepMs` apart and uploaded in one ping. */
  pingTrail(courierId: string, positions: GeoPoint[], stepMs = 5_000): Result {
    const newestMs = Math.max(this.deviceMs + stepMs * positions.length, this.atMs);
    const points = positions.map((position, i) => ({
      position,
      deviceTimeMs: newestMs - stepMs * (positions.length - 1 - i),
    }));
    return this.pingTrailAt(courierId, points);
  }

  /** Each courier pings where it already is: heard from again, so it does not go silent. */
  heartbeat(...courierIds: string[]): void {
    for (const courierId of courierIds) {
      const result = this.ping(courierId, this.courier(courierId).position);
      if (!result.ok) throw new Error(`heartbeat of ${courierId} refused: ${result.error.message}`);
    }
  }

  /** Places an order, authorizes it, picks it in full and packs it: the order is then dispatched. */
  placeAndPack(orderId: string, lines: { sku: string; quantity: number }[], pickerId = 'p1'): void {
    expect(this.place(orderId, lines).ok).toBe(true);
    expect(this.payment(orderId, 'authorize').ok).toBe(true);
    expect(this.pickAll(pickerId)).toBe(orderId);
    expect(this.pack(orderId).ok).toBe(true);
  }

  /** Replays the command log into a fresh core, whole and from a snapshot taken halfway: same bytes. */
  replayMatches(): void {
    const live = encode(toSnapshot(this.warehouse.state));
    const whole = new Warehouse('w-flow');
    for (const c of this.commands) whole.apply(c);
    expect(Buffer.compare(encode(toSnapshot(whole.state)), live)).toBe(0);
    const half = Math.floor(this.commands.length / 2);
    const first = new Warehouse('w-flow');
    for (const c of this.commands.slice(0, half)) first.apply(c);
    const snapshot = decode(encode(toSnapshot(first.state))) as WarehouseSnapshot;
    const resumed = new Warehouse('w-flow', {}, fromSnapshot(snapshot));
    for (const c of this.commands.slice(half)) resumed.apply(c);
    expect(Buffer.compare(encode(toSnapshot(resumed.state)), live)).toBe(0);
  }
}
