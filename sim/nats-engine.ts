/**
 * The engine the simulator plays against over NATS: `darkstore serve` processes hosting the city's
 * warehouses, reached through the typed client (commands, queries) and the region's checkout
 * subject. Every answer arrives later, in its own turn of the event loop; the world continues in the
 * callbacks. Committed events come from a core NATS subscription to the region's event subjects.
 *
 * What it keeps: a mirror of every SKU's availability (what the shopper app shows), seeded by an
 * `availability` query at start and kept from `availability.changed` events (versioned: an older
 * version never overwrites a newer one); the last event seen per warehouse and event type, so that
 * events published again (after a recovery or a broken connection) are handed to the world once; a
 * bounded sample of acknowledged commands to look up by key at the end; and counts of what went
 * unanswered.
 *
 * An unanswered command (no reply after the client's retries: the region was down longer than they
 * last) reaches the world as refused (UNAVAILABLE), like any refusal: the world moves on and never
 * retries it. It may still have been applied (the reply, not the command, may be what was lost); the
 * retries carried the same idempotency key, so never twice. Such failures are counted by type.
 *
 * Owns the subscription and the bookkeeping above; never opens or closes the NATS connection.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { type CallOptions, DarkstoreClient, type WarehouseClient } from '../client/index.ts';
import {
  type Availability,
  type Command,
  type EngineEvent,
  limits,
  type OrderPlaceCommand,
  type Reservation,
  type Result,
  unavailable,
} from '../engine/index.ts';
import { eventsOf } from '../protocol/index.ts';
import type { CandidateReport } from '../service/checkout-choice.ts';
import { decodeEventMessage, type EventEnvelope } from '../service/event-messages.ts';
import { AcknowledgedSample } from './acknowledged-sample.ts';
import type { City } from './city.ts';
import type { Books, CheckoutAnswer, SimEngine } from './engine-port.ts';
import { Random } from './random.ts';
import { SeenEvents } from './seen-events.ts';

/** An event as it arrived, and whether its message was published again. */
interface Arrival {
  envelope: EventEnvelope;
  replayed: boolean;
}

/** SKUs per `availability` query (within QUERY_SKUS_MAX, and a reply far below NATS's 1 MB). */
export const AVAILABILITY_CHUNK_SKUS = Math.min(limits.QUERY_SKUS_MAX, 2_000);
/** `order` queries in flight at once when the world asks for many orders' states. */
export const ORDER_QUERIES_IN_FLIGHT_MAX = 32;
/** Acknowledged commands kept per warehouse to look up at the end (a uniform sample of them all). */
export const ACK_SAMPLE_PER_WAREHOUSE = 256;
/** Command types whose acknowledgements are sampled: they move stock or an order. */
const ACK_CHECKED_TYPES = new Set(['receipt', 'adjust', 'count', 'pos.sale', 'order.event']);
/**
 * The client's policy for the simulator: a retry rides out a region restart (about a second or
 * two, plus the directory noticing), so that the world sees a slow answer rather than a refusal.
 */
export const SIM_REQUEST_POLICY = { requestTimeoutMs: 5_000, retries: 12, backoffMs: 100, backoffMaxMs: 1_000 };
/** A checkout asks several warehouses and places at one (up to 5 s): its attempt waits longer. */
const CHECKOUT_CALL: CallOptions = { timeoutMs: 15_000 };

export interface NatsEngineOptions {
  nc: NatsConnection;
  region: string;
  city: City;
  /** Maps the engine's wall-clock times (a promise, a deadline) onto simulated time; identity by default. */
  simTimeOf?: (wallMs: number) => number;
  /** Simulated ms per wall ms, for the durations the engine measures (pick-pack); 1 by default. */
  speed?: number;
}

/** What went wrong on the way, for the report. */
export interface NatsEngineFacts {
  /** Requests with no answer after the client's retries, by command or query type. */
  unanswered: Record<string, number>;
  /** Commands and checkouts answered UNAVAILABLE after the retries, by type. */
  unavailable: Record<string, number>;
  events: number;
  /** Events published again by a recovery, already handed to the world before (dropped). */
  eventsRepeated: number;
}

interface Mirror {
  available: number;
  version: number;
}

interface Held {
  warehouseId: string;
  event: EngineEvent;
}

function bump(counts: Record<string, number>, type: string): void {
  counts[type] = (counts[type] ?? 0) + 1;
}

/** `value` for a NOT_FOUND answer; any other refusal is a failure of the lookup. */
function notFoundOr<T>(result: Result<unknown>, value: T): T {
  if (!result.ok && result.error.code === 'NOT_FOUND') return value;
  throw new Error(result.ok ? 'not a refusal' : result.error.message);
}

export class NatsEngine implements SimEngine {
  readonly mode = 'nats' as const;
  onEvents: (warehouseId: string, events: EngineEvent[]) => void = () => {};
  commands = 0;
  /** Requests sent and not answered yet (commands, checkouts and queries). */
  inFlight = 0;
  readonly facts: NatsEngineFacts = { unanswered: {}, unavailable: {}, events: 0, eventsRepeated: 0 };
  private readonly client: DarkstoreClient;
  private readonly warehouses = new Map<string, WarehouseClient>();
  private readonly skus = new Map<string, readonly string[]>();
  private readonly mirrors = new Map<string, Map<string, Mirror>>();
  /** The last event handed on per warehouse and event type: its command's sequence number and its index there. */
  private readonly lastEvent = new Map<string, { seq: number; index: number }>();
  /** Events received in this turn of the event loop, not yet handed on. */
  private arrived: Arrival[] = [];
  /** Per warehouse, the events handed on lately (to tell a repeat from a late original). */
  private readonly seen = new Map<string, SeenEvents>();
  /** Events of orders whose checkout has not answered yet: the world learns of the order first. */
  private readonly placing = new Map<string, Held[]>();
  private readonly acks = new Map<string, AcknowledgedSample>();
  private subscription: Subscription | undefined;
  private lastEventAtMs = 0;

  private constructor(private readonly options: NatsEngineOptions) {
    this.client = new DarkstoreClient(options.nc, SIM_REQUEST_POLICY);
    for (const w of options.city.warehouses) {
      const id = w.entry.id;
      this.warehouses.set(id, this.client.warehouse(options.region, id));
      this.skus.set(id, w.byRank);
      this.mirrors.set(id, new Map());
      this.acks.set(id, new AcknowledgedSample(ACK_SAMPLE_PER_WAREHOUSE, new Random(0x5eed).fork(this.acks.size)));
    }
  }

  /** Subscribes to the region's events, then seeds the availability mirror (events first: none is missed). */
  static async start(options: NatsEngineOptions): Promise<NatsEngine> {
    const engine = new NatsEngine(options);
    engine.subscription = options.nc.subscribe(eventsOf(options.region), {
      callback: (error, msg) => {
        if (error === null) engine.received(msg.data, msg.headers?.get('Darkstore-Replayed') === 'true');
      },
    });
    await options.nc.flush();
    await Promise.all(
      [...engine.skus].map(async ([id, skus]) => {
        for (const item of await engine.availabilityOf(id, skus))
          engine.mirror(id, item.sku, item.available, item.version);
      }),
    );
    return engine;
  }

  /** Stops the subscription (the caller closes the connection). */
  async stop(): Promise<void> {
    await this.subscription?.drain().catch(() => undefined);
  }

  /** When the last event arrived (performance.now() ms), to wait for the stream to go quiet. */
  get lastEventAt(): number {
    return this.lastEventAtMs;
  }

  private warehouse(warehouseId: string): WarehouseClient {
    const w = this.warehouses.get(warehouseId);
    if (w === undefined) throw new Error(`no warehouse ${warehouseId}`);
    return w;
  }

  /** Runs a request, keeping count of what is in flight; `settle` is called exactly once. */
  private track<T>(request: () => Promise<T>, settle: (outcome: { ok: true; value: T } | { ok: false }) => void): void {
    this.inFlight++;
    let promise: Promise<T>;
    try {
      promise = request();
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(
      (value) => {
        this.inFlight--;
        settle({ ok: true, value });
      },
      () => {
        this.inFlight--;
        settle({ ok: false });
      },
    );
  }

  /**
   * A commit's events arrive as one message per type, written together: they are gathered for the
   * turn of the event loop and handed on per warehouse in engine order (seq, then index), as the
   * embedded engine hands them, so the world sees, e.g., a confirmation before a cancellation.
   */
  private received(data: Uint8Array, replayed: boolean): void {
    const envelopes = decodeEventMessage(data);
    if (envelopes === undefined) return;
    for (const envelope of envelopes) this.arrived.push({ envelope, replayed });
    if (this.arrived.length === envelopes.length) setImmediate(() => this.handOnArrived());
  }

  private handOnArrived(): void {
    const byWarehouse = new Map<string, Arrival[]>();
    for (const arrival of this.arrived) {
      const list = byWarehouse.get(arrival.envelope.warehouseId);
      if (list === undefined) byWarehouse.set(arrival.envelope.warehouseId, [arrival]);
      else list.push(arrival);
    }
    this.arrived = [];
    for (const list of byWarehouse.values()) {
      list.sort((a, b) => a.envelope.seq - b.envelope.seq || a.envelope.index - b.envelope.index);
      for (const arrival of list) this.receivedEvent(arrival);
    }
  }

  private receivedEvent({ envelope, replayed }: Arrival): void {
    const { warehouseId, seq, index, event } = envelope;
    if (!this.warehouses.has(warehouseId)) return;
    this.facts.events++;
    this.lastEventAtMs = performance.now();
    // A message holds one type's events of a commit: order holds per type, not across types. An
    // original behind the mark is a repeat; one published again is a repeat only if it was seen
    // (a message sent again after a broken connection may follow newer ones and still be new).
    const stream = `${warehouseId} ${event.type}`;
    const last = this.lastEvent.get(stream);
    const behind = last !== undefined && (seq < last.seq || (seq === last.seq && index <= last.index));
    let seen = this.seen.get(warehouseId);
    if (seen === undefined) {
      seen = new SeenEvents();
      this.seen.set(warehouseId, seen);
    }
    if (seen.has(seq, index) || (behind && !replayed)) {
      this.facts.eventsRepeated++;
      return;
    }
    seen.add(seq, index);
    if (!behind) this.lastEvent.set(stream, { seq, index });
    const e = this.onSimClock(event);
    if (e.type === 'availability.changed') this.mirror(warehouseId, e.sku, e.available, e.version);
    const orderId = (e as { orderId?: unknown }).orderId;
    const held = typeof orderId === 'string' ? this.placing.get(orderId) : undefined;
    if (held !== undefined) held.push({ warehouseId, event: e });
    else this.onEvents(warehouseId, [e]);
  }

  /** The event with the engine's wall-clock times and durations told on the simulated clock. */
  private onSimClock(e: EngineEvent): EngineEvent {
    const at = (wallMs: number) => this.options.simTimeOf?.(wallMs) ?? wallMs;
    const speed = this.options.speed ?? 1;
    switch (e.type) {
      case 'pick_pack.recorded':
        return { ...e, pickPackMs: e.pickPackMs * speed, averageMs: e.averageMs * speed };
      case 'order.eta':
        return { ...e, etaAtMs: at(e.etaAtMs) };
      case 'order.late':
        return { ...e, promisedAtMs: at(e.promisedAtMs) };
      case 'dispatch.offered':
        return { ...e, deadlineMs: at(e.deadlineMs) };
      default:
        return e;
    }
  }

  private mirror(warehouseId: string, sku: string, available: number, version: number): void {
    const skus = this.mirrors.get(warehouseId);
    const known = skus?.get(sku);
    if (known === undefined) skus?.set(sku, { available, version });
    else if (version > known.version) {
      known.available = available;
      known.version = version;
    }
  }

  send(warehouseId: string, command: Command, done?: (result: Result) => void): void {
    const w = this.warehouse(warehouseId);
    if (command.type === 'tick') {
      // The region's runtime ticks its own timers; a tick from outside is not a client's command.
      done?.({ ok: false, error: unavailable('the region process ticks its own timers') });
      return;
    }
    this.commands++;
    this.track(
      () => w.send(command),
      (outcome) => {
        let result: Result;
        if (outcome.ok) {
          result = outcome.value;
          if (!result.ok && result.error.code === 'UNAVAILABLE') bump(this.facts.unavailable, command.type);
          if (result.ok && ACK_CHECKED_TYPES.has(command.type)) this.acks.get(warehouseId)?.add(command.key, result);
        } else {
          bump(this.facts.unanswered, command.type);
          result = { ok: false, error: unavailable(`no answer from ${warehouseId} after the client's retries`) };
        }
        done?.(result);
      },
    );
  }

  checkout(order: OrderPlaceCommand, done: (answer: CheckoutAnswer) => void): void {
    const { type: _type, ...request } = order;
    this.commands++;
    this.placing.set(order.orderId, []);
    this.track(
      () => this.client.checkout(this.options.region, request, CHECKOUT_CALL),
      (outcome) => {
        const held = this.placing.get(order.orderId) ?? [];
        this.placing.delete(order.orderId);
        done(this.answerOf(outcome));
        for (const h of held) this.onEvents(h.warehouseId, [h.event]);
      },
    );
  }

  private answerOf(outcome: { ok: true; value: Result<unknown> } | { ok: false }): CheckoutAnswer {
    if (!outcome.ok) {
      bump(this.facts.unanswered, 'checkout');
      return { ok: false, code: 'UNAVAILABLE', candidates: [] };
    }
    const result = outcome.value;
    if (result.ok) {
      const value = result.value as { warehouseId: string; promisedAtMs: number; candidates: CandidateReport[] };
      const promisedAtMs = this.options.simTimeOf?.(value.promisedAtMs) ?? value.promisedAtMs;
      return { ok: true, warehouseId: value.warehouseId, promisedAtMs, candidates: value.candidates };
    }
    if (result.error.code === 'UNAVAILABLE') bump(this.facts.unavailable, 'checkout');
    // The region's checkout sends every candidate's full report (the engine's type names only two fields).
    const candidates =
      result.error.code === 'NO_FULFILLMENT_CENTER' ? (result.error.candidates as CandidateReport[]) : [];
    return { ok: false, code: result.error.code, candidates };
  }

  available(warehouseId: string, sku: string): number {
    return this.mirrors.get(warehouseId)?.get(sku)?.available ?? 0;
  }

  /** Availability of many SKUs, in chunks of AVAILABILITY_CHUNK_SKUS; throws when a chunk got no answer. */
  private async availabilityOf(warehouseId: string, skus: readonly string[]): Promise<Availability[]> {
    const w = this.warehouse(warehouseId);
    const chunks: Promise<{ items: Availability[] }>[] = [];
    for (let from = 0; from < skus.length; from += AVAILABILITY_CHUNK_SKUS) {
      chunks.push(w.availability(skus.slice(from, from + AVAILABILITY_CHUNK_SKUS)));
    }
    return (await Promise.all(chunks)).flatMap((c) => c.items);
  }

  books(warehouseId: string, done: (onHand: Books | undefined) => void): void {
    this.track(
      () => this.availabilityOf(warehouseId, this.skus.get(warehouseId) ?? []),
      (outcome) => {
        if (!outcome.ok) {
          // No books to read (the store is down): the world skips what needed them.
          bump(this.facts.unanswered, 'availability');
          done(undefined);
          return;
        }
        const onHand = new Map<string, number>();
        for (const item of outcome.value) onHand.set(item.sku, item.onHand);
        done((sku) => onHand.get(sku));
      },
    );
  }

  auditPlacement(warehouseId: string, orderId: string, done: (oversoldUnits: number) => void): void {
    const w = this.warehouse(warehouseId);
    this.track(
      async () => {
        const order = await w.query({ type: 'order', orderId });
        if (!order.ok) return notFoundOr(order, 0);
        const reservationId = (order.value as { reservationId: string }).reservationId;
        const held = await w.query({ type: 'reservation', reservationId });
        // A reservation already gone (picked, cancelled) holds nothing that could be oversold.
        if (!held.ok) return notFoundOr(held, 0);
        const lines = (held.value as Reservation).lines;
        const stock = await w.availability(lines.map((l) => l.sku));
        const available = new Map(stock.items.map((i) => [i.sku, i.available]));
        let oversold = 0;
        for (const line of lines) {
          const a = available.get(line.sku) ?? 0;
          if (a < 0) oversold += Math.min(line.quantity, -a);
        }
        return oversold;
      },
      (outcome) => {
        if (!outcome.ok) bump(this.facts.unanswered, 'audit');
        done(outcome.ok ? outcome.value : 0);
      },
    );
  }

  orderStates(warehouseId: string, orderIds: readonly string[], done: (states: (string | undefined)[]) => void): void {
    const w = this.warehouse(warehouseId);
    const states: (string | undefined)[] = new Array(orderIds.length).fill(undefined);
    let next = 0;
    const worker = async () => {
      while (next < orderIds.length) {
        const i = next++;
        const result = await w.query({ type: 'order', orderId: orderIds[i] as string });
        states[i] = result.ok ? (result.value as { state: string }).state : notFoundOr(result, undefined);
      }
    };
    const workers = Math.min(ORDER_QUERIES_IN_FLIGHT_MAX, orderIds.length);
    this.track(
      () => Promise.all(Array.from({ length: workers }, worker)),
      (outcome) => {
        // Unverified counts as lost: a check that could not be made must not pass.
        if (!outcome.ok) bump(this.facts.unanswered, 'order');
        done(outcome.ok ? states : orderIds.map(() => undefined));
      },
    );
  }

  /** A region process is about to be killed: the last acknowledgements of every warehouse are all checked. */
  pinRecentAcknowledged(): void {
    for (const sample of this.acks.values()) sample.pinRecent();
  }

  /**
   * Looks every sampled acknowledged command up by its key (`command` query): each must be known
   * with the result it was acknowledged with. A lookup that gets no answer is counted apart
   * (`unanswered`): the verdict is then UNVERIFIED, not OK.
   */
  async verifyAcknowledged(): Promise<{ checked: number; lost: number; unanswered: number }> {
    const checks = await Promise.all(
      [...this.acks].map(([warehouseId, sample]) => {
        const w = this.warehouse(warehouseId);
        return sample.verify(async (key) => {
          const stored = await w.query({ type: 'command', key });
          return stored.ok ? (stored.value as Result) : notFoundOr(stored, undefined);
        });
      }),
    );
    let checked = 0;
    let lost = 0;
    let unanswered = 0;
    for (const c of checks) {
      checked += c.checked;
      lost += c.lost;
      unanswered += c.unanswered;
    }
    if (unanswered > 0) this.facts.unanswered.command = (this.facts.unanswered.command ?? 0) + unanswered;
    return { checked, lost, unanswered };
  }
}
