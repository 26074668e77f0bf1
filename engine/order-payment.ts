/**
 * The money side of an order inside the warehouse: which payment operations the order's
 * transitions ask of the provider (announced as `order.effect`, remembered as pending until their
 * outcome comes back, so a restarted executor resumes them), and what each outcome does
 * (`payment.outcome`): an authorization confirms the order or, if the order was cancelled
 * meanwhile, is voided at once; a capture, void or refund that could not reach the provider stays
 * pending and is retried by the executor. Never performs I/O: the provider is called outside.
 */
import { orderStateOf } from '../actors/index.ts';
import { notFound } from './errors.ts';
import type { CommandContext, WarehouseState } from './state.ts';
import type { CancelReason, OrderRecord, PaymentOperation, PaymentOutcomeCommand, Result } from './types.ts';

const EFFECT_OF: Record<PaymentOperation, string> = {
  authorize: 'authorizePayment',
  capture: 'capturePayment',
  void: 'voidAuthorization',
  refund: 'refundPayment',
};

/** What the order's customer pays on delivery: the amount less the lines dropped at picking. */
export function chargeCents(order: OrderRecord): number {
  return order.amountCents - order.adjustmentCents;
}

function removePending(order: OrderRecord, operation: PaymentOperation): boolean {
  const i = order.payment.pending.indexOf(operation);
  if (i < 0) return false;
  order.payment.pending.splice(i, 1);
  return true;
}

/** Asks the provider for an operation (once while it is pending). */
export function requestPayment(state: WarehouseState, order: OrderRecord, operation: PaymentOperation): void {
  if (!order.payment.pending.includes(operation)) order.payment.pending.push(operation);
  const amountCents =
    operation === 'authorize'
      ? order.amountCents
      : operation === 'refund'
        ? order.payment.capturedCents
        : chargeCents(order);
  const event: Extract<(typeof state.events)[number], { type: 'order.effect' }> = {
    type: 'order.effect',
    orderId: order.orderId,
    effect: EFFECT_OF[operation],
    amountCents,
  };
  if (operation === 'authorize') event.paymentToken = order.paymentToken;
  if (order.authorizationId !== undefined) event.authorizationId = order.authorizationId;
  state.events.push(event);
}

/** The hold will not be captured: void it if it exists; one still being authorized is voided when it lands. */
export function voidHold(state: WarehouseState, order: OrderRecord): void {
  removePending(order, 'capture');
  if (order.authorizationId !== undefined && !order.payment.voided && order.payment.capturedCents === 0) {
    requestPayment(state, order, 'void');
  }
}

/**
 * Money goes back: refund what was captured; while the capture is still owed (in flight or being
 * retried), wait for its outcome, since the provider may take the money yet; otherwise void the hold.
 */
export function refundOrder(state: WarehouseState, order: OrderRecord): void {
  if (order.payment.capturedCents > 0) requestPayment(state, order, 'refund');
  else if (order.payment.pending.includes('capture')) order.payment.refundOnCapture = true;
  else voidHold(state, order);
}

/** A capture's outcome: record the money taken, or hand back what a refund asked for meanwhile. */
function settleCapture(state: WarehouseState, order: OrderRecord, cmd: PaymentOutcomeCommand): void {
  const refund = order.payment.refundOnCapture;
  order.payment.refundOnCapture = false;
  if (cmd.outcome === 'succeeded') {
    order.payment.capturedCents = cmd.amountCents ?? chargeCents(order);
    if (refund) requestPayment(state, order, 'refund');
  } else if (refund) {
    // Refused, and refunded meanwhile: nothing was taken; let the hold go.
    voidHold(state, order);
  } else refused(state, order, cmd);
}

function refused(state: WarehouseState, order: OrderRecord, cmd: PaymentOutcomeCommand): void {
  state.events.push({
    type: 'escalation.raised',
    kind: 'payment_refused',
    orderId: order.orderId,
    detail: `the provider refused to ${cmd.operation}: ${cmd.message ?? 'no reason given'}`,
  });
}

/** The authorization id arrived some other way (an `order.event payment.authorized`). */
export function authorizationSettled(order: OrderRecord, authorizationId: string | undefined): void {
  removePending(order, 'authorize');
  if (authorizationId !== undefined) order.authorizationId = authorizationId;
}

type FireOrderEvent = (
  order: OrderRecord,
  type: 'payment.authorized' | 'payment.declined' | 'order.cancel',
  reason?: CancelReason,
) => void;

function settleAuthorize(state: WarehouseState, order: OrderRecord, cmd: PaymentOutcomeCommand, fire: FireOrderEvent) {
  const authorizing = order.lifecycle.value === 'reserved.authorizing';
  if (cmd.outcome === 'succeeded') {
    order.authorizationId = cmd.authorizationId;
    if (authorizing) fire(order, 'payment.authorized');
    // The order was cancelled (or expired) while the hold was being placed: let it go at once.
    else if (['cancelled', 'refunded'].includes(orderStateOf(order.lifecycle.value))) voidHold(state, order);
  } else if (authorizing) {
    // Declined, or the provider stayed unreachable: the checkout fails and compensates.
    if (cmd.outcome === 'declined') fire(order, 'payment.declined', 'payment_declined');
    else fire(order, 'order.cancel', 'payment_unavailable');
  }
}

export function applyPaymentOutcome(
  state: WarehouseState,
  ctx: CommandContext,
  cmd: PaymentOutcomeCommand,
  fire: FireOrderEvent,
): Result {
  const order = state.orders.get(cmd.orderId);
  if (order === undefined) return { ok: false, error: notFound('order', cmd.orderId) };
  const result = (applied: boolean): Result => ({
    ok: true,
    value: { kind: 'payment', orderId: order.orderId, operation: cmd.operation, applied },
  });
  if (!order.payment.pending.includes(cmd.operation)) return result(false);
  order.updatedAtMs = ctx.atMs;
  if (cmd.outcome === 'unavailable' && cmd.operation !== 'authorize') {
    order.payment.failures++;
    return result(true);
  }
  if (cmd.outcome === 'unavailable' && (cmd.uncertain === true || order.payment.authorizeUncertain === true)) {
    // The checkout fails now, but the provider may have placed the hold before its answer was lost:
    // the authorize stays owed, and a hold that turns up on the cancelled order is voided.
    order.payment.authorizeUncertain = true;
    order.payment.failures++;
    if (order.lifecycle.value === 'reserved.authorizing') fire(order, 'order.cancel', 'payment_unavailable');
    return result(true);
  }
  removePending(order, cmd.operation);
  if (cmd.operation === 'authorize') {
    delete order.payment.authorizeUncertain;
    settleAuthorize(state, order, cmd, fire);
  } else if (cmd.operation === 'capture') settleCapture(state, order, cmd);
  else if (cmd.outcome === 'declined') refused(state, order, cmd);
  else if (cmd.operation === 'void') order.payment.voided = true;
  else order.payment.refundedCents = cmd.amountCents ?? order.payment.capturedCents;
  return result(true);
}
