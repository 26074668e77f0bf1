/**
 * The pick-task lifecycle as an XState v5 machine: a confirmed order's task waits `queued` until a
 * picker takes it (`picking`), goes back to the queue if the picker leaves mid-task, ends `done`
 * when the order is packed or `cancelled` with the order. Guarded by the state it leaves; run
 * through `CompiledMachine`, so its snapshots are plain data on the order record.
 */
import { setup } from 'xstate';
import { CompiledMachine } from './compiled-machine.ts';

export const PICK_TASK_STATES = ['queued', 'picking', 'done', 'cancelled'] as const;

export type PickTaskState = (typeof PICK_TASK_STATES)[number];

export type PickTaskEvent =
  | { type: 'task.taken' }
  | { type: 'task.returned' }
  | { type: 'task.packed' }
  | { type: 'task.cancelled' };

export type PickTaskEventType = PickTaskEvent['type'];

export const PICK_TASK_EVENT_TYPES: readonly PickTaskEventType[] = [
  'task.taken',
  'task.returned',
  'task.packed',
  'task.cancelled',
];

export interface PickTaskContext {
  orderId: string;
}

export const pickTaskMachine = setup({
  types: {
    context: {} as PickTaskContext,
    events: {} as PickTaskEvent,
    input: {} as { orderId: string },
  },
}).createMachine({
  id: 'pickTask',
  initial: 'queued',
  context: ({ input }) => ({ orderId: input.orderId }),
  states: {
    queued: {
      on: {
        'task.taken': { target: 'picking' },
        'task.cancelled': { target: 'cancelled' },
        // Packed after its picker checked out with every line scanned: the task went back to the queue.
        'task.packed': { target: 'done' },
      },
    },
    picking: {
      on: {
        'task.returned': { target: 'queued' },
        'task.packed': { target: 'done' },
        'task.cancelled': { target: 'cancelled' },
      },
    },
    done: { type: 'final' },
    cancelled: { type: 'final' },
  },
});

/** The pick-task machine compiled to a lookup table. */
export const compiledPickTaskMachine = new CompiledMachine<PickTaskContext, PickTaskEvent>(pickTaskMachine);
