/**
 * The courier lifecycle as an XState v5 machine, in the brief's states: `available`, `assigned`
 * (offered an order, not yet acknowledged), `en_route_to_pickup`, `en_route_to_delivery`,
 * `returning`, `offline`. Every transition is guarded by the state it leaves: an event the current
 * state does not accept changes nothing, and the warehouse core treats that as a refusal. The
 * machine only names where a courier is in its shift; dispatch decisions and timers live in the
 * core. Run through `CompiledMachine`, so its snapshots are plain data on the courier record.
 */
import { setup } from 'xstate';
import { CompiledMachine } from './compiled-machine.ts';

export const COURIER_STATES = [
  'available',
  'assigned',
  'en_route_to_pickup',
  'en_route_to_delivery',
  'returning',
  'offline',
] as const;

export type CourierState = (typeof COURIER_STATES)[number];

export type CourierEvent =
  | { type: 'courier.checked_in' }
  | { type: 'courier.checked_out' }
  | { type: 'dispatch.offered' }
  | { type: 'dispatch.accepted' }
  /** Accepting an order already on the road (taken over from a broken-down courier). */
  | { type: 'dispatch.handover_accepted' }
  | { type: 'dispatch.declined' }
  | { type: 'dispatch.timed_out' }
  | { type: 'order.released' }
  | { type: 'order.picked_up' }
  | { type: 'order.delivered' }
  | { type: 'order.returned' }
  | { type: 'courier.arrived' }
  | { type: 'courier.silent' }
  | { type: 'courier.broke_down' };

export type CourierEventType = CourierEvent['type'];

export const COURIER_EVENT_TYPES: readonly CourierEventType[] = [
  'courier.checked_in',
  'courier.checked_out',
  'dispatch.offered',
  'dispatch.accepted',
  'dispatch.handover_accepted',
  'dispatch.declined',
  'dispatch.timed_out',
  'order.released',
  'order.picked_up',
  'order.delivered',
  'order.returned',
  'courier.arrived',
  'courier.silent',
  'courier.broke_down',
];

export interface CourierContext {
  courierId: string;
}

/** Going offline from anywhere on shift: silence or a breakdown. */
const goOffline = {
  'courier.silent': { target: '#courier.offline' },
  'courier.broke_down': { target: '#courier.offline' },
};

export const courierMachine = setup({
  types: {
    context: {} as CourierContext,
    events: {} as CourierEvent,
    input: {} as { courierId: string },
  },
}).createMachine({
  id: 'courier',
  initial: 'offline',
  context: ({ input }) => ({ courierId: input.courierId }),
  states: {
    offline: {
      on: { 'courier.checked_in': { target: 'available' } },
    },
    available: {
      on: {
        'dispatch.offered': { target: 'assigned' },
        'courier.checked_out': { target: 'offline' },
        ...goOffline,
      },
    },
    assigned: {
      on: {
        'dispatch.accepted': { target: 'en_route_to_pickup' },
        'dispatch.handover_accepted': { target: 'en_route_to_delivery' },
        'dispatch.declined': { target: 'available' },
        'dispatch.timed_out': { target: 'available' },
        'order.released': { target: 'available' },
        ...goOffline,
      },
    },
    en_route_to_pickup: {
      on: {
        'order.picked_up': { target: 'en_route_to_delivery' },
        'order.released': { target: 'available' },
        ...goOffline,
      },
    },
    en_route_to_delivery: {
      on: {
        'order.delivered': { target: 'returning' },
        // Brought back to the store (customer unavailable): the courier is at the store again.
        'order.returned': { target: 'available' },
        ...goOffline,
      },
    },
    returning: {
      on: {
        'dispatch.offered': { target: 'assigned' },
        'courier.arrived': { target: 'available' },
        'courier.checked_out': { target: 'offline' },
        ...goOffline,
      },
    },
  },
});

/** The courier machine compiled to a lookup table: what the warehouse core runs per courier event. */
export const compiledCourierMachine = new CompiledMachine<CourierContext, CourierEvent>(courierMachine);
