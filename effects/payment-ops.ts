/**
 * The payment operations the effect executor runs, as plain data: which `order.effect` asks for which
 * operation, the operations a recovered order still owes, and the keys that make running one twice
 * harmless (the provider's idempotency key and the warehouse's command key). Pure: it never calls
 * the provider, never reads a clock and never submits anything.
 */
import { createHash } from 'node:crypto';
import { type EngineEvent, limits, type OrderRecord, type PaymentOperation } from '../engine/index.ts';

/** One operation asked of the provider for one order. */
export interface PaymentOp {
  orderId: string;
  operation: PaymentOperation;
  /** What to hold, capture or refund (ignored by a void). */
  amountCents: number;
  paymentToken?: string;
  authorizationId?: string;
  /** `unavailable` outcomes the warehouse had counted for the order when the op was offered. */
  failuresBefore: number;
  /** An authorize that may have reached the provider unanswered: tried until it answers. */
  uncertain?: boolean;
}

/** The fields of an order that `resume` reads; an `OrderRecord` has them all. */
export type ResumableOrder = Pick<
  OrderRecord,
  'orderId' | 'paymentToken' | 'amountCents' | 'adjustmentCents' | 'authorizationId' | 'payment'
>;

/** Effects that move money, by the operation they ask of the provider. Other effects are not ours. */
const OPERATION_OF_EFFECT: ReadonlyMap<string, PaymentOperation> = new Map([
  ['authorizePayment', 'authorize'],
  ['voidAuthorization', 'void'],
  ['capturePayment', 'capture'],
  ['refundPayment', 'refund'],
]);

/** The payment operation a committed event asks for, if it asks for one. */
export function opOfEvent(event: EngineEvent): PaymentOp | undefined {
  if (event.type !== 'order.effect') return undefined;
  const operation = OPERATION_OF_EFFECT.get(event.effect);
  if (operation === undefined) return undefined;
  return {
    orderId: event.orderId,
    operation,
    amountCents: event.amountCents,
    paymentToken: event.paymentToken,
    authorizationId: event.authorizationId,
    failuresBefore: 0,
  };
}

/**
 * The operations a recovered order still owes: every one in `payment.pending`, with the amounts the
 * order record implies. A capture takes the amount less what was dropped at picking; a refund gives
 * back what was captured and not yet refunded (the whole capture amount when nothing is recorded as
 * captured). If the first attempt reached the provider, the amount does not matter: the provider
 * answers a repeated key with its first outcome.
 */
export function opsOfOrder(order: ResumableOrder): PaymentOp[] {
  const captureCents = order.amountCents - order.adjustmentCents;
  const refundableCents = order.payment.capturedCents - order.payment.refundedCents;
  return order.payment.pending.map((operation) => ({
    orderId: order.orderId,
    operation,
    amountCents:
      operation === 'authorize'
        ? order.amountCents
        : operation === 'refund' && refundableCents > 0
          ? refundableCents
          : captureCents,
    paymentToken: order.paymentToken,
    authorizationId: order.authorizationId,
    failuresBefore: order.payment.failures,
    ...(operation === 'authorize' && order.payment.authorizeUncertain === true ? { uncertain: true } : {}),
  }));
}

/**
 * The provider's idempotency key of an operation: one per (warehouse, order, operation), the same
 * in every process that ever runs it, so a retry or a resumed operation never moves money twice.
 */
export function providerKey(warehouseId: string, orderId: string, operation: PaymentOperation): string {
  return `${warehouseId}:${orderId}:${operation}`;
}

/**
 * The command key of a `payment.outcome`: `pay:<order>:<operation>:<suffix>`, the suffix being the
 * final outcome (`succeeded`, `declined`) or `unavailable:<n>`, numbered per report, so that each
 * report of an outage and the final answer have different keys, while the final answer, sent again
 * after a restart, repeats its key and body and is answered as a duplicate. An order id too long for
 * the key is replaced by a digest of it.
 */
export function outcomeKey(orderId: string, operation: PaymentOperation, suffix: string): string {
  const key = `pay:${orderId}:${operation}:${suffix}`;
  if (key.length <= limits.ID_LENGTH_MAX) return key;
  const digest = createHash('sha256').update(orderId).digest('hex').slice(0, 40);
  return `pay:#${digest}:${operation}:${suffix}`;
}
