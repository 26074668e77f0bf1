/**
 * The order lifecycle as an XState v5 machine: the brief's states
 * (created → reserved → picking → packed → courier_assigned → out_for_delivery → delivered, and
 * cancelled, refunded, partially_fulfilled) and the events that move an order between them. Every
 * transition is guarded by the state it leaves: an event the current state does not accept changes
 * nothing. Side effects (release a reservation, void or capture a payment, restock, notify) are
 * named actions the caller reads from `transition()`'s result and executes outside the machine;
 * the machine itself never performs them. Its snapshots are plain data.
 */
import { assign, setup } from 'xstate';
import { CompiledMachine } from './compiled-machine.ts';

export const ORDER_STATES = [
  'created',
  'reserved',
  'picking',
  'packed',
  'courier_assigned',
  'out_for_delivery',
  'delivered',
  'cancelled',
  'refunded',
  'partially_fulfilled',
] as const;

export type OrderState = (typeof ORDER_STATES)[number];

/** The states an order ends in: nothing more happens on the floor (a refund may still follow delivery). */
export const FINAL_ORDER_STATES: ReadonlySet<OrderState> = new Set([
  'delivered',
  'cancelled',
  'refunded',
  'partially_fulfilled',
]);

export type OrderEvent =
  | { type: 'reservation.confirmed' }
  | { type: 'reservation.failed' }
  | { type: 'payment.authorized' }
  | { type: 'payment.declined' }
  | { type: 'pick.started' }
  | { type: 'pick.scanned' }
  | { type: 'pick.stockout' }
  | { type: 'line.dropped' }
  | { type: 'pack.completed' }
  | { type: 'courier.assigned' }
  | { type: 'courier.released' }
  | { type: 'courier.accepted' }
  | { type: 'courier.declined' }
  | { type: 'courier.picked_up' }
  | { type: 'delivery.completed' }
  | { type: 'delivery.returned' }
  | { type: 'order.cancel' }
  | { type: 'payment.refunded' };

export type OrderEventType = OrderEvent['type'];

/** Every order event type, for validation at the boundary. */
export const ORDER_EVENT_TYPES: readonly OrderEventType[] = [
  'reservation.confirmed',
  'reservation.failed',
  'payment.authorized',
  'payment.declined',
  'pick.started',
  'pick.scanned',
  'pick.stockout',
  'line.dropped',
  'pack.completed',
  'courier.assigned',
  'courier.released',
  'courier.accepted',
  'courier.declined',
  'courier.picked_up',
  'delivery.completed',
  'delivery.returned',
  'order.cancel',
  'payment.refunded',
];

/**
 * The events the warehouse raises itself (from `order.place`, `pick.take`, dispatch and its timers);
 * a sender may not send them as `order.event`.
 */
export const INTERNAL_ORDER_EVENTS: ReadonlySet<OrderEventType> = new Set([
  'reservation.confirmed',
  'reservation.failed',
  'pick.started',
  'line.dropped',
  'courier.assigned',
  'courier.released',
]);

/** The events that take an order from placed to delivered, in order (tests and benchmarks drive it). */
export const DELIVERED_PATH: readonly OrderEventType[] = [
  'reservation.confirmed',
  'payment.authorized',
  'pick.started',
  'pack.completed',
  'courier.assigned',
  'courier.picked_up',
  'delivery.completed',
];

export interface OrderContext {
  orderId: string;
  /** Whether the payment hold is in place (authorized, not yet captured or voided). */
  authorized: boolean;
  /** Lines dropped at picking (stockout without substitute): delivery ends partially_fulfilled. */
  droppedLines: number;
}

/**
 * The effects a transition asks for, by name. The warehouse core runs the ones it owns
 * (releaseReservation, restockPicked, queueForPicking); the runtime executes the others after the
 * transition is durable, and their outcomes come back as events.
 */
export type OrderEffect =
  | 'authorizePayment'
  | 'releaseReservation'
  | 'voidAuthorization'
  | 'capturePayment'
  | 'refundPayment'
  | 'restockPicked'
  | 'queueForPicking'
  | 'requestCourier'
  | 'notify';

const effect = (name: OrderEffect) => ({ type: name });

export const orderMachine = setup({
  types: {
    context: {} as OrderContext,
    events: {} as OrderEvent,
    input: {} as { orderId: string },
  },
  actions: {
    authorizePayment: () => {},
    releaseReservation: () => {},
    voidAuthorization: () => {},
    capturePayment: () => {},
    refundPayment: () => {},
    restockPicked: () => {},
    queueForPicking: () => {},
    requestCourier: () => {},
    notify: () => {},
    markAuthorized: assign({ authorized: true }),
    markHoldGone: assign({ authorized: false }),
    countDropped: assign({ droppedLines: ({ context }) => context.droppedLines + 1 }),
  },
  guards: {
    linesDropped: ({ context }) => context.droppedLines > 0,
  },
}).createMachine({
  id: 'order',
  initial: 'created',
  context: ({ input }) => ({ orderId: input.orderId, authorized: false, droppedLines: 0 }),
  states: {
    created: {
      on: {
        'reservation.confirmed': { target: 'reserved', actions: [effect('authorizePayment')] },
        'reservation.failed': { target: 'cancelled', actions: [effect('notify')] },
        'order.cancel': { target: 'cancelled', actions: [effect('notify')] },
      },
    },
    reserved: {
      initial: 'authorizing',
      states: {
        authorizing: {
          on: {
            'payment.authorized': {
              target: 'confirmed',
              actions: ['markAuthorized', effect('queueForPicking'), effect('notify')],
            },
            'payment.declined': {
              target: '#order.cancelled',
              actions: [effect('releaseReservation'), effect('notify')],
            },
          },
        },
        confirmed: {
          on: { 'pick.started': { target: '#order.picking' } },
        },
      },
      on: {
        'order.cancel': {
          target: 'cancelled',
          actions: [effect('releaseReservation'), effect('voidAuthorization'), 'markHoldGone', effect('notify')],
        },
      },
    },
    picking: {
      on: {
        // Scans and stockout reports are accepted only while picking; the core checks their content.
        'pick.scanned': {},
        'pick.stockout': {},
        'line.dropped': { actions: ['countDropped'] },
        'pack.completed': { target: 'packed', actions: [effect('requestCourier'), effect('notify')] },
        'order.cancel': {
          target: 'cancelled',
          actions: [
            effect('restockPicked'),
            effect('releaseReservation'),
            effect('voidAuthorization'),
            'markHoldGone',
            effect('notify'),
          ],
        },
      },
    },
    packed: {
      on: {
        'courier.assigned': { target: 'courier_assigned' },
        'order.cancel': {
          target: 'cancelled',
          actions: [effect('restockPicked'), effect('voidAuthorization'), 'markHoldGone', effect('notify')],
        },
      },
    },
    courier_assigned: {
      on: {
        'courier.accepted': {},
        'courier.declined': { target: 'packed', actions: [effect('requestCourier')] },
        'courier.released': { target: 'packed', actions: [effect('requestCourier')] },
        'courier.picked_up': { target: 'out_for_delivery', actions: [effect('notify')] },
        'order.cancel': {
          target: 'cancelled',
          actions: [effect('restockPicked'), effect('voidAuthorization'), 'markHoldGone', effect('notify')],
        },
      },
    },
    out_for_delivery: {
      on: {
        // A handover (the first courier broke down): the next courier answers the offer on the road.
        'courier.accepted': {},
        'courier.declined': {},
        'delivery.completed': [
          {
            guard: 'linesDropped',
            target: 'partially_fulfilled',
            actions: [effect('capturePayment'), 'markHoldGone', effect('notify')],
          },
          { target: 'delivered', actions: [effect('capturePayment'), 'markHoldGone', effect('notify')] },
        ],
        'delivery.returned': {
          target: 'refunded',
          actions: [effect('restockPicked'), effect('voidAuthorization'), 'markHoldGone', effect('notify')],
        },
      },
    },
    delivered: {
      on: { 'payment.refunded': { target: 'refunded', actions: [effect('refundPayment'), effect('notify')] } },
    },
    partially_fulfilled: {
      on: { 'payment.refunded': { target: 'refunded', actions: [effect('refundPayment'), effect('notify')] } },
    },
    cancelled: { type: 'final' },
    refunded: { type: 'final' },
  },
});

/**
 * The brief's name of a state: nested `reserved.*` states are all `reserved`. Takes XState's value
 * (`'packed'`, `{ reserved: 'authorizing' }`) or a compiled snapshot's leaf path (`'reserved.authorizing'`).
 */
export function orderStateOf(value: unknown): OrderState {
  if (typeof value !== 'string') return Object.keys(value as object)[0] as OrderState;
  // Called for every order event: no array from split on the hot path.
  const dot = value.indexOf('.');
  return (dot < 0 ? value : value.slice(0, dot)) as OrderState;
}

/**
 * The order machine compiled to a lookup table: what the warehouse core runs per order event
 * (see compiled-machine.ts for why); `orderMachine` stays the definition.
 */
export const compiledOrderMachine = new CompiledMachine<OrderContext, OrderEvent>(orderMachine);
