/**
 * The boundary for order events and the fulfilment floor: order events with the facts each one
 * carries (a scan, a stockout, a pack, a courier's answer, a delivery proof), payment outcomes,
 * the warehouse's configuration, pickers and couriers (a ping with its trail of earlier points).
 * Builds canonical commands in a fixed field order or throws `Invalid` (caught by
 * `validateCommand`). Pure: never touches state.
 */
import {
  INTERNAL_ORDER_EVENTS,
  ORDER_EVENT_TYPES,
  ORDER_STATES,
  type OrderEventType,
  type OrderState,
} from '../actors/index.ts';
import { BAGS_PER_ORDER_MAX, PING_TRAIL_MAX, PRICE_CENTS_MAX, QUANTITY_MAX } from './limits.ts';
import type {
  Command,
  CourierPingCommand,
  OrderEventCommand,
  PaymentOperation,
  PaymentOutcomeCommand,
  TrailPoint,
} from './types.ts';
import { array, bool, fail, finite, geoPoint, id, int, key, type Obj, object, text } from './validate-fields.ts';

const PAYMENT_OPERATIONS: readonly PaymentOperation[] = ['authorize', 'capture', 'void', 'refund'];
const PAYMENT_OUTCOMES = ['succeeded', 'declined', 'unavailable'] as const;
const DAY_MS = 24 * 60 * 60 * 1_000;
/** Device clocks are believed between 2000 and 2200 (milliseconds since the epoch). */
const DEVICE_TIME_MIN_MS = 946_684_800_000;
const DEVICE_TIME_MAX_MS = 7_258_118_400_000;

/** The facts an event must carry, checked into `cmd` (required ones must be present). */
function need(o: Obj, cmd: OrderEventCommand, ...fields: string[]): void {
  for (const field of fields) if (o[field] === undefined) fail(field, `is required for ${cmd.event}`);
}

function eventFacts(o: Obj, cmd: OrderEventCommand): void {
  switch (cmd.event) {
    case 'pick.scanned':
      need(o, cmd, 'scanId', 'sku', 'quantity');
      break;
    case 'pick.stockout':
      need(o, cmd, 'sku');
      break;
    case 'pack.completed':
      need(o, cmd, 'bagCount', 'stagingSlot');
      break;
    case 'courier.accepted':
    case 'courier.declined':
    case 'courier.picked_up':
    case 'delivery.returned':
      need(o, cmd, 'courierId');
      break;
    case 'delivery.completed':
      need(o, cmd, 'courierId', 'position');
      break;
    default:
  }
  if (o.authorizationId !== undefined) cmd.authorizationId = id(o.authorizationId, 'authorizationId');
  if (o.courierId !== undefined) cmd.courierId = id(o.courierId, 'courierId');
  if (o.reason !== undefined) cmd.reason = text(o.reason, 'reason');
  if (o.scanId !== undefined) cmd.scanId = id(o.scanId, 'scanId');
  if (o.sku !== undefined) cmd.sku = id(o.sku, 'sku');
  if (o.quantity !== undefined) cmd.quantity = int(o.quantity, 'quantity', 1, QUANTITY_MAX);
  if (o.bagCount !== undefined) cmd.bagCount = int(o.bagCount, 'bagCount', 1, BAGS_PER_ORDER_MAX);
  if (o.stagingSlot !== undefined) cmd.stagingSlot = id(o.stagingSlot, 'stagingSlot');
  if (o.position !== undefined) cmd.position = geoPoint(o.position, 'position');
  if (o.safeDrop !== undefined) cmd.safeDrop = bool(o.safeDrop, 'safeDrop');
}

export function orderEvent(input: unknown): Command {
  const o = object(input, '', [
    'type',
    'key',
    'orderId',
    'eventId',
    'expectedState',
    'event',
    'authorizationId',
    'courierId',
    'reason',
    'scanId',
    'sku',
    'quantity',
    'bagCount',
    'stagingSlot',
    'position',
    'safeDrop',
  ]);
  const expectedState = o.expectedState as OrderState;
  if (!ORDER_STATES.includes(expectedState)) fail('expectedState', `must be one of ${ORDER_STATES.join(', ')}`);
  const event = o.event as OrderEventType;
  if (!ORDER_EVENT_TYPES.includes(event)) fail('event', `must be one of ${ORDER_EVENT_TYPES.join(', ')}`);
  if (INTERNAL_ORDER_EVENTS.has(event)) fail('event', `${event} is raised by the warehouse itself`);
  const cmd: OrderEventCommand = {
    type: 'order.event',
    key: key(o),
    orderId: id(o.orderId, 'orderId'),
    eventId: id(o.eventId, 'eventId'),
    expectedState,
    event,
  };
  eventFacts(o, cmd);
  return cmd;
}

function paymentOutcome(input: unknown): Command {
  const o = object(input, '', [
    'type',
    'key',
    'orderId',
    'operation',
    'outcome',
    'authorizationId',
    'amountCents',
    'message',
    'uncertain',
  ]);
  const operation = o.operation as PaymentOperation;
  if (!PAYMENT_OPERATIONS.includes(operation)) fail('operation', `must be one of ${PAYMENT_OPERATIONS.join(', ')}`);
  const outcome = o.outcome as PaymentOutcomeCommand['outcome'];
  if (!PAYMENT_OUTCOMES.includes(outcome)) fail('outcome', `must be one of ${PAYMENT_OUTCOMES.join(', ')}`);
  const cmd: PaymentOutcomeCommand = {
    type: 'payment.outcome',
    key: key(o),
    orderId: id(o.orderId, 'orderId'),
    operation,
    outcome,
  };
  if (o.authorizationId !== undefined) cmd.authorizationId = id(o.authorizationId, 'authorizationId');
  else if (operation === 'authorize' && outcome === 'succeeded') fail('authorizationId', 'is required');
  if (o.amountCents !== undefined) cmd.amountCents = int(o.amountCents, 'amountCents', 0, PRICE_CENTS_MAX * 1_000);
  if (o.message !== undefined) cmd.message = text(o.message, 'message');
  if (o.uncertain !== undefined) {
    if (outcome !== 'unavailable') fail('uncertain', 'only goes with outcome unavailable');
    if (bool(o.uncertain, 'uncertain')) cmd.uncertain = true;
  }
  return cmd;
}

function configure(input: unknown): Command {
  const o = object(input, '', [
    'type',
    'key',
    'location',
    'pendingDispatchEscalationMs',
    'pickPackSlowMs',
    'courierSpeedKmh',
  ]);
  const cmd: Command = { type: 'warehouse.configure', key: key(o), location: geoPoint(o.location, 'location') };
  if (o.pendingDispatchEscalationMs !== undefined) {
    cmd.pendingDispatchEscalationMs = int(o.pendingDispatchEscalationMs, 'pendingDispatchEscalationMs', 1_000, DAY_MS);
  }
  if (o.pickPackSlowMs !== undefined) cmd.pickPackSlowMs = int(o.pickPackSlowMs, 'pickPackSlowMs', 1_000, DAY_MS);
  if (o.courierSpeedKmh !== undefined) cmd.courierSpeedKmh = finite(o.courierSpeedKmh, 'courierSpeedKmh', 1, 200);
  return cmd;
}

function deviceTime(value: unknown, path: string): number {
  return int(value, path, DEVICE_TIME_MIN_MS, DEVICE_TIME_MAX_MS);
}

function trailPoint(item: unknown, p: string): TrailPoint {
  const o = object(item, p, ['position', 'deviceTimeMs']);
  return {
    position: geoPoint(o.position, `${p}.position`),
    deviceTimeMs: deviceTime(o.deviceTimeMs, `${p}.deviceTimeMs`),
  };
}

/**
 * A ping's trail: earlier points, oldest first, device times strictly rising and below the ping's
 * own. The order is checked here so the warehouse only ever sees a well-formed track.
 */
function trail(value: unknown, deviceTimeMs: number): TrailPoint[] {
  const items = array(value, 'trail', 0, PING_TRAIL_MAX);
  const points: TrailPoint[] = [];
  for (let i = 0; i < items.length; i++) {
    const point = trailPoint(items[i], `trail[${i}]`);
    const previous = points[i - 1];
    if (previous !== undefined && point.deviceTimeMs <= previous.deviceTimeMs) {
      fail(`trail[${i}].deviceTimeMs`, `must be later than trail[${i - 1}].deviceTimeMs`);
    }
    if (point.deviceTimeMs >= deviceTimeMs) fail(`trail[${i}].deviceTimeMs`, 'must be earlier than deviceTimeMs');
    points.push(point);
  }
  return points;
}

function courierPing(input: unknown): Command {
  const o = object(input, '', ['type', 'key', 'courierId', 'position', 'deviceTimeMs', 'trail']);
  const cmd: CourierPingCommand = {
    type: 'courier.ping',
    key: key(o),
    courierId: id(o.courierId, 'courierId'),
    position: geoPoint(o.position, 'position'),
    deviceTimeMs: deviceTime(o.deviceTimeMs, 'deviceTimeMs'),
  };
  // An empty trail means the same as none: the canonical command (and its fingerprint) leaves it out.
  if (o.trail !== undefined) {
    const points = trail(o.trail, cmd.deviceTimeMs);
    if (points.length > 0) cmd.trail = points;
  }
  return cmd;
}

/** The fulfilment commands by type; anything else is not a known command. */
export function fulfillmentCommand(input: unknown, type: unknown): Command {
  switch (type) {
    case 'payment.outcome':
      return paymentOutcome(input);
    case 'warehouse.configure':
      return configure(input);
    case 'picker.check_in':
    case 'picker.check_out':
    case 'pick.take': {
      const o = object(input, '', ['type', 'key', 'pickerId']);
      return { type, key: key(o), pickerId: id(o.pickerId, 'pickerId') };
    }
    case 'courier.check_in': {
      const o = object(input, '', ['type', 'key', 'courierId', 'position']);
      return { type, key: key(o), courierId: id(o.courierId, 'courierId'), position: geoPoint(o.position, 'position') };
    }
    case 'courier.check_out':
    case 'courier.breakdown': {
      const o = object(input, '', ['type', 'key', 'courierId']);
      return { type, key: key(o), courierId: id(o.courierId, 'courierId') };
    }
    case 'courier.ping':
      return courierPing(input);
    default:
      return fail('type', 'is not a known command');
  }
}
