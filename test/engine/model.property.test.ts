/**
 * Model-based property tests of the warehouse core: random command sequences run against the
 * core and against the naive reference model in `model.ts`, and every answer, event, ledger entry
 * and availability must agree after every command. The sequences include repeated idempotency
 * keys, duplicated and reordered POS events, duplicate receipts, time jumps that expire
 * reservations and prune retention, and restarts through a msgpack snapshot in the middle.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Command,
  checkAll,
  decode,
  encode,
  fromSnapshot,
  type Result,
  type StampedCommand,
  toSnapshot,
  validateCommand,
  Warehouse,
  type WarehouseSnapshot,
} from '../../engine/index.ts';
import {
  inputOf,
  type OpContext,
  type Scenario,
  SKU_NAMES,
  scenarioArb,
  skuName,
  UNKNOWN_RESERVATION,
  upsert,
} from './model.ops.ts';
import { canonical, equalData, factsOf, WarehouseModel } from './model.ts';

function same(actual: unknown, expected: unknown, what: string): void {
  if (equalData(actual, expected)) return;
  expect(actual, what).toEqual(expected);
  throw new Error(`${what}: ${canonical(actual)} !== ${canonical(expected)}`);
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (!Buffer.from(actual).equals(Buffer.from(expected))) throw new Error(`${what}: snapshot bytes differ`);
}

/** Snapshot bytes with the stamp of the last command blanked out. */
function stateBytesWithoutStamp(warehouse: Warehouse): Uint8Array {
  const snapshot = toSnapshot(warehouse.state);
  snapshot.lastSeq = 0;
  snapshot.lastAtMs = 0;
  return encode(snapshot);
}

// ---- the harness: one live core (rebuilt on restarts), the model, and the log of what was applied ----

class Harness implements OpContext {
  warehouse = new Warehouse('w1', { assertInvariants: true });
  readonly model = new WarehouseModel();
  readonly log: StampedCommand[] = [];
  /** Commands sent under a key, for repeats. */
  readonly sent: Command[] = [];
  readonly ledgerSums = new Map<string, { onHand: number; reserved: number }>();
  /** What kinds of answers and events this run produced (for the coverage check). */
  readonly outcomes = new Set<string>();
  atMs = 1_000_000;
  private keyCount = 0;

  nextKey(): string {
    return `k${++this.keyCount}`;
  }

  /** Validates raw input and applies it to the core and the model, then checks they agree. */
  send(input: unknown): Result {
    const validated = validateCommand(input);
    if (!validated.ok) throw new Error(`generator produced invalid input: ${validated.error.message}`);
    const command = validated.value;
    const replay = command.type !== 'tick' && this.model.hasKey(command.key);
    const due = this.model.open.filter((r) => r.expiresAtMs <= this.atMs);
    if (due.some((r) => r.expiresAtMs === this.atMs)) this.outcomes.add('expiry:exact');
    if (new Set(due.map((r) => r.expiresAtMs)).size < due.length) this.outcomes.add('expiry:tie');
    const before = replay && this.log.at(-1)?.atMs === this.atMs ? stateBytesWithoutStamp(this.warehouse) : undefined;
    const stamped: StampedCommand = { seq: this.log.length + 1, atMs: this.atMs, command };
    this.log.push(stamped);
    if (command.type !== 'tick') this.sent.push(command);
    const result = this.warehouse.apply(stamped);
    const expected = this.model.apply(stamped.seq, stamped.atMs, command);
    same(factsOf(result), factsOf(expected.result), `result of ${canonical(command)}`);
    same(this.warehouse.drainEvents(), expected.events, `events of ${canonical(command)}`);
    const ledger = this.warehouse.drainLedger();
    same(ledger, expected.ledger, `ledger of ${canonical(command)}`);
    for (const entry of ledger) {
      const sums = this.ledgerSums.get(entry.sku) ?? { onHand: 0, reserved: 0 };
      sums.onHand += entry.onHandDelta;
      sums.reserved += entry.reservedDelta;
      this.ledgerSums.set(entry.sku, sums);
    }
    if (before !== undefined)
      assertSameBytes(stateBytesWithoutStamp(this.warehouse), before, 'a replayed key changed state');
    this.checkState(command, result, replay);
    this.recordOutcome(result, replay, expected.events);
    return result;
  }

  private recordOutcome(result: Result, replay: boolean, events: { type: string }[]): void {
    if (replay) this.outcomes.add('replay');
    for (const event of events) this.outcomes.add(event.type);
    if (!result.ok) {
      this.outcomes.add(result.error.code);
      return;
    }
    const value = result.value;
    this.outcomes.add(value.kind);
    if (value.kind === 'stock' && value.duplicate) this.outcomes.add('stock:dup');
    if (value.kind === 'committed' && !value.closed) this.outcomes.add('committed:open');
    if (value.kind === 'reserved' && value.lines.some((l) => l.substituteFor !== undefined)) {
      this.outcomes.add('reserved:substitute');
    }
  }

  private checkState(command: Command, result: Result, replay: boolean): void {
    const state = this.warehouse.state;
    checkAll(state);
    // Replies cross the network as msgpack: every result and event must come back unchanged.
    same(decode(encode(result)), result, 'reply round trip');
    const available = this.warehouse.availability(SKU_NAMES);
    const bySku = (a: { sku: string }, b: { sku: string }) => a.sku.localeCompare(b.sku);
    same(available.items.sort(bySku), this.model.availability().sort(bySku), 'availability');
    same(
      available.unknown,
      SKU_NAMES.filter((s) => this.model.sku(s) === undefined),
      'unknown SKUs',
    );
    for (const item of available.items) {
      same(item.available, item.onHand - item.reserved - item.safetyStock, 'available is derived');
      const sums = this.ledgerSums.get(item.sku) ?? { onHand: 0, reserved: 0 };
      same(sums, { onHand: item.onHand, reserved: item.reserved }, `ledger sums of ${item.sku}`);
    }
    same([...state.reservations.values()], this.model.open, 'open reservations');
    if (!replay && command.type === 'reserve' && result.ok && result.value.kind === 'reserved') {
      // The core invariant: an accepted reservation never promises more than was available.
      for (const line of result.value.lines) {
        const record = state.skus.get(line.sku);
        if (record === undefined || record.onHand - record.reserved - record.safetyStock < 0) {
          throw new Error(`reservation ${result.value.reservationId} oversold ${line.sku}`);
        }
      }
    }
  }

  /** Serializes the core like a restart would (snapshot → msgpack → decode) and continues on the copy. */
  restart(): void {
    this.outcomes.add('restart');
    const bytes = encode(toSnapshot(this.warehouse.state));
    const state = fromSnapshot(decode(bytes) as WarehouseSnapshot);
    this.warehouse = new Warehouse('w1', { assertInvariants: true }, state);
    assertSameBytes(encode(toSnapshot(this.warehouse.state)), bytes, 'snapshot round trip');
  }
}

function runScenario(scenario: Scenario): Harness {
  const h = new Harness();
  for (let i = 0; i < scenario.skuCount; i++) {
    const entry = scenario.catalog[i] ?? { safety: 0, subs: [], stock: 0 };
    h.send(upsert(h.nextKey(), i, entry.safety, entry.subs));
  }
  const stocked = scenario.catalog
    .slice(0, scenario.skuCount)
    .map((c, i) => ({ sku: skuName(i), quantity: c.stock + 1 }));
  h.send({ type: 'receipt', key: h.nextKey(), receiptId: 'initial', lines: stocked });
  for (const { op, dtMs } of scenario.steps) {
    if (op.t === 'restart') {
      h.restart();
      continue;
    }
    // Repeats are sent at the same time as the command before, so nothing but the replay can change.
    if (op.t !== 'repeat') h.atMs += dtMs;
    h.send(inputOf(h, op));
  }
  return h;
}

/** Replays the logged commands on a fresh core: the state must come out byte for byte the same. */
function checkReplay(h: Harness): void {
  const fresh = new Warehouse('w1');
  for (const stamped of h.log) fresh.apply(stamped);
  assertSameBytes(encode(toSnapshot(fresh.state)), encode(toSnapshot(h.warehouse.state)), 'replay');
}

function checkReads(h: Harness): void {
  for (const id of [...h.model.createdIds, UNKNOWN_RESERVATION]) {
    same(factsOf(h.warehouse.reservation(id)), factsOf(h.model.reservation(id)), `reservation ${id}`);
  }
  for (const record of h.model.keys) {
    const stored = h.warehouse.commandResult(record.key);
    if (!stored.ok) throw new Error(`command ${record.key} should be retained`);
    same(factsOf(stored.value), factsOf(record.result), `stored result of ${record.key}`);
  }
}

describe('warehouse core against the reference model', () => {
  it('agrees with the model after every command, survives restarts and replays exactly', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const h = runScenario(scenario);
        checkReads(h);
        checkReplay(h);
      }),
      { numRuns: 200 },
    );
  });

  it('exercises every outcome the properties are about', () => {
    // Guards against a generator that silently stops producing the interesting cases.
    const seen = new Set<string>();
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        for (const outcome of runScenario(scenario).outcomes) seen.add(outcome);
      }),
      // A fixed seed keeps this guard deterministic; the property above runs on fresh seeds.
      { numRuns: 30, seed: 20_240_601 },
    );
    const wanted = [
      ...['reserved', 'reserved:substitute', 'committed', 'committed:open', 'released', 'extended', 'stock:dup'],
      ...['INSUFFICIENT_STOCK', 'VERSION_CONFLICT', 'INVALID_QUANTITY', 'IDEMPOTENCY_CONFLICT', 'NOT_FOUND'],
      ...['replay', 'restart', 'reservation.expired', 'reservation.at_risk', 'availability.changed'],
      ...['expiry:exact', 'expiry:tie'],
    ];
    for (const outcome of wanted) expect(seen, outcome).toContain(outcome);
  });
});
