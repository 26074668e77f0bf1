/**
 * The couriers of one store: shifts sized to the expected demand; each courier's app recording a
 * GPS point every 5–10 s with noise (and coverage gaps) and uploading them in batches; answers to
 * dispatch offers (accept, decline, or none); the trip to the customer and back; customers not at
 * home (left at the door or brought back); apps that go silent, breakdowns on the road, and an app
 * outage for every courier at once. Only the physical trip is simulated: the engine learns of it
 * from what the app sends.
 */
import type { OrderState } from '../actors/index.ts';
import type { Command, CourierPingCommand, GeoPoint, Result } from '../engine/index.ts';
import { haversineKm } from '../engine/index.ts';
import { offsetKm, type SimWarehouse } from './city.ts';
import type { SimContext, SimOrder } from './context.ts';
import type { Random } from './random.ts';
import { scheduleShifts } from './shifts.ts';

const HOUR_MS = 3_600_000;
const SHIFT_HOURS = 4;
/** Roads are longer than the straight line. */
const ROAD_FACTOR = 1.3;
/** Handing the bags over at the store. */
const HANDOVER_S = { min: 20, max: 60 };
/** Waiting at the door for a customer who does not open. */
const DOOR_WAIT_S = { min: 120, max: 300 };
/** How long an app that went silent stays silent. */
const SILENT_S = { min: 360, max: 600 };

type Doing = 'idle' | 'to_store' | 'at_store' | 'to_customer' | 'at_door' | 'returning' | 'off';

interface Trip {
  from: GeoPoint;
  to: GeoPoint;
  startMs: number;
  endMs: number;
}

interface Courier {
  id: string;
  doing: Doing;
  position: GeoPoint;
  speedKmh: number;
  order?: SimOrder;
  trip?: Trip;
  /** The order is a handover: the customer is next, not the store. */
  handover: boolean;
  /** Bags brought back from a customer who was not at home. */
  carryingBack?: SimOrder;
  /** Recorded points not uploaded yet. */
  points: { position: GeoPoint; deviceTimeMs: number }[];
  lastDeviceMs: number;
  /** A coverage gap: no points are recorded from `gapFromMs` until `gapUntilMs`. */
  gapFromMs: number;
  gapUntilMs: number;
  /** The app is down until then (nothing is sent; commands wait in the outbox). */
  silentUntilMs: number;
  outbox: { command: Command; done?: (r: Result) => void }[];
  leaving: boolean;
}

export class CourierFleet {
  private readonly random: Random;
  private readonly couriers = new Map<string, Courier>();
  private hired = 0;

  constructor(
    private readonly ctx: SimContext,
    private readonly w: SimWarehouse,
  ) {
    this.random = ctx.random(200 + w.index);
  }

  private get id(): string {
    return this.w.entry.id;
  }

  private get store(): GeoPoint {
    return this.w.entry.location;
  }

  /** Couriers per 4-hour shift (riders work short, staggered shifts): enough for the busiest hour, at least one. */
  start(expectedPerHour: (hour: number) => number): void {
    const s = this.ctx.scenario;
    scheduleShifts(this.ctx, SHIFT_HOURS, expectedPerHour, s.couriers.deliveriesPerHour, (staff) =>
      this.changeShift(staff),
    );
    const mass = s.couriers.massOffline;
    if (mass !== undefined) {
      this.ctx.agenda.at(this.ctx.startMs + mass.fromHour * HOUR_MS, () => {
        for (const c of this.couriers.values()) {
          if (c.doing !== 'off') c.silentUntilMs = Math.round(this.ctx.startMs + mass.toHour * HOUR_MS);
        }
      });
    }
  }

  /** On-shift couriers that are busy (not parked at the store), and all on shift. */
  utilization(): { busy: number; onShift: number } {
    let busy = 0;
    let onShift = 0;
    for (const c of this.couriers.values()) {
      if (c.doing === 'off') continue;
      onShift++;
      // Out on a delivery or on the way back from one: only a courier parked at the store is free.
      if (c.doing !== 'idle') busy++;
    }
    return { busy, onShift };
  }

  private changeShift(staff: number): void {
    for (const c of this.couriers.values()) {
      c.leaving = true;
      if (c.doing === 'idle') this.checkOut(c);
    }
    const s = this.ctx.scenario.couriers;
    for (let i = 0; i < staff; i++) {
      const c: Courier = {
        id: `${this.id}-c${++this.hired}`,
        doing: 'idle',
        position: this.store,
        speedKmh: this.random.between(s.speedKmh.min, s.speedKmh.max),
        handover: false,
        points: [],
        lastDeviceMs: 0,
        gapFromMs: 0,
        gapUntilMs: 0,
        silentUntilMs: 0,
        outbox: [],
        leaving: false,
      };
      this.couriers.set(c.id, c);
      this.send(c, { type: 'courier.check_in', key: this.ctx.key('ci'), courierId: c.id, position: this.store });
      this.heartbeat(c);
    }
    for (const [id, c] of this.couriers) if (c.doing === 'off') this.couriers.delete(id);
  }

  private checkOut(c: Courier): void {
    c.doing = 'off';
    this.send(c, { type: 'courier.check_out', key: this.ctx.key('co'), courierId: c.id });
  }

  /** A parked courier's app reports its place now and then, so the courier is still heard from. */
  private heartbeat(c: Courier): void {
    this.ctx.agenda.after(this.ctx.scenario.couriers.idlePingSeconds * 1000 * this.random.between(0.8, 1.1), () => {
      if (c.doing === 'off') return;
      // Parked, waiting at the store or at a door: the app still says where it is now and then.
      if (c.doing === 'idle' || c.doing === 'at_store' || c.doing === 'at_door') {
        this.record(c, c.position);
        this.upload(c);
      }
      this.heartbeat(c);
    });
  }

  /** Sends now, or keeps it for later while the app is down (an app outage loses nothing it queued). */
  private send(c: Courier, command: Command, done?: (r: Result) => void): void {
    if (this.ctx.agenda.nowMs < c.silentUntilMs) {
      if (c.outbox.length === 0) this.ctx.agenda.at(c.silentUntilMs, () => this.backOnline(c));
      c.outbox.push(done === undefined ? { command } : { command, done });
      return;
    }
    this.ctx.engine.send(this.id, command, done);
  }

  /** The app is back: checks in again (the engine may have taken it offline), then sends what waited. */
  private backOnline(c: Courier): void {
    if (this.ctx.agenda.nowMs < c.silentUntilMs) {
      // The silence was extended (a mass outage began meanwhile): back only when it ends. (The
      // agenda runs on whole milliseconds, and so does every `silentUntilMs`.)
      this.ctx.agenda.at(c.silentUntilMs, () => this.backOnline(c));
      return;
    }
    const queued = c.outbox.splice(0);
    this.ctx.engine.send(this.id, {
      type: 'courier.check_in',
      key: this.ctx.key('ci'),
      courierId: c.id,
      position: c.position,
    });
    for (const { command, done } of queued) this.ctx.engine.send(this.id, command, done);
  }

  /** The app records a GPS point (with noise) taken at `atMs`, unless coverage was gone then. */
  private record(c: Courier, at: GeoPoint, atMs = this.ctx.agenda.nowMs): void {
    if ((atMs >= c.gapFromMs && atMs < c.gapUntilMs) || atMs <= c.lastDeviceMs) return;
    const noiseKm = this.ctx.scenario.couriers.gpsNoiseM / 1000;
    const position = offsetKm(at, this.random.normal(0, noiseKm), this.random.normal(0, noiseKm));
    c.points.push({ position, deviceTimeMs: atMs });
    c.lastDeviceMs = atMs;
  }

  /** Uploads the recorded points in one ping: the newest as its position, the earlier ones as its trail. */
  private upload(c: Courier): void {
    const newest = c.points.pop();
    if (newest === undefined) return;
    const command: CourierPingCommand = {
      type: 'courier.ping',
      key: this.ctx.key('gp'),
      courierId: c.id,
      position: newest.position,
      deviceTimeMs: newest.deviceTimeMs,
    };
    if (c.points.length > 0) command.trail = c.points.splice(0);
    this.send(c, command);
  }

  /** Moves along a straight line at the courier's speed (roads make it longer), recording points. */
  private travel(c: Courier, to: GeoPoint, doing: Doing, arrived: () => void): void {
    const s = this.ctx.scenario.couriers;
    const km = haversineKm(c.position, to) * ROAD_FACTOR;
    const now = this.ctx.agenda.nowMs;
    const trip: Trip = { from: c.position, to, startMs: now, endMs: now + Math.round((km / c.speedKmh) * HOUR_MS) };
    c.trip = trip;
    c.doing = doing;
    if (this.random.chance(s.gapRate)) {
      c.gapFromMs = this.random.between(trip.startMs, trip.endMs);
      c.gapUntilMs = c.gapFromMs + this.random.between(30_000, 120_000);
    }
    // The app records a point every 5–10 s and uploads every `uploadSeconds`: the world wakes the
    // courier only at uploads and fills in the points recorded since (the same points, fewer wake-ups).
    let nextPointMs = now;
    const where = (t: number): GeoPoint => {
      const share = trip.endMs <= trip.startMs ? 1 : Math.min(1, (t - trip.startMs) / (trip.endMs - trip.startMs));
      return {
        lat: trip.from.lat + (trip.to.lat - trip.from.lat) * share,
        lon: trip.from.lon + (trip.to.lon - trip.from.lon) * share,
      };
    };
    const wake = () => {
      if (c.trip !== trip) return;
      const t = this.ctx.agenda.nowMs;
      for (
        ;
        nextPointMs < t;
        nextPointMs += Math.round(this.random.between(s.pingSeconds.min, s.pingSeconds.max) * 1000)
      ) {
        this.record(c, where(nextPointMs), nextPointMs);
      }
      c.position = where(t);
      this.record(c, c.position, t);
      if (t >= trip.endMs) {
        c.trip = undefined;
        this.upload(c);
        arrived();
        return;
      }
      this.upload(c);
      this.ctx.agenda.at(Math.min(trip.endMs, t + s.uploadSeconds * 1000), wake);
    };
    this.ctx.agenda.after(0, wake);
  }

  /** The warehouse offered this courier an order (a `dispatch.offered` event). */
  offered(courierId: string, order: SimOrder): void {
    const c = this.couriers.get(courierId);
    const s = this.ctx.scenario.couriers;
    if (c === undefined || c.doing === 'off' || this.ctx.agenda.nowMs < c.silentUntilMs) return;
    if (this.random.chance(s.missedAckRate)) return;
    const decline = this.random.chance(s.declineRate) || c.leaving;
    this.ctx.agenda.after(this.random.between(s.ackSeconds.min, s.ackSeconds.max) * 1000, () => {
      const expected = order.state;
      if (expected !== 'courier_assigned' && expected !== 'out_for_delivery') return;
      if (decline) {
        this.orderEvent(c, order, expected, 'courier.declined');
        return;
      }
      const handover = expected === 'out_for_delivery';
      this.orderEvent(c, order, expected, 'courier.accepted', {}, (result) => {
        if (!result.ok) return;
        if (!handover && order.packedAtMs !== undefined && !order.courierAssignCounted) {
          // From packed to the first courier who took it (a re-dispatch does not count again).
          order.courierAssignCounted = true;
          this.ctx.metrics.courierAssigned(this.ctx.agenda.nowMs - order.packedAtMs);
        }
        c.order = order;
        c.handover = handover;
        order.courierId = c.id;
        if (!handover && this.random.chance(s.silentRate)) {
          // The app dies after accepting: the warehouse hears nothing and gives the order to another.
          c.silentUntilMs = this.ctx.agenda.nowMs + Math.round(this.random.between(SILENT_S.min, SILENT_S.max) * 1000);
          c.order = undefined;
          c.trip = undefined;
          c.doing = 'idle';
          return;
        }
        if (handover) this.travel(c, order.address, 'to_customer', () => this.atDoor(c, order));
        else if (c.doing === 'idle' || c.doing === 'at_store') this.pickUp(c, order);
        else this.travel(c, this.store, 'to_store', () => this.pickUp(c, order));
      });
    });
  }

  private pickUp(c: Courier, order: SimOrder): void {
    c.doing = 'at_store';
    this.arriveAtStore(c);
    this.ctx.agenda.after(this.random.between(HANDOVER_S.min, HANDOVER_S.max) * 1000, () => {
      if (order.state !== 'courier_assigned' || order.courierId !== c.id) {
        this.free(c);
        return;
      }
      this.orderEvent(c, order, 'courier_assigned', 'courier.picked_up', {}, (result) => {
        if (!result.ok) {
          this.free(c);
          return;
        }
        this.travel(c, order.address, 'to_customer', () => this.atDoor(c, order));
        if (this.random.chance(this.ctx.scenario.couriers.breakdownRate)) {
          this.ctx.agenda.after(this.random.between(30_000, 180_000), () => this.breakDown(c, order));
        }
      });
    });
  }

  /** The vehicle breaks down on the way: reported; another courier takes the order over. */
  private breakDown(c: Courier, order: SimOrder): void {
    if (c.order !== order || c.doing !== 'to_customer') return;
    c.trip = undefined;
    c.order = undefined;
    this.send(c, { type: 'courier.breakdown', key: this.ctx.key('bd'), courierId: c.id });
    // Pushes the vehicle back; off shift for the day.
    c.doing = 'off';
  }

  private atDoor(c: Courier, order: SimOrder): void {
    const s = this.ctx.scenario.couriers;
    c.doing = 'at_door';
    const notHome = this.random.chance(s.notHomeRate);
    const wait = notHome
      ? this.random.between(DOOR_WAIT_S.min, DOOR_WAIT_S.max) * 1000
      : this.random.between(20_000, 60_000);
    this.ctx.agenda.after(wait, () => {
      const near = offsetKm(order.address, this.random.normal(0, 0.01), this.random.normal(0, 0.01));
      if (notHome && !this.random.chance(s.safeDropShare)) {
        this.orderEvent(c, order, 'out_for_delivery', 'delivery.returned', { reason: 'customer_not_home' }, (r) => {
          if (r.ok) c.carryingBack = order;
        });
      } else {
        this.orderEvent(c, order, 'out_for_delivery', 'delivery.completed', { position: near, safeDrop: notHome });
      }
      c.order = undefined;
      this.travel(c, this.store, 'returning', () => {
        c.doing = 'idle';
        this.arriveAtStore(c);
        this.free(c);
      });
    });
  }

  /** Back at the store: bags brought back go on the shelf. */
  private arriveAtStore(c: Courier): void {
    const back = c.carryingBack;
    if (back === undefined) return;
    c.carryingBack = undefined;
    for (const [sku, units] of back.taken) this.ctx.shelves.put(this.id, sku, units);
    back.taken.clear();
  }

  /** Parked at the store with nothing to do (the order, if any, went to someone else or is done). */
  private free(c: Courier): void {
    c.order = undefined;
    c.doing = 'idle';
    if (c.leaving) this.checkOut(c);
  }

  private orderEvent(
    c: Courier,
    order: SimOrder,
    expectedState: OrderState,
    event: 'courier.accepted' | 'courier.declined' | 'courier.picked_up' | 'delivery.completed' | 'delivery.returned',
    facts: Record<string, unknown> = {},
    done?: (r: Result) => void,
  ): void {
    const command = {
      type: 'order.event',
      key: this.ctx.key('ce'),
      orderId: order.orderId,
      eventId: this.ctx.key('ev'),
      expectedState,
      event,
      courierId: c.id,
      ...facts,
    } as Command;
    this.send(c, command, done);
  }
}
