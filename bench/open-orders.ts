/**
 * A warehouse holding many open orders (placed, authorized, queued for picking: confirmed and
 * waiting), and the two rows it is for: `order.memory`, the heap one open order keeps in the core,
 * and `order.snapshot.stall`, the longest command-loop stall while a snapshot of that warehouse is
 * written by the real durable path (the worker checkpointer). File I/O only inside the runner's
 * temp dirs.
 */
import {
  type Command,
  type OrderPlaceCommand,
  type PaymentOutcomeCommand,
  type Result,
  validateCommand,
  Warehouse,
} from '../engine/index.ts';
import { DurableWarehouse } from '../persistence/index.ts';
import { SNAPSHOT_STALL_TARGET_MS } from './durable.ts';
import { orderLines, START_AT_MS, STORE } from './lifecycle.ts';
import { fmt } from './measure.ts';
import { IDLE_WATCH_MS, idleStall, longestStall } from './stall.ts';
import type { Row, SuiteContext } from './suite.ts';
import type { Workload } from './workload.ts';

/** Open orders of the memory and stall rows (the number), and of a --quick run. */
const OPEN_ORDERS = 100_000;
const OPEN_ORDERS_QUICK = 10_000;
/** The bound on the heap one open order may keep. */
export const ORDER_MEMORY_TARGET_BYTES = 4 * 1024;
/** Commands submitted to the durable warehouse at once while it is filled (each batch awaited). */
const SUBMIT_BATCH = 2_000;
/** Longest comparison window without a snapshot. */
const SAME_WINDOW_MS_MAX = 20_000;
/** About a kilometre north of the store. */
const ADDRESS = { lat: STORE.lat + 0.009, lon: STORE.lon };

function placeCommand(workload: Workload, n: number, prefix: string): OrderPlaceCommand {
  return {
    type: 'order.place',
    key: `${prefix}-place-${n}`,
    orderId: `${prefix}-${n}`,
    customerId: `cust-${n}`,
    address: ADDRESS,
    lines: orderLines(workload, 2 + (n % 2)),
    paymentToken: `tok-${n}`,
    ttlMs: 600_000,
  };
}

function authorizeCommand(n: number, prefix: string): PaymentOutcomeCommand {
  return {
    type: 'payment.outcome',
    key: `${prefix}-auth-${n}`,
    orderId: `${prefix}-${n}`,
    operation: 'authorize',
    outcome: 'succeeded',
    authorizationId: `auth-${n}`,
  };
}

function check(result: Result, what: string): void {
  if (!result.ok) throw new Error(`${what} refused: ${result.error.code} ${result.error.message}`);
}

/** The store's location, catalogue and stock, as the first commands of a warehouse. */
function setupCommands(workload: Workload): Command[] {
  return [{ type: 'warehouse.configure', key: 'setup-configure', location: STORE }, ...workload.setupCommands()];
}

function heapUsedAfterGc(): number {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

/** An in-memory warehouse with `count` open orders, its commands validated, stamped and applied. */
function fillInMemory(warehouse: Warehouse, workload: Workload, count: number, atMs: number): void {
  const apply = (command: Command) => {
    const validated = validateCommand(command);
    if (!validated.ok) throw new Error(`${command.type} invalid: ${validated.error.message}`);
    check(warehouse.apply({ seq: warehouse.state.lastSeq + 1, atMs, command: validated.value }), command.type);
  };
  for (let n = 0; n < count; n++) {
    apply(placeCommand(workload, n, 'o'));
    apply(authorizeCommand(n, 'o'));
    // The runtime publishes and forgets events after every batch.
    if (n % 1_000 === 999) warehouse.drainEvents();
  }
  warehouse.drainEvents();
}

/**
 * What of an open order's heap is where, measured by dropping the structures one at a time from a
 * warehouse that is thrown away afterwards: the idempotency records (each keeps the command's
 * result for 24 h), the reservations with their hold index and expiry timers, and the rest (the
 * order records, their pick tasks, the pick queue and fulfilment timers).
 */
function breakdown(warehouse: Warehouse, count: number, total: number): string {
  const state = warehouse.state;
  const before = heapUsedAfterGc();
  state.idempotency.prune(Number.POSITIVE_INFINITY);
  const afterIdempotency = heapUsedAfterGc();
  state.reservations.clear();
  state.holdsBySku.clear();
  state.timers.clear();
  const afterReservations = heapUsedAfterGc();
  const per = (bytes: number) => `${fmt(bytes / count)} B`;
  return (
    `idempotency records ${per(before - afterIdempotency)}, reservations with holds and expiry timers ` +
    `${per(afterIdempotency - afterReservations)}, order records, pick tasks and the rest ` +
    `${per(total * count - (before - afterReservations))}`
  );
}

/** `order.memory`: heap growth of one warehouse per open order, and where it goes. */
export function orderMemoryRows(ctx: SuiteContext, workload: Workload): Row[] {
  const count = ctx.quick ? OPEN_ORDERS_QUICK : OPEN_ORDERS;
  const warehouse = new Warehouse('W1', { recordLedger: false });
  for (const command of setupCommands(workload)) {
    check(warehouse.apply({ seq: warehouse.state.lastSeq + 1, atMs: START_AT_MS, command }), command.type);
  }
  warehouse.drainEvents();
  const before = heapUsedAfterGc();
  fillInMemory(warehouse, workload, count, START_AT_MS);
  const bytes = (heapUsedAfterGc() - before) / count;
  const queued = warehouse.state.pickQueue.size;
  if (queued !== count) throw new Error(`${queued} of ${count} orders queued for picking`);
  const parts = breakdown(warehouse, count, bytes);
  const gcNote = globalThis.gc === undefined ? ' (run without --expose-gc: includes garbage not yet collected)' : '';
  return [
    {
      id: 'order.memory',
      value: bytes,
      unit: 'bytes',
      baseline: 'baseline.xstate.actor.memory',
      target: { op: '<', value: ORDER_MEMORY_TARGET_BYTES },
      note:
        `heap growth of one warehouse per open order, ${fmt(count)} orders of 2–3 lines placed and authorized ` +
        `(queued for picking), everything the core keeps for them${gcNote}: ${parts}.`,
    },
  ];
}

/** Submits commands in batches, awaiting each batch (so the queue stays bounded); throws on a refusal. */
async function submitAll(w: DurableWarehouse, commands: Iterable<Command>): Promise<void> {
  let batch: Promise<Result>[] = [];
  const flush = async () => {
    for (const result of await Promise.all(batch)) check(result, 'durable command');
    batch = [];
  };
  for (const command of commands) {
    batch.push(w.submit(command));
    if (batch.length === SUBMIT_BATCH) await flush();
  }
  await flush();
}

function* openOrderCommands(workload: Workload, count: number): Generator<Command> {
  for (let start = 0; start < count; start += SUBMIT_BATCH / 2) {
    const end = Math.min(count, start + SUBMIT_BATCH / 2);
    for (let n = start; n < end; n++) yield placeCommand(workload, n, 'o');
    for (let n = start; n < end; n++) yield authorizeCommand(n, 'o');
  }
}

/**
 * `order.snapshot.stall`: a durable warehouse (WAL, group commit, worker checkpointer) is filled
 * with open orders through `submit`, then a snapshot is written while a light stream of new orders
 * keeps the loop busy, and the longest event-loop stall is reported.
 */
export async function orderSnapshotStallRows(ctx: SuiteContext, workload: Workload): Promise<Row[]> {
  const count = ctx.quick ? OPEN_ORDERS_QUICK : OPEN_ORDERS;
  const dataDir = ctx.tempDir('order-stall');
  // Snapshots only when asked: the one measured.
  const w = DurableWarehouse.open({ dataDir, warehouseId: 'W1', checkpoint: 'worker', checkpointEveryCommands: 1e12 });
  try {
    const fillStartMs = performance.now();
    await submitAll(w, setupCommands(workload));
    await submitAll(w, openOrderCommands(workload, count));
    const fillMs = performance.now() - fillStartMs;
    let n = count;
    const place = () => w.submit(placeCommand(workload, ++n, 'load'));
    const idleMs = await idleStall(place);
    const orders = w.runtime.warehouse.state.orders.size;
    const records = w.runtime.lastSeq;
    let snapshotMs = 0;
    const stallMs = await longestStall(place, async () => {
      const t0 = performance.now();
      await w.checkpointNow();
      snapshotMs = performance.now() - t0;
    });
    // The same load for as long again, without a snapshot: what the loop's own garbage collection
    // costs on this heap, which the snapshot window is to be read against.
    const sameWindowMs = await idleStall(place, Math.min(snapshotMs, SAME_WINDOW_MS_MAX));
    return [
      {
        id: 'order.snapshot.stall',
        value: stallMs,
        unit: 'ms',
        target: { op: '<', value: SNAPSHOT_STALL_TARGET_MS },
        note:
          `worker checkpointer: snapshot of ${fmt(orders)} open orders (${fmt(count)} placed and authorized through ` +
          `submit in ${fmt(fillMs / 1_000, 1)} s, ${fmt(records)} WAL records) took ${fmt(snapshotMs)} ms; longest ` +
          `loop stall ${fmt(stallMs, 1)} ms while it ran; without a snapshot, in the same load (new orders), ` +
          `${fmt(idleMs, 1)} ms over ${IDLE_WATCH_MS} ms and ${fmt(sameWindowMs, 1)} ms over the next ` +
          `${fmt(Math.min(snapshotMs, SAME_WINDOW_MS_MAX) / 1_000, 1)} s.`,
      },
    ];
  } finally {
    await w.close({ snapshot: false });
  }
}
