/**
 * The compiled machines (order, courier, pick task) answer exactly as XState's `transition()` does: same next state,
 * same context, same actions in the same order, for random event sequences from every state; an
 * event XState ignores is one the table refuses. And machines using features the compiler does not
 * support are refused when compiling.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AnyStateMachine, createMachine, initialTransition, transition } from 'xstate';
import {
  COURIER_EVENT_TYPES,
  CompiledMachine,
  type CompiledSnapshot,
  compiledCourierMachine,
  compiledOrderMachine,
  compiledPickTaskMachine,
  courierMachine,
  ORDER_EVENT_TYPES,
  orderMachine,
  PICK_TASK_EVENT_TYPES,
  pickTaskMachine,
} from '../../actors/index.ts';

interface Case {
  name: string;
  machine: AnyStateMachine;
  compiled: CompiledMachine<object, { type: string }>;
  events: readonly string[];
  input: Record<string, string>;
}

const CASES: Case[] = [
  {
    name: 'order',
    machine: orderMachine,
    compiled: compiledOrderMachine as never,
    events: ORDER_EVENT_TYPES,
    input: { orderId: 'o-7' },
  },
  {
    name: 'courier',
    machine: courierMachine,
    compiled: compiledCourierMachine as never,
    events: COURIER_EVENT_TYPES,
    input: { courierId: 'c-7' },
  },
  {
    name: 'pick task',
    machine: pickTaskMachine,
    compiled: compiledPickTaskMachine as never,
    events: PICK_TASK_EVENT_TYPES,
    input: { orderId: 'o-7' },
  },
];

/** XState's value (`'packed'` or `{ reserved: 'authorizing' }`) as a leaf path. */
function pathOf(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value as Record<string, unknown>)[0] as [string, unknown];
  return `${key}.${pathOf(child)}`;
}

describe('compiled machines', () => {
  it.each(CASES)('$name: agrees with XState transition() on every step of random event sequences', (c) => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...c.events), { maxLength: 40 }), (types) => {
        let [reference] = initialTransition(c.machine, c.input);
        let compiled: CompiledSnapshot<object> = c.compiled.initial(c.input);
        expect(compiled.value).toBe(pathOf(reference.value));
        expect(compiled.context).toEqual(reference.context);
        for (const type of types) {
          const [next, actions] = transition(c.machine, reference, { type });
          const step = c.compiled.transition(compiled, { type });
          if (step === undefined) {
            // Refused by the table: XState must have ignored it too.
            expect(pathOf(next.value)).toBe(pathOf(reference.value));
            expect(next.context).toEqual(reference.context);
            expect(actions).toEqual([]);
          } else {
            expect(step.snapshot.value).toBe(pathOf(next.value));
            expect(step.snapshot.context).toEqual(next.context);
            expect(step.actions).toEqual(actions.map((a) => a.type));
            compiled = step.snapshot;
          }
          reference = next;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps snapshots as plain data that survive structuredClone', () => {
    const s = compiledOrderMachine.initial({ orderId: 'o-1' });
    const step = compiledOrderMachine.transition(structuredClone(s), { type: 'reservation.confirmed' });
    expect(step?.snapshot).toEqual({
      value: 'reserved.authorizing',
      context: { orderId: 'o-1', authorized: false, droppedLines: 0 },
    });
  });

  it('refuses machines with features it does not run', () => {
    const withAlways = createMachine({ initial: 'a', states: { a: { always: 'b' }, b: {} } });
    expect(() => new CompiledMachine(withAlways)).toThrow(/always transitions/);
    const withEntry = createMachine({ initial: 'a', states: { a: { entry: () => {} } } });
    expect(() => new CompiledMachine(withEntry)).toThrow(/entry\/exit/);
    const parallel = createMachine({ type: 'parallel', states: { a: {}, b: {} } });
    expect(() => new CompiledMachine(parallel)).toThrow(/parallel/);
  });
});
