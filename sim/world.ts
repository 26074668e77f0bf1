/**
 * The simulated city, put together and run: the shelves, the customers, every store's pickers,
 * couriers and till, and the payment provider, all on one agenda of simulated time, playing against
 * an engine (embedded or over NATS). Routes the engine's committed events to whoever in the world
 * reacts to them, samples accuracy and utilization, and turns the run into a `SimReport`.
 */
import type { CancelReason, EngineEvent } from '../engine/index.ts';
import { seedCommands } from '../service/catalog-seed.ts';
import { Agenda } from './agenda.ts';
import { buildCity, type City, type SimWarehouse } from './city.ts';
import type { SimContext, SimOrder } from './context.ts';
import { CourierFleet } from './couriers.ts';
import type { SimEngine } from './engine-port.ts';
import { Metrics } from './metrics.ts';
import { type Partition, WHOLE_CITY } from './partition.ts';
import { PaymentDesk } from './payment-desk.ts';
import { PickerCrew } from './pickers.ts';
import { Random } from './random.ts';
import type { FaultRecord, SimReport } from './report-types.ts';
import type { Scenario } from './scenario.ts';
import { Shelves } from './shelves.ts';
import { Shoppers } from './shoppers.ts';
import { Till } from './tills.ts';

/** The run starts at midnight of this (simulated) day. */
export const SIM_START_MS = Date.UTC(2026, 10, 23, 0, 0, 0);
const HOUR_MS = 3_600_000;
const ACCURACY_EVERY_MS = 30 * 60_000;
const UTILIZATION_EVERY_MS = 10 * 60_000;
/** Simulated time between progress reports. */
const PROGRESS_STEP_MS = 15 * 60_000;

/** A reaction per event type: what the world does when a store commits such an event. */
type Reactions = {
  [T in EngineEvent['type']]?: (warehouseId: string, event: Extract<EngineEvent, { type: T }>) => void;
};

export interface WorldOptions {
  /** Called as simulated time passes (share done, 0..1). */
  onProgress?: (share: number) => void;
}

export class World {
  readonly ctx: SimContext;
  readonly city: City;
  private readonly crews = new Map<string, PickerCrew>();
  private readonly fleets = new Map<string, CourierFleet>();
  private readonly tills: Till[] = [];
  private readonly desk: PaymentDesk;
  private readonly shoppers: Shoppers;
  private readonly byId = new Map<string, SimWarehouse>();
  private keys = 0;
  /** When `begin` ran: midnight, or later in the day for a run over NATS. */
  private beganAtMs = SIM_START_MS;

  constructor(
    readonly scenario: Scenario,
    readonly engine: SimEngine,
    city?: City,
    agenda?: Agenda,
    /** This thread's part of a partitioned run (it plays only its stores); the whole city by default. */
    partition: Partition = WHOLE_CITY,
  ) {
    this.city = city ?? buildCity(scenario);
    const played = this.city.warehouses.filter((w) => partition.ownerOf(w.entry.id) === partition.index);
    for (const w of this.city.warehouses) this.byId.set(w.entry.id, w);
    const root = new Random(scenario.seed);
    const streams = new Map<number, Random>();
    const startMs = SIM_START_MS;
    const theAgenda = agenda ?? new Agenda(startMs);
    this.ctx = {
      scenario,
      city: this.city,
      played,
      partition,
      agenda: theAgenda,
      engine,
      shelves: new Shelves(),
      metrics: new Metrics(startMs),
      orders: new Map<string, SimOrder>(),
      startMs,
      warehouse: (id) => {
        const w = this.byId.get(id);
        if (w === undefined) throw new Error(`no warehouse ${id}`);
        return w;
      },
      // Each thread of a partitioned run counts its own keys: its number keeps them apart (a placement
      // key names a store, and either thread may place at any store).
      key:
        partition.count === 1
          ? (prefix) => `${prefix}-${++this.keys}`
          : (prefix) => `${prefix}${partition.index}-${++this.keys}`,
      random: (label) => {
        let stream = streams.get(label);
        if (stream === undefined) {
          stream = root.fork(label);
          streams.set(label, stream);
        }
        return stream;
      },
      hour: () => (theAgenda.nowMs - startMs) / HOUR_MS,
    };
    this.desk = new PaymentDesk(this.ctx);
    this.shoppers = new Shoppers(this.ctx);
    for (const w of played) {
      this.crews.set(w.entry.id, new PickerCrew(this.ctx, w));
      this.fleets.set(w.entry.id, new CourierFleet(this.ctx, w));
      this.tills.push(new Till(this.ctx, w));
    }
    engine.onEvents = (warehouseId, events) => this.onEvents(warehouseId, events);
    // The engine need not hand on events nobody here reacts to (most of a day's: courier moves, stock).
    engine.eventTypes = new Set(Object.keys(this.reactions) as EngineEvent['type'][]);
  }

  /** Orders one store expects per hour, as planned (spikes are not planned for). */
  private expectedPerHour(hour: number): number {
    const s = this.scenario;
    const total = s.hourlyProfile.reduce((a, b) => a + b, 0);
    return (s.ordersPerWarehouseDay * s.dayFactor * (s.hourlyProfile[Math.floor(hour) % 24] as number)) / total;
  }

  /** How the world reacts to each type of committed event it cares about. */
  private readonly reactions: Reactions = {
    'order.changed': (warehouseId, e) => this.orderChanged(warehouseId, e.orderId, e.state, e.reason),
    'pick.queued': (warehouseId, e) => {
      const order = this.ctx.orders.get(e.orderId);
      if (order !== undefined && !order.confirmed) {
        order.confirmed = true;
        this.ctx.metrics.accept(warehouseId);
      }
      this.crews.get(warehouseId)?.wake();
    },
    'order.effect': (warehouseId, e) => {
      // Over NATS the region's own effect executor calls its payment provider.
      if (this.engine.mode === 'embedded') this.desk.handle(warehouseId, e);
    },
    'dispatch.offered': (warehouseId, e) => {
      const order = this.ctx.orders.get(e.orderId);
      if (order !== undefined) this.fleets.get(warehouseId)?.offered(e.courierId, order);
    },
    'pick_pack.recorded': (_warehouseId, e) => this.ctx.metrics.pickPack(e.pickPackMs),
    'escalation.raised': (_warehouseId, e) => this.ctx.metrics.escalation(e.kind),
  };

  private onEvents(warehouseId: string, events: EngineEvent[]): void {
    const reactions = this.reactions as Partial<Record<EngineEvent['type'], (w: string, e: EngineEvent) => void>>;
    for (const event of events) reactions[event.type]?.(warehouseId, event);
  }

  private orderChanged(warehouseId: string, orderId: string, state: SimOrder['state'], reason?: CancelReason): void {
    const ctx = this.ctx;
    const order = ctx.orders.get(orderId);
    if (order === undefined) return;
    order.state = state;
    if (state === 'packed' && order.packedAtMs === undefined) order.packedAtMs = ctx.agenda.nowMs;
    if (order.done) return;
    const m = ctx.metrics;
    if (state === 'delivered' || state === 'partially_fulfilled') {
      order.done = true;
      if (state === 'delivered') m.delivered++;
      else m.partiallyFulfilled++;
      m.deliver(warehouseId, order.placedAtMs, ctx.agenda.nowMs, order.slaMs, order.address);
    } else if (state === 'cancelled') {
      order.done = true;
      // What was picked for it goes back on the shelf (the warehouse restocks it too).
      for (const [sku, units] of order.taken) ctx.shelves.put(warehouseId, sku, units);
      order.taken.clear();
      if (order.confirmed) m.cancelled++;
      // Never confirmed to the customer: a refusal, by the reason the engine gives for the cancel.
      else
        m.reject(
          reason === 'payment_declined' || reason === 'payment_unavailable' ? reason : 'cancelled_before_payment',
        );
    }
  }

  private sample(): void {
    const ctx = this.ctx;
    ctx.agenda.after(UTILIZATION_EVERY_MS, () => {
      let busy = 0;
      let onShift = 0;
      for (const fleet of this.fleets.values()) {
        const u = fleet.utilization();
        busy += u.busy;
        onShift += u.onShift;
      }
      ctx.metrics.sampleUtilization(ctx.agenda.nowMs, busy, onShift);
      this.sample();
    });
  }

  private sampleAccuracy(): void {
    const ctx = this.ctx;
    const atMs = ctx.agenda.nowMs;
    ctx.shelves.accuracy((equal, total) => ctx.metrics.sampleAccuracy(atMs, equal, total), true);
  }

  private scheduleAccuracy(): void {
    this.ctx.agenda.after(ACCURACY_EVERY_MS, () => {
      this.sampleAccuracy();
      this.scheduleAccuracy();
    });
  }

  /** When the run's simulated time ends. */
  get endMs(): number {
    return this.ctx.startMs + this.scenario.hours * HOUR_MS;
  }

  /** Sets every store up (the region's set-up commands, opening stock, staff) and starts the world. */
  begin(): void {
    const ctx = this.ctx;
    this.beganAtMs = ctx.agenda.nowMs;
    // A region process sets its warehouses up from its config itself.
    if (this.engine.mode === 'embedded') this.setUp();
    ctx.shelves.start(ctx);
    for (const w of ctx.played) {
      const perHour = (hour: number) => this.expectedPerHour(hour);
      this.crews.get(w.entry.id)?.start(perHour);
      this.fleets.get(w.entry.id)?.start(perHour);
    }
    for (const till of this.tills) till.start();
    this.shoppers.start();
    this.sample();
    // Over NATS the opening receipts are still on their way: the first sample waits its half hour.
    if (this.engine.mode === 'embedded') this.sampleAccuracy();
    this.scheduleAccuracy();
  }

  /** Plays the scenario's hours on the embedded engine (everything answers at once); returns the report. */
  run(options: WorldOptions = {}): SimReport {
    const started = performance.now();
    const part = this.runPart(options);
    return this.report((performance.now() - started) / 1000, part);
  }

  /** Plays the scenario's hours on the embedded engine and returns what this world measured. */
  runPart(options: WorldOptions = {}): WorldPart {
    const ctx = this.ctx;
    this.begin();
    const endMs = this.endMs;
    for (let t = ctx.startMs + PROGRESS_STEP_MS; ; t += PROGRESS_STEP_MS) {
      ctx.agenda.runUntil(Math.min(t, endMs));
      options.onProgress?.(Math.min(1, (t - ctx.startMs) / (endMs - ctx.startMs)));
      if (t >= endMs) break;
    }
    let part: WorldPart | undefined;
    this.finish((p) => {
      part = p;
    });
    if (part === undefined) throw new Error('the embedded engine answers at once: the report must be ready');
    return part;
  }

  /** The last accuracy sample, the check that nothing acknowledged was lost: what this world measured. */
  finish(done: (part: WorldPart) => void): void {
    const ctx = this.ctx;
    const atMs = ctx.agenda.nowMs;
    ctx.shelves.accuracy((equal, total, perStore) => {
      ctx.metrics.sampleAccuracy(atMs, equal, total);
      this.acknowledgedLost((lost) => done(this.part(lost, perStore)));
    }, true);
  }

  /** The report of this world alone (a run in one thread). */
  report(wallSeconds: number, part: WorldPart): SimReport {
    return reportOfParts(this.scenario, this.city, this.engine.mode, [part], wallSeconds, this.beganAtMs);
  }

  /** The same set-up commands a region process sends for its config (catalog and configuration). */
  private setUp(): void {
    for (const w of this.ctx.played) {
      for (const command of seedCommands(w.entry)) this.engine.send(w.entry.id, command);
    }
  }

  /**
   * Accepted orders the engine no longer knows, or knows in another final state than the one the
   * world saw it reach (a refund after delivery is fine).
   */
  private acknowledgedLost(done: (lost: number) => void): void {
    const byStore = new Map<string, SimOrder[]>();
    for (const order of this.ctx.orders.values()) {
      const list = byStore.get(order.warehouseId);
      if (list === undefined) byStore.set(order.warehouseId, [order]);
      else list.push(order);
    }
    let lost = 0;
    let waiting = byStore.size;
    if (waiting === 0) done(0);
    for (const [warehouseId, orders] of byStore) {
      this.engine.orderStates(
        warehouseId,
        orders.map((o) => o.orderId),
        (states) => {
          orders.forEach((order, i) => {
            const state = states[i];
            if (state === undefined || (order.done && state !== order.state && state !== 'refunded')) lost++;
          });
          if (--waiting === 0) done(lost);
        },
      );
    }
  }

  private part(lost: number, accuracy: Map<string, number>): WorldPart {
    let open = 0;
    let openPastSla = 0;
    const endMs = this.ctx.agenda.nowMs;
    for (const order of this.ctx.orders.values()) {
      if (!order.confirmed || order.done) continue;
      open++;
      if (endMs - order.placedAtMs > order.slaMs) openPastSla++;
    }
    return {
      metrics: this.ctx.metrics,
      acknowledgedLost: lost,
      accuracy,
      commands: this.engine.commands,
      open,
      openPastSla,
    };
  }
}

/**
 * What one world measured over its stores: the whole report of a run in one thread, or one thread's
 * share of a partitioned run (structured-clonable, for the thread's answer).
 */
export interface WorldPart {
  metrics: Metrics;
  acknowledgedLost: number;
  /** Each played store's accuracy at the last sample that could read its books. */
  accuracy: Map<string, number>;
  commands: number;
  /** Orders confirmed and not finished at the end, and those of them past their promise. */
  open: number;
  openPastSla: number;
}

/** The report of a run from what its worlds measured (one world, or each thread's of a partitioned run). */
export function reportOfParts(
  scenario: Scenario,
  city: City,
  mode: SimEngine['mode'],
  parts: readonly WorldPart[],
  wallSeconds: number,
  beganAtMs = SIM_START_MS,
): SimReport {
  const metrics = new Metrics(SIM_START_MS);
  const accuracy = new Map<string, number>();
  let commands = 0;
  let lost = 0;
  let open = 0;
  let openPastSla = 0;
  for (const part of parts) {
    metrics.absorb(part.metrics);
    for (const [id, share] of part.accuracy) accuracy.set(id, share);
    commands += part.commands;
    lost += part.acknowledgedLost;
    open += part.open;
    openPastSla += part.openPastSla;
  }
  return metrics.toReport({
    scenario: scenario.name,
    seed: scenario.seed,
    mode,
    warehouses: scenario.warehouses,
    hours: scenario.hours,
    acknowledgedLost: lost,
    faults: faultsOf(scenario, mode, beganAtMs),
    commands,
    wallSeconds: Math.round(wallSeconds * 100) / 100,
    open,
    openPastSla,
    sites: city.warehouses.map((w) => ({
      id: w.entry.id,
      lat: w.entry.location.lat,
      lon: w.entry.location.lon,
      radiusKm: w.entry.radiusKm,
      slaMinutes: w.entry.slaMinutes,
      accuracy: accuracy.get(w.entry.id) ?? 1,
    })),
  });
}

/** The faults the scenario injects within the run's hours (a run over NATS may begin late). */
function faultsOf(s: Scenario, mode: SimEngine['mode'], beganAtMs: number): FaultRecord[] {
  const faults: FaultRecord[] = [];
  const add = (kind: string, window: { fromHour: number; toHour: number } | undefined, detail: string) => {
    const began = (beganAtMs - SIM_START_MS) / HOUR_MS;
    if (window !== undefined && window.fromHour < s.hours && window.toHour > began) {
      faults.push({
        kind,
        fromMinute: window.fromHour * 60,
        toMinute: Math.min(s.hours, window.toHour) * 60,
        detail,
      });
    }
  };
  add('payment_outage', s.payments.outage, 'the payment provider answers nothing');
  add('courier_offline', s.couriers.massOffline, 'every courier app is down');
  add('pos_outage', s.tills.outage, 'the tills’ feed is down; the backlog follows');
  // Only a run over NATS has a region process to kill.
  if (mode === 'nats') add('region_kill', s.regionKill, 'the region process is killed (SIGKILL) and restarted');
  for (const spike of s.spikes) add(spike.kind, spike, `demand ×${spike.factor}`);
  return faults;
}
