/**
 * One call to the payment provider for one operation, and the `payment.outcome` command that reports
 * its answer. The call always carries the operation's stable idempotency key; the command's key is
 * deterministic (see `outcomeKey`). It never retries (the gateway does within a try, the executor
 * across tries) and never submits anything.
 */
import { limits, type PaymentOutcomeCommand } from '../engine/index.ts';
import type { PaymentFailure, PaymentGateway } from '../payments/index.ts';
import { outcomeKey, type PaymentOp, providerKey } from './payment-ops.ts';

/** A provider answer reduced to what the outcome command carries. */
export type Answer = { ok: true; authorizationId?: string; amountCents?: number } | PaymentFailure;

/**
 * Asks the provider for `op`. An operation that cannot be asked (no token, no authorization to act
 * on) is answered `declined` here, so the warehouse hears of it instead of waiting forever.
 */
export async function callProvider(gateway: PaymentGateway, warehouseId: string, op: PaymentOp): Promise<Answer> {
  const key = providerKey(warehouseId, op.orderId, op.operation);
  const { orderId, amountCents, paymentToken, authorizationId } = op;
  try {
    if (op.operation === 'authorize') {
      if (paymentToken === undefined) return { ok: false, reason: 'declined', message: 'no payment token' };
      const r = await gateway.authorize({ idempotencyKey: key, orderId, paymentToken, amountCents });
      return r.ok ? { ok: true, authorizationId: r.value.authorizationId } : r;
    }
    if (authorizationId === undefined) {
      return { ok: false, reason: 'declined', message: `no authorization to ${op.operation}` };
    }
    if (op.operation === 'void') {
      const r = await gateway.void(key, authorizationId);
      return r.ok ? { ok: true } : r;
    }
    if (op.operation === 'capture') {
      const r = await gateway.capture(key, authorizationId, amountCents);
      return r.ok ? { ok: true, amountCents: r.value.capturedCents } : r;
    }
    const r = await gateway.refund(key, authorizationId, amountCents);
    return r.ok ? { ok: true, amountCents: r.value.refundedCents } : r;
  } catch (error) {
    // A gateway that throws broke its contract; trying again is safe (same key), losing the op is
    // not. Whether the call reached the provider is unknown.
    return { ok: false, reason: 'unavailable', message: `gateway error: ${String(error)}`, uncertain: true };
  }
}

/**
 * The command reporting `answer`. `reportNumber` numbers an unavailable report (its key must differ
 * from every earlier report of the same operation and from the final answer's).
 */
export function outcomeCommand(op: PaymentOp, answer: Answer, reportNumber: number): PaymentOutcomeCommand {
  const { orderId, operation } = op;
  if (answer.ok) {
    const key = outcomeKey(orderId, operation, 'succeeded');
    const command: PaymentOutcomeCommand = { type: 'payment.outcome', key, orderId, operation, outcome: 'succeeded' };
    if (answer.authorizationId !== undefined) command.authorizationId = answer.authorizationId;
    if (answer.amountCents !== undefined) command.amountCents = answer.amountCents;
    return command;
  }
  // Within the warehouse's text limit, and well-formed after the cut (a lone surrogate is refused).
  const message = answer.message.slice(0, limits.TEXT_LENGTH_MAX).replace(/[\uD800-\uDFFF]/gu, '\uFFFD');
  const suffix = answer.reason === 'declined' ? 'declined' : `unavailable:${reportNumber}`;
  const key = outcomeKey(orderId, operation, suffix);
  const command: PaymentOutcomeCommand = {
    type: 'payment.outcome',
    key,
    orderId,
    operation,
    outcome: answer.reason,
    message,
  };
  if (answer.reason === 'unavailable' && (answer.uncertain === true || op.uncertain === true)) command.uncertain = true;
  return command;
}
