/**
 * The load driver behind `order.lifecycle`: a dark store in virtual time whose orders go the whole
 * way through the real warehouse core, place → delivered and paid. Every command is built as a
 * client would send it, passed through `validateCommand`, stamped and applied; events are drained
 * after each phase and answered the way the runtime's effect executor and the courier apps would
 * (payment outcomes for `order.effect`, an acceptance for `dispatch.offered`). Orders move in a
 * pipeline of steps, so a step places new orders while the ones placed a step earlier are picked
 * and packed and the ones before are on the road. Never performs I/O, never reads a clock.
 */
import {
  type Command,
  type GeoPoint,
  type OrderEventCommand,
  type PickLine,
  type QuantityLine,
  type Result,
  validateCommand,
  Warehouse,
} from '../engine/index.ts';
import type { Workload } from './workload.ts';

type Ok = Extract<Result, { ok: true }>['value'];
/** What an order event says besides its envelope: the event and its facts. */
type EventFacts = Omit<OrderEventCommand, 'type' | 'key' | 'orderId' | 'eventId' | 'expectedState'>;

/** Where the benchmark store stands. */
export const STORE: GeoPoint = { lat: 52.52, lon: 13.405 };
export const START_AT_MS = Date.UTC(2026, 0, 5, 8, 0, 0);
/** Orders placed per step, and the step's length: 1,800 orders a day, a busy dark store. */
export const ORDERS_PER_STEP = 5;
export const STEP_MS = 4 * 60_000;
export const PICKERS = 3;
/** Each courier is busy about two steps per order (out, back): three times the orders of a step. */
export const COURIERS = 3 * ORDERS_PER_STEP;
/** Within a step: couriers move at its start, pick rounds follow, new orders come at the end. */
const PICK_START_MS = 30_000;
const PICK_ROUND_MS = 75_000;
/** From taking a task to packing it. */
const PICK_PACK_MS = 60_000;
const PICK_ROUNDS = Math.ceil(ORDERS_PER_STEP / PICKERS);
const PLACE_AT_MS = PICK_START_MS + PICK_ROUNDS * PICK_ROUND_MS;
/** Delivery addresses: a deterministic spiral between these distances from the store. */
const ADDRESS_KM_MIN = 0.5;
const ADDRESS_KM_MAX = 2;
const ADDRESSES = 64;
/** Lines per order alternate between two and three, distinct SKUs drawn from the workload's stream. */
const LINES_MIN = 2;
/** Steps of the drain that finishes the orders in flight (outside the timed window) before giving up. */
const DRAIN_STEPS_MAX = 16;

if (PLACE_AT_MS >= STEP_MS) throw new Error('the pick rounds of a step do not fit in the step');

const KM_PER_DEGREE_LAT = 111.32;

function addressRing(): GeoPoint[] {
  const goldenAngle = Math.PI * (3 - Math.sqrt(5));
  return Array.from({ length: ADDRESSES }, (_, i) => {
    const distanceKm = ADDRESS_KM_MIN + ((ADDRESS_KM_MAX - ADDRESS_KM_MIN) * i) / (ADDRESSES - 1);
    const angle = i * goldenAngle;
    return {
      lat: STORE.lat + (distanceKm * Math.cos(angle)) / KM_PER_DEGREE_LAT,
      lon: STORE.lon + (distanceKm * Math.sin(angle)) / (KM_PER_DEGREE_LAT * Math.cos((STORE.lat * Math.PI) / 180)),
    };
  });
}

/** `n` lines of distinct SKUs from the workload's stream (the engine refuses a SKU listed twice). */
export function orderLines(workload: Workload, n: number): QuantityLine[] {
  const lines: QuantityLine[] = [];
  while (lines.length < n) {
    const line = workload.nextLine();
    if (!lines.some((l) => l.sku === line.sku)) lines.push(line);
  }
  return lines;
}

/**
 * What a courier does next, as its app sees it: waiting at the store, riding to the store for an
 * order accepted on the way back, riding to the customer, or riding back.
 */
type CourierPhase = 'idle' | 'to_pickup' | 'to_customer' | 'returning';

interface BenchCourier {
  courierId: string;
  phase: CourierPhase;
  orderId?: string;
  /** Where the courier is (its last ping). */
  position: GeoPoint;
}

/** Counters of one driver, over every warehouse it used. */
export interface FloorCounts {
  placed: number;
  delivered: number;
  captured: number;
  commands: number;
  events: number;
  /** Interpolated `courier.moved` points among the events: the core bridges gaps between pings. */
  trackPoints: number;
  pings: number;
  warehouses: number;
}

/** The live command loop keeps no ledger (the snapshot writer does): the benchmark measures the same core. */
function newWarehouse(): Warehouse {
  return new Warehouse('W1', { recordLedger: false });
}

export class LifecycleFloor {
  private warehouse = newWarehouse();
  private atMs = START_AT_MS;
  private stepAtMs = START_AT_MS;
  private keySeq = 0;
  private orderSeq = 0;
  private readonly addresses = addressRing();
  private readonly setup: Command[];
  private couriers = new Map<string, BenchCourier>();
  /** Where each order in flight goes (the courier app learns it with the offer). */
  private readonly destinations = new Map<string, GeoPoint>();
  private offers: { orderId: string; courierId: string }[] = [];
  private authorizations: string[] = [];
  private captures: string[] = [];
  readonly counts: FloorCounts = {
    placed: 0,
    delivered: 0,
    captured: 0,
    commands: 0,
    events: 0,
    trackPoints: 0,
    pings: 0,
    warehouses: 0,
  };

  constructor(
    private readonly workload: Workload,
    private readonly ordersPerWarehouse: number,
  ) {
    this.setup = workload.setupCommands();
    this.open(this.warehouse);
  }

  /** A fresh warehouse: configured, stocked, with its pickers and couriers on shift. */
  private open(warehouse: Warehouse): void {
    this.warehouse = warehouse;
    // Setting the store up is not part of any order: its commands and events are not counted.
    const { commands, events } = this.counts;
    this.couriers = new Map();
    this.counts.warehouses++;
    this.send({ type: 'warehouse.configure', key: this.key(), location: STORE });
    for (const command of this.setup) this.send(command);
    for (let i = 0; i < PICKERS; i++) this.send({ type: 'picker.check_in', key: this.key(), pickerId: `p${i}` });
    for (let i = 0; i < COURIERS; i++) {
      const courierId = `c${i}`;
      this.send({ type: 'courier.check_in', key: this.key(), courierId, position: STORE });
      this.couriers.set(courierId, { courierId, phase: 'idle', position: STORE });
    }
    this.drain();
    this.counts.commands = commands;
    this.counts.events = events;
  }

  private key(): string {
    return `k${++this.keySeq}`;
  }

  /** Validates, stamps and applies one command as the runtime would; a refusal is a bug here. */
  private send(command: Command): Ok {
    const validated = validateCommand(command);
    if (!validated.ok) throw new Error(`${command.type} invalid: ${validated.error.message}`);
    const warehouse = this.warehouse;
    const result = warehouse.apply({ seq: warehouse.state.lastSeq + 1, atMs: this.atMs, command: validated.value });
    this.counts.commands++;
    if (!result.ok) throw new Error(`${command.type} refused: ${result.error.code} ${result.error.message}`);
    return result.value;
  }

  private orderEvent(orderId: string, expectedState: OrderEventCommand['expectedState'], facts: EventFacts): Ok {
    const key = this.key();
    return this.send({ type: 'order.event', key, orderId, eventId: key, expectedState, ...facts });
  }

  /** Takes the events of the phase, keeping what someone outside the core has to answer. */
  private drain(): void {
    const events = this.warehouse.drainEvents();
    this.counts.events += events.length;
    for (const event of events) {
      if (event.type === 'dispatch.offered') this.offers.push({ orderId: event.orderId, courierId: event.courierId });
      else if (event.type === 'courier.moved') {
        if (event.interpolated) this.counts.trackPoints++;
      } else if (event.type === 'order.effect') {
        if (event.effect === 'authorizePayment') this.authorizations.push(event.orderId);
        else if (event.effect === 'capturePayment') this.captures.push(event.orderId);
        else throw new Error(`unexpected effect ${event.effect} for ${event.orderId}`);
      }
    }
  }

  /** Answers what the drained events asked for, until nothing is left (an answer may raise more). */
  private settle(): void {
    this.drain();
    while (this.offers.length + this.authorizations.length + this.captures.length > 0) {
      const offers = this.offers;
      const authorizations = this.authorizations;
      const captures = this.captures;
      this.offers = [];
      this.authorizations = [];
      this.captures = [];
      for (const orderId of authorizations) {
        this.send({
          type: 'payment.outcome',
          key: this.key(),
          orderId,
          operation: 'authorize',
          outcome: 'succeeded',
          authorizationId: `auth-${orderId}`,
        });
      }
      for (const orderId of captures) {
        const paid = this.send({
          type: 'payment.outcome',
          key: this.key(),
          orderId,
          operation: 'capture',
          outcome: 'succeeded',
        });
        if (paid.kind !== 'payment' || !paid.applied) throw new Error(`capture of ${orderId} not applied`);
        this.counts.captured++;
      }
      for (const offer of offers) this.accept(offer.orderId, offer.courierId);
      this.drain();
    }
  }

  private courier(courierId: string): BenchCourier {
    const courier = this.couriers.get(courierId);
    if (courier === undefined) throw new Error(`unknown courier ${courierId}`);
    return courier;
  }

  /** The courier accepts at once (well inside the acknowledgement window); at the store, it takes the bags. */
  private accept(orderId: string, courierId: string): void {
    const courier = this.courier(courierId);
    if (courier.phase !== 'idle' && courier.phase !== 'returning') {
      throw new Error(`${courierId} offered ${orderId} while ${courier.phase}`);
    }
    this.orderEvent(orderId, 'courier_assigned', { event: 'courier.accepted', courierId });
    courier.orderId = orderId;
    if (courier.phase === 'idle') this.pickUp(courier, orderId);
    else courier.phase = 'to_pickup';
  }

  private pickUp(courier: BenchCourier, orderId: string): void {
    this.orderEvent(orderId, 'courier_assigned', { event: 'courier.picked_up', courierId: courier.courierId });
    courier.phase = 'to_customer';
  }

  private ping(courier: BenchCourier, position: GeoPoint): void {
    // The device clock is the warehouse's here: at most one ping per courier per step, so it rises.
    this.send({
      type: 'courier.ping',
      key: this.key(),
      courierId: courier.courierId,
      position,
      deviceTimeMs: this.atMs,
    });
    courier.position = position;
    this.counts.pings++;
  }

  /** A step has passed since the courier's last ping: it moved, and tells the warehouse where it is. */
  private move(courier: BenchCourier): void {
    const orderId = courier.orderId;
    if (courier.phase === 'to_customer' && orderId !== undefined) {
      const address = this.destinations.get(orderId) as GeoPoint;
      this.ping(courier, address);
      this.orderEvent(orderId, 'out_for_delivery', {
        event: 'delivery.completed',
        courierId: courier.courierId,
        position: address,
      });
      this.destinations.delete(orderId);
      delete courier.orderId;
      courier.phase = 'returning';
      this.counts.delivered++;
    } else if (courier.phase === 'to_pickup' && orderId !== undefined) {
      this.ping(courier, STORE);
      this.pickUp(courier, orderId);
    } else {
      // Back at the store (returning → available), or waiting there: a ping keeps it from going silent.
      this.ping(courier, STORE);
      courier.phase = 'idle';
    }
  }

  /** One pick round: every picker takes the oldest task, the lines are scanned, the orders packed. */
  private pickRound(atMs: number): number {
    this.atMs = atMs;
    const tasks: { orderId: string; lines: PickLine[] }[] = [];
    for (let i = 0; i < PICKERS; i++) {
      const taken = this.send({ type: 'pick.take', key: this.key(), pickerId: `p${i}` });
      if (taken.kind !== 'pick_task') throw new Error(`pick.take answered ${taken.kind}`);
      if (taken.task !== undefined) tasks.push(taken.task);
    }
    if (tasks.length === 0) return 0;
    // The pickers walk their lists side by side: scans of different orders interleave.
    for (let line = 0; tasks.some((t) => line < t.lines.length); line++) {
      for (const task of tasks) {
        const item = task.lines[line];
        if (item === undefined) continue;
        const scanned = this.orderEvent(task.orderId, 'picking', {
          event: 'pick.scanned',
          scanId: this.key(),
          sku: item.sku,
          quantity: item.quantity - item.picked,
        });
        if (scanned.kind !== 'order' || scanned.pick?.kind !== 'scanned') throw new Error('scan not accepted');
      }
    }
    this.atMs = atMs + PICK_PACK_MS;
    for (const task of tasks) {
      this.orderEvent(task.orderId, 'picking', { event: 'pack.completed', bagCount: 1, stagingSlot: 'S-1' });
    }
    // Packed orders are offered at once: the couriers answer before the next command.
    this.settle();
    return tasks.length;
  }

  private placeOrders(): void {
    for (let i = 0; i < ORDERS_PER_STEP; i++) {
      const n = ++this.orderSeq;
      const orderId = `o${n}`;
      const address = this.addresses[n % ADDRESSES] as GeoPoint;
      this.send({
        type: 'order.place',
        key: this.key(),
        orderId,
        customerId: `cust-${n % 997}`,
        address,
        lines: orderLines(this.workload, LINES_MIN + (n % 2)),
        paymentToken: `tok-${n}`,
        ttlMs: 600_000,
      });
      this.destinations.set(orderId, address);
      this.counts.placed++;
    }
    // The payment provider answers each hold.
    this.settle();
  }

  /** One step of virtual time: couriers move, pickers work, new orders come (unless draining). */
  step(placeOrders: boolean): void {
    this.stepAtMs += STEP_MS;
    this.atMs = this.stepAtMs;
    for (const courier of this.couriers.values()) this.move(courier);
    // A courier back at the store may be offered an order that waited; captures go out too.
    this.settle();
    for (let round = 0; round < PICK_ROUNDS; round++) {
      if (this.pickRound(this.stepAtMs + PICK_START_MS + round * PICK_ROUND_MS) === 0) break;
    }
    if (placeOrders) {
      this.atMs = this.stepAtMs + PLACE_AT_MS;
      this.placeOrders();
    }
  }

  /** Steps until every order placed is delivered and paid; throws if they do not get there. */
  finish(): void {
    for (let i = 0; i < DRAIN_STEPS_MAX && this.destinations.size > 0; i++) this.step(false);
    const c = this.counts;
    if (this.destinations.size > 0 || c.delivered !== c.placed || c.captured !== c.delivered) {
      throw new Error(`orders stuck: ${c.placed} placed, ${c.delivered} delivered, ${c.captured} captured`);
    }
  }

  /** Outside the timed window: a warehouse that has seen its share of orders is replaced. */
  recycle(): void {
    if (this.orderSeq < this.counts.warehouses * this.ordersPerWarehouse) return;
    this.finish();
    this.open(newWarehouse());
  }
}
