/**
 * The engine the simulator plays against when no NATS is given: one real `Warehouse` core per store
 * in this process, fed through the same boundary check (`validateCommand`) a request passes, stamped
 * with the simulated clock, and ticked at each warehouse's next deadline as the runtime's timer
 * would. Checkout picks the store with the region's own rules (spatial index, `judgeCandidate`,
 * `rankCandidates`, next candidate on a lost race). Answers come back at once; committed events
 * follow at the same simulated instant, after whatever is running now (as a stream delivers them).
 */
import { orderStateOf } from '../actors/index.ts';
import {
  availableOf,
  type Command,
  type EngineEvent,
  type GeoPoint,
  type OrderPlaceCommand,
  type QuantityLine,
  type Result,
  unavailable,
  validateCommand,
  Warehouse,
} from '../engine/index.ts';
import { placementKey } from '../service/checkout.ts';
import {
  type CandidateReport,
  judgeCandidate,
  missingLines,
  placementRefusal,
  rankCandidates,
} from '../service/checkout-choice.ts';
import { SpatialIndex, type SpatialItem, type SpatialMatch } from '../service/spatial-index.ts';
import type { Agenda } from './agenda.ts';
import type { City } from './city.ts';
import type { Books, CheckoutAnswer, SimEngine } from './engine-port.ts';
import { type Partition, WHOLE_CITY } from './partition.ts';
import type { PartitionLink } from './partition-link.ts';

interface Site extends SpatialItem {
  slaMinutes: number;
}

interface Hosted {
  warehouse: Warehouse;
  /** When a tick is already on the agenda for this warehouse. */
  tickAtMs: number;
}

export class EmbeddedEngine implements SimEngine {
  readonly mode = 'embedded' as const;
  onEvents: (warehouseId: string, events: EngineEvent[]) => void = () => {};
  eventTypes?: ReadonlySet<EngineEvent['type']>;
  commands = 0;
  private readonly hosted = new Map<string, Hosted>();
  private readonly index: SpatialIndex<Site>;

  constructor(
    city: City,
    private readonly agenda: Agenda,
    /** Which stores this engine hosts (all of them unless the run is partitioned). */
    private readonly partition: Partition = WHOLE_CITY,
  ) {
    const sites: Site[] = [];
    for (const w of city.warehouses) {
      if (partition.ownerOf(w.entry.id) === partition.index) {
        // No ledger outbox: nothing here drains it (the runtime's snapshot writer is what stores the ledger).
        const warehouse = new Warehouse(w.entry.id, { recordLedger: false });
        this.hosted.set(w.entry.id, { warehouse, tickAtMs: Number.POSITIVE_INFINITY });
      }
      // Every store is a candidate, hosted here or by the other thread of a partitioned run.
      sites.push({
        id: w.entry.id,
        location: w.entry.location,
        radiusKm: w.entry.radiusKm,
        slaMinutes: w.entry.slaMinutes,
      });
    }
    this.index = new SpatialIndex(sites);
  }

  warehouse(warehouseId: string): Warehouse {
    const hosted = this.hosted.get(warehouseId);
    if (hosted === undefined) throw new Error(`no warehouse ${warehouseId}`);
    return hosted.warehouse;
  }

  send(warehouseId: string, command: Command, done?: (result: Result) => void): void {
    const result = this.apply(warehouseId, command);
    if (done !== undefined) done(result);
  }

  /** Validates, stamps and applies one command now; hands its events on and keeps the timer due. */
  private apply(warehouseId: string, input: unknown): Result {
    const hosted = this.hosted.get(warehouseId);
    if (hosted === undefined) throw new Error(`no warehouse ${warehouseId}`);
    const validated = validateCommand(input);
    if (!validated.ok) return validated;
    const w = hosted.warehouse;
    this.commands++;
    const result = w.apply({ seq: w.state.lastSeq + 1, atMs: this.agenda.nowMs, command: validated.value });
    const events = this.worldEvents(w.drainEvents());
    this.scheduleTick(warehouseId, hosted);
    // Events reach the world after the answer, as from a stream: never inside another reaction.
    if (events.length > 0) this.agenda.after(0, () => this.onEvents(warehouseId, events));
    return result;
  }

  /**
   * The events the world reacts to (all of them unless it said which): most commands of a day (GPS
   * uploads, scans) commit only events nobody in the simulated city acts on (a courier moved, stock
   * changed), and the world is not woken for them.
   */
  private worldEvents(events: EngineEvent[]): EngineEvent[] {
    const types = this.eventTypes;
    if (types === undefined || events.length === 0) return events;
    let wanted = 0;
    for (const event of events) if (types.has(event.type)) wanted++;
    return wanted === events.length ? events : events.filter((event) => types.has(event.type));
  }

  private scheduleTick(warehouseId: string, hosted: Hosted): void {
    const due = hosted.warehouse.nextDeadlineMs();
    if (due === undefined || due >= hosted.tickAtMs) return;
    hosted.tickAtMs = due;
    this.agenda.at(due, () => {
      if (hosted.tickAtMs !== due) return;
      hosted.tickAtMs = Number.POSITIVE_INFINITY;
      // A deadline that moved on since (a courier heard from, an order answered) needs no tick now.
      const next = hosted.warehouse.nextDeadlineMs();
      if (next !== undefined && next <= this.agenda.nowMs) this.apply(warehouseId, { type: 'tick' });
      else this.scheduleTick(warehouseId, hosted);
    });
  }

  checkout(order: OrderPlaceCommand, done: (answer: CheckoutAnswer) => void): void {
    const matches = this.index.covering(order.address);
    const elsewhere = matches.filter((m) => !this.hosted.has(m.item.id)).map((m) => m.item.id);
    const link = elsewhere.length === 0 ? undefined : this.partition.link;
    if (elsewhere.length > 0 && link === undefined) throw new Error(`no thread plays ${elsewhere.join(', ')}`);
    const judged = new Map<string, CandidateReport>();
    for (const m of matches) if (this.hosted.has(m.item.id)) judged.set(m.item.id, this.judge(order, m));
    if (link !== undefined) {
      const answer = link.call({ op: 'judge', orderId: order.orderId, order, warehouseIds: elsewhere }, 'judged');
      for (const report of answer.reports) judged.set(report.warehouseId, report);
    }
    // In the index's order whoever judged them, so a partitioned run ranks exactly as a whole one.
    const reports = matches.map((m) => judged.get(m.item.id) as CandidateReport);
    let placedElsewhere: { warehouseId: string; lines: OrderPlaceCommand['lines'] } | undefined;
    const answer = ((): CheckoutAnswer => {
      for (const report of rankCandidates(reports)) {
        const command = { ...order, key: placementKey(order.key, report.warehouseId) };
        const result = this.hosted.has(report.warehouseId)
          ? this.apply(report.warehouseId, command)
          : (link as PartitionLink).call(
              { op: 'place', orderId: order.orderId, warehouseId: report.warehouseId, command },
              'placed',
            ).result;
        if (result.ok && result.value.kind === 'order') {
          report.reason = 'chosen';
          if (!this.hosted.has(report.warehouseId)) {
            placedElsewhere = { warehouseId: report.warehouseId, lines: order.lines };
          }
          return {
            ok: true,
            warehouseId: report.warehouseId,
            promisedAtMs: result.value.promisedAtMs,
            candidates: reports,
          };
        }
        const error = result.ok ? unavailable(`unexpected answer ${result.value.kind}`) : result.error;
        // The same verdict as the region's checkout: the next candidate, or the request's own fault.
        if (placementRefusal(report, error) === 'stop') return { ok: false, code: error.code, candidates: reports };
      }
      return { ok: false, code: 'NO_FULFILLMENT_CENTER', candidates: reports };
    })();
    link?.send(
      placedElsewhere === undefined
        ? { op: 'done', orderId: order.orderId }
        : { op: 'done', orderId: order.orderId, placed: placedElsewhere },
    );
    done(answer);
  }

  /** A hosted candidate judged for the order: range, stock and the SLA its quote promises. */
  private judge(order: OrderPlaceCommand, m: SpatialMatch<Site>): CandidateReport {
    const w = this.warehouse(m.item.id);
    return judgeCandidate(
      { warehouseId: m.item.id, distanceKm: m.distanceKm, radiusKm: m.item.radiusKm, slaMinutes: m.item.slaMinutes },
      missingLines(order.lines, w.availability(order.lines.map((l) => l.sku))),
      w.quote(order.address),
      order.allowSubstitutes === true,
    );
  }

  /**
   * A partitioned run: the other thread leads a checkout for a customer at `address` (its shopper).
   * When this thread hosts some of the candidates, it answers the leader's calls about them (judge,
   * place) until the checkout is over, at the same simulated instant; returns the store of its own
   * the order was placed at, if one. Hosting none, it has no part in it.
   */
  serveCheckout(orderId: string, address: GeoPoint): { warehouseId: string; lines: QuantityLine[] } | undefined {
    const link = this.partition.link;
    const matches = this.index.covering(address);
    if (link === undefined || !matches.some((m) => this.hosted.has(m.item.id))) return undefined;
    for (;;) {
      const message = link.receive();
      if (message.orderId !== orderId)
        throw new Error(`partition link: ${message.op} for ${message.orderId} during ${orderId}`);
      switch (message.op) {
        case 'judge': {
          const reports = message.warehouseIds.map((id) => {
            const m = matches.find((x) => x.item.id === id);
            if (m === undefined || !this.hosted.has(id)) throw new Error(`partition link: ${id} is no candidate here`);
            return this.judge(message.order, m);
          });
          link.send({ op: 'judged', orderId, reports });
          break;
        }
        case 'place':
          link.send({ op: 'placed', orderId, result: this.apply(message.warehouseId, message.command) });
          break;
        case 'done':
          return message.placed;
        default:
          throw new Error(`partition link: unexpected ${message.op}`);
      }
    }
  }

  available(warehouseId: string, sku: string): number {
    const record = this.warehouse(warehouseId).state.skus.get(sku);
    return record === undefined ? 0 : availableOf(record);
  }

  books(warehouseId: string, done: (onHand: Books) => void): void {
    const skus = this.warehouse(warehouseId).state.skus;
    done((sku) => skus.get(sku)?.onHand);
  }

  auditPlacement(warehouseId: string, orderId: string, done: (oversoldUnits: number) => void): void {
    const order = this.warehouse(warehouseId).state.orders.get(orderId);
    if (order === undefined) done(0);
    else this.auditReservation(warehouseId, order.reservationId, done);
  }

  /**
   * Units of a reservation just accepted that the store did not have free: measured against the
   * engine's counter and against the units the open reservations themselves hold, summed, so that a
   * counter drifted from them cannot hide an oversell.
   */
  auditReservation(warehouseId: string, reservationId: string, done: (oversoldUnits: number) => void): void {
    const state = this.warehouse(warehouseId).state;
    let oversold = 0;
    for (const line of state.reservations.get(reservationId)?.lines ?? []) {
      const record = state.skus.get(line.sku);
      if (record === undefined) continue;
      let held = 0;
      for (const id of state.holdsBySku.get(line.sku) ?? []) {
        for (const l of state.reservations.get(id)?.lines ?? []) if (l.sku === line.sku) held += l.quantity;
      }
      const available = Math.min(availableOf(record), record.onHand - held - record.safetyStock);
      if (available < 0) oversold += Math.min(line.quantity, -available);
    }
    done(oversold);
  }

  orderStates(warehouseId: string, orderIds: readonly string[], done: (states: (string | undefined)[]) => void): void {
    const orders = this.warehouse(warehouseId).state.orders;
    done(
      orderIds.map((id) => {
        const order = orders.get(id);
        return order === undefined ? undefined : orderStateOf(order.lifecycle.value);
      }),
    );
  }
}
