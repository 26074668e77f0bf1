/**
 * The `orders` suite, first rows: what XState itself costs for the order machine, measured the two
 * ways the core could drive it: a live actor per order (`send`), and the pure `transition()` on a
 * stored snapshot. These are the baselines the full order lifecycle (`order.lifecycle`, with the
 * warehouse, picking and dispatch around it) will be compared with, and they decide how the core
 * holds open orders: `baseline.xstate.actor.memory` is the heap one live actor keeps.
 */
import { createActor, initialTransition, transition } from 'xstate';
import { compiledOrderMachine, DELIVERED_PATH, orderMachine } from '../actors/index.ts';
import { fmt, measure } from './measure.ts';
import type { Row, Suite, SuiteContext } from './suite.ts';

/** The seven transitions of a delivered order. */
const LIFECYCLE = DELIVERED_PATH;
const LIFECYCLES_PER_CALL = 100;
const MEMORY_ACTORS = 20_000;

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
  const bytes = bytesPerLiveActor();
  const snapshotBytes = bytesPerCompiledSnapshot();
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
  ];
}

export const ordersSuite: Suite = { name: 'orders', run };
