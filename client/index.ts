/**
 * Public surface of the darkstore client (`darkstore/client`): connect, pick a warehouse, call it.
 *
 * ```ts
 * const client = await DarkstoreClient.connect({ servers: 'nats://127.0.0.1:4222', user, pass });
 * const mitte = client.warehouse('berlin', 'mitte');
 * const held = await mitte.reserve({ lines: [{ sku: 'sku-00001', quantity: 2 }], ttlMs: 60_000 });
 * await mitte.commit({ reservationId: held.reservationId });
 * ```
 *
 * Typed methods throw a `DarkstoreError` subclass on every rejection (switch on `code`, or
 * `instanceof InsufficientStockError`...) and on transport failures after the retries; `send`,
 * `batch` and `query` return the engine's raw `Result`s.
 */
export {
  CHECKOUT_ATTEMPT_TIMEOUT_MS,
  type ClientOptions,
  DarkstoreClient,
  type DarkstoreConnectOptions,
} from './client.ts';
export * from './errors.ts';
export { backoffDelayMs, type CallOptions, DEFAULT_REQUEST_POLICY, type RequestPolicy } from './transport.ts';
export type * from './types.ts';
export { newKey, WarehouseClient } from './warehouse.ts';
