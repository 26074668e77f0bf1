/**
 * The payment provider as the embedded run sees it: it answers each payment effect a committed
 * event asks for (`opOfEvent`) with a `payment.outcome` after the provider's latency, declines a
 * share of holds, and answers `unavailable` through an outage window. What the region's effect
 * executor does on `unavailable` is kept: a hold is given up (the order is cancelled), a capture,
 * void or refund is tried again on the executor's own schedule until it is answered.
 */
import { opOfEvent, retryStepMs } from '../effects/index.ts';
import type { EngineEvent, PaymentOutcomeCommand } from '../engine/index.ts';
import { inWindow, type SimContext } from './context.ts';
import type { Random } from './random.ts';

/** Labels of the per-store random streams (`ctx.random(PAYMENT_STREAM + store index)`). */
const PAYMENT_STREAM = 2_000;

export class PaymentDesk {
  calls = 0;

  constructor(private readonly ctx: SimContext) {}

  /**
   * The provider's draws for one store's payments: a stream per store, so what one store's payments
   * draw never depends on another's (a partitioned run plays the stores on separate threads).
   */
  private random(warehouseId: string): Random {
    return this.ctx.random(PAYMENT_STREAM + this.ctx.warehouse(warehouseId).index);
  }

  handle(warehouseId: string, event: EngineEvent): void {
    const op = opOfEvent(event);
    if (op === undefined) return;
    this.call(warehouseId, op.orderId, op.operation, op.amountCents, 0);
  }

  private call(
    warehouseId: string,
    orderId: string,
    operation: PaymentOutcomeCommand['operation'],
    amountCents: number,
    tries: number,
  ): void {
    const { latencyMs, declineRate, outage } = this.ctx.scenario.payments;
    const random = this.random(warehouseId);
    this.ctx.agenda.after(random.between(latencyMs.min, latencyMs.max), () => {
      this.calls++;
      const down = inWindow(outage, this.ctx.hour());
      const command: PaymentOutcomeCommand = {
        type: 'payment.outcome',
        key: this.ctx.key('pay'),
        orderId,
        operation,
        outcome: down
          ? 'unavailable'
          : operation === 'authorize' && random.chance(declineRate)
            ? 'declined'
            : 'succeeded',
      };
      if (command.outcome === 'succeeded' && operation === 'authorize') command.authorizationId = `auth-${orderId}`;
      if (command.outcome === 'succeeded' && (operation === 'capture' || operation === 'refund'))
        command.amountCents = amountCents;
      this.ctx.engine.send(warehouseId, command);
      if (down && operation !== 'authorize') {
        const delay = retryStepMs(tries);
        this.ctx.agenda.after(random.between(delay / 2, delay), () =>
          this.call(warehouseId, orderId, operation, amountCents, tries + 1),
        );
      }
    });
  }
}
