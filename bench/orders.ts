/**
 * The `orders` suite: what XState itself costs for the order machine, measured the two ways the
 * core could drive it (a live actor per order with `send`, the pure `transition()` on a stored
 * snapshot) and the compiled table the core runs; then whole orders through the warehouse core
 * (`order.lifecycle`, with picking, dispatch, couriers and payments around the machine) beside the
 * live-actor baseline, the heap an open order keeps (`order.memory`) beside the heap of one live
 * actor, and the command-loop stall while a warehouse full of open orders is snapshotted.
 */
import { createActor, initialTransition, transition } from 'xstate';
import { compiledOrderMachine, DELIVERED_PATH, orderMachine } from '../actors/index.ts';
import { COURIERS, LifecycleFloor, ORDERS_PER_STEP, PICKERS, STEP_MS } from './lifecycle.ts';
import { fmt, measure } from './measure.ts';
import { orderMemoryRows, orderSnapshotStallRows } from './open-orders.ts';
import type { Row, Suite, SuiteContext } from './suite.ts';
import { Workload } from './workload.ts';

/** The seven transitions of a delivered order. */
const LIFECYCLE = DELIVERED_PATH;
const LIFECYCLES_PER_CALL = 100;
const MEMORY_ACTORS = 20_000;
/** The bar for whole orders through the core: at least half the bare live actor's lifecycles. */
export const LIFECYCLE_VS_XSTATE_TARGET = 0.5;
/** Steps of the order floor per tinybench call: 100 orders placed, as many delivered. */
const LIFECYCLE_STEPS_PER_CALL = LIFECYCLES_PER_CALL / ORDERS_PER_STEP;
/**
 * Orders one benchmark warehouse takes before it is replaced (outside the timed window): a week
 * of a busy store at the floor's pace, the time a finished order is kept, with every idempotency
 * record of the last 24 h of command time.
 */
const ORDERS_PER_WAREHOUSE = 7 * 1_800;

function liveActorLifecycles(): void {
  for (let i = 0; i < LIFECYCLES_PER_CALL; i++) {
    const actor = createActor(orderMachine, { input: { orderId: `o${i}` } }).start();
    for (const type of LIFECYCLE) actor.send({ type });
    if (actor.getSnapshot().status !== 'done' && actor.getSnapshot().value !== 'delivered') {
      throw new Error('lifecycle did not end delivered');
    }
    actor.stop();
  }
}

function pureLifecycles(): void {
  for (let i = 0; i < LIFECYCLES_PER_CALL; i++) {
    let [snapshot] = initialTransition(orderMachine, { orderId: `o${i}` });
    for (const type of LIFECYCLE) [snapshot] = transition(orderMachine, snapshot, { type });
    if (snapshot.value !== 'delivered') throw new Error('lifecycle did not end delivered');
  }
}

function compiledLifecycles(): void {
  for (let i = 0; i < LIFECYCLES_PER_CALL; i++) {
    let snapshot = compiledOrderMachine.initial({ orderId: `o${i}` });
    for (const type of LIFECYCLE) {
      const step = compiledOrderMachine.transition(snapshot, { type });
      if (step === undefined) throw new Error(`${snapshot.value} refused ${type}`);
      snapshot = step.snapshot;
    }
    if (snapshot.value !== 'delivered') throw new Error('lifecycle did not end delivered');
  }
}

/** Heap bytes per stored compiled snapshot (an open order's lifecycle state), MEMORY_ACTORS at once. */
function bytesPerCompiledSnapshot(): number {
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const snapshots = Array.from({ length: MEMORY_ACTORS }, (_, i) => {
    const step = compiledOrderMachine.transition(compiledOrderMachine.initial({ orderId: `o${i}` }), {
      type: 'reservation.confirmed',
    });
    return step?.snapshot;
  });
  globalThis.gc?.();
  const bytes = (process.memoryUsage().heapUsed - before) / MEMORY_ACTORS;
  if (snapshots.length !== MEMORY_ACTORS) throw new Error('unreachable');
  return bytes;
}

/** Heap bytes per started actor, holding MEMORY_ACTORS of them alive at once. */
function bytesPerLiveActor(): number {
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const actors = Array.from({ length: MEMORY_ACTORS }, (_, i) =>
    createActor(orderMachine, { input: { orderId: `o${i}` } }).start(),
  );
  for (const actor of actors) actor.send({ type: 'reservation.confirmed' });
  globalThis.gc?.();
  const bytes = (process.memoryUsage().heapUsed - before) / MEMORY_ACTORS;
  for (const actor of actors) actor.stop();
  return bytes;
}

/** `order.lifecycle`: whole orders through the core, place → delivered and paid, in a pipeline. */
async function lifecycleRows(ctx: SuiteContext): Promise<Row[]> {
  const floor = new LifecycleFloor(new Workload(), ORDERS_PER_WAREHOUSE);
  const m = await measure(
    'order.lifecycle',
    () => {
      for (let i = 0; i < LIFECYCLE_STEPS_PER_CALL; i++) floor.step(true);
    },
    {
      opsPerCall: LIFECYCLE_STEPS_PER_CALL * ORDERS_PER_STEP,
      timeMs: ctx.quick ? 300 : 3_000,
      warmupMs: ctx.quick ? 100 : 500,
      beforeEach: () => floor.recycle(),
    },
  );
  floor.finish();
  const c = floor.counts;
  const per = (n: number) => fmt(n / c.placed, 1);
  const stepMin = STEP_MS / 60_000;
  return [
    {
      id: 'order.lifecycle',
      value: m.opsPerSec,
      unit: 'orders/s',
      baseline: 'baseline.xstate.lifecycle',
      ratioTarget: { op: '>=', value: LIFECYCLE_VS_XSTATE_TARGET },
      note:
        `whole orders through validateCommand and Warehouse.apply in virtual time: place, authorize, pick.take, ` +
        `a scan per line (2–3 lines), pack, offer, accept, pick-up, delivery with proof, capture; ${PICKERS} pickers ` +
        `and ${COURIERS} couriers (pinging every ${stepMin} min, back to the store after each delivery), ` +
        `${ORDERS_PER_STEP} new orders every ${stepMin} min, events drained and answered after every phase. ` +
        `${fmt(c.placed)} orders, all delivered and paid, in ${c.warehouses} warehouse(s); per order ` +
        `${per(c.commands)} commands (${per(c.pings)} pings) and ${per(c.events)} events (${per(c.trackPoints)} of ` +
        `them track points the core interpolates between pings); mean ${fmt(m.opMeanUs, 1)} µs/order; GC paused ` +
        `the thread ${fmt((100 * m.gcMs) / m.wallMs)}% of the run.`,
    },
  ];
}

async function run(ctx: SuiteContext): Promise<Row[]> {
  const timeMs = ctx.quick ? 300 : 2_000;
  const warmupMs = ctx.quick ? 100 : 300;
  const live = await measure('baseline.xstate.lifecycle', liveActorLifecycles, {
    opsPerCall: LIFECYCLES_PER_CALL,
    timeMs,
    warmupMs,
  });
  const pure = await measure('baseline.xstate.transition', pureLifecycles, {
    opsPerCall: LIFECYCLES_PER_CALL,
    timeMs,
    warmupMs,
  });
  const compiled = await measure('order.machine.compiled', compiledLifecycles, {
    opsPerCall: LIFECYCLES_PER_CALL,
    timeMs,
    warmupMs,
  });
  const lifecycle = await lifecycleRows(ctx);
  const bytes = bytesPerLiveActor();
  const snapshotBytes = bytesPerCompiledSnapshot();
  ctx.log('orders: open orders in memory');
  const memory = orderMemoryRows(ctx, new Workload());
  ctx.log('orders: snapshot stall with open orders');
  const stall = await orderSnapshotStallRows(ctx, new Workload());
  const gcNote = globalThis.gc === undefined ? ' (run without --expose-gc: includes garbage not yet collected)' : '';
  return [
    {
      id: 'baseline.xstate.lifecycle',
      value: live.opsPerSec,
      unit: 'lifecycles/s',
      note: `XState 5 live actor per order: create, start, ${LIFECYCLE.length} sends, stop.`,
    },
    {
      id: 'baseline.xstate.transition',
      value: pure.opsPerSec,
      unit: 'lifecycles/s',
      baseline: 'baseline.xstate.lifecycle',
      note: `pure initialTransition + ${LIFECYCLE.length} transition() calls on the stored snapshot.`,
    },
    {
      id: 'order.machine.compiled',
      value: compiled.opsPerSec,
      unit: 'lifecycles/s',
      baseline: 'baseline.xstate.lifecycle',
      note: `the same machine compiled to a table (actors/compiled-machine.ts), on plain-data snapshots.`,
    },
    {
      id: 'order.machine.snapshot.memory',
      value: snapshotBytes,
      unit: 'bytes',
      baseline: 'baseline.xstate.actor.memory',
      note: `heap per stored compiled snapshot (leaf path + context), ${fmt(MEMORY_ACTORS)} at once${gcNote}.`,
    },
    {
      id: 'baseline.xstate.actor.memory',
      value: bytes,
      unit: 'bytes',
      note: `heap per started order actor, ${fmt(MEMORY_ACTORS)} alive at once${gcNote}.`,
    },
    ...lifecycle,
    ...memory,
    ...stall,
  ];
}

export const ordersSuite: Suite = { name: 'orders', run };
