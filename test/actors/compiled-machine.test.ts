/**
 * The compiled order machine answers exactly as XState's `transition()` does: same next state,
 * same context, same actions in the same order, for random event sequences from every state; an
 * event XState ignores is one the table refuses. And machines using features the compiler does not
 * support are refused when compiling.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMachine, initialTransition, transition } from 'xstate';
import {
  CompiledMachine,
  type CompiledSnapshot,
  compiledOrderMachine,
  ORDER_EVENT_TYPES,
  type OrderContext,
  type OrderEventType,
  orderMachine,
} from '../../actors/index.ts';

const EVENTS: readonly OrderEventType[] = ORDER_EVENT_TYPES;

/** XState's value (`'packed'` or `{ reserved: 'authorizing' }`) as a leaf path. */
function pathOf(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value as Record<string, unknown>)[0] as [string, unknown];
  return `${key}.${pathOf(child)}`;
}

describe('compiled order machine', () => {
  it('agrees with XState transition() on every step of random event sequences', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...EVENTS), { maxLength: 40 }), (types) => {
        let [reference] = initialTransition(orderMachine, { orderId: 'o-7' });
        let compiled: CompiledSnapshot<OrderContext> = compiledOrderMachine.initial({ orderId: 'o-7' });
        expect(compiled.value).toBe(pathOf(reference.value));
        expect(compiled.context).toEqual(reference.context);
        for (const type of types) {
          const [next, actions] = transition(orderMachine, reference, { type });
          const step = compiledOrderMachine.transition(compiled, { type });
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
      { numRuns: 500 },
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
