/**
 * The `PaymentGateway` port: how the engine asks a payment provider to hold, capture, void and
 * refund money. The engine never sees card data, only a token from checkout. Every call carries an
 * idempotency key, so a retry after a timeout never charges twice. Calls run outside the single
 * writer; their outcomes come back to it as commands.
 */

export type PaymentFailure =
  /** The provider refused (card declined, insufficient funds): final, do not retry. */
  | { ok: false; reason: 'declined'; message: string }
  /**
   * The provider could not be reached or answered an error: retry later. `uncertain` when a call
   * may have reached it all the same (no answer in time): it may have acted.
   */
  | { ok: false; reason: 'unavailable'; message: string; uncertain?: boolean };

export type PaymentResult<T> = { ok: true; value: T } | PaymentFailure;

export interface AuthorizeRequest {
  idempotencyKey: string;
  orderId: string;
  paymentToken: string;
  amountCents: number;
}

export interface PaymentGateway {
  /** Places a hold of `amountCents` on the customer's payment method. */
  authorize(request: AuthorizeRequest): Promise<PaymentResult<{ authorizationId: string }>>;
  /** Takes up to the held amount (on delivery; less after a partial fulfilment). */
  capture(
    idempotencyKey: string,
    authorizationId: string,
    amountCents: number,
  ): Promise<PaymentResult<{ capturedCents: number }>>;
  /** Releases a hold that will not be captured (cancel before delivery). */
  void(idempotencyKey: string, authorizationId: string): Promise<PaymentResult<{ voided: true }>>;
  /** Returns captured money. */
  refund(
    idempotencyKey: string,
    authorizationId: string,
    amountCents: number,
  ): Promise<PaymentResult<{ refundedCents: number }>>;
}
