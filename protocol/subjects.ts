/**
 * The NATS subject scheme of darkstore. Every subject starts with `darkstore.<region>`; a warehouse's
 * own subjects add its id. Region and warehouse ids are single subject tokens (checked by the config).
 *
 * | subject | who | what |
 * | --- | --- | --- |
 * | `darkstore.<region>.<warehouse>.cmd` | clients → engine | a command or a batch of commands (msgpack); reply: result(s) |
 * | `darkstore.<region>.<warehouse>.query` | clients → engine | a query (msgpack); reply: its result, durable |
 * | `darkstore.<region>.<warehouse>.peek` | clients → engine | a query answered from memory at once (may show what is not yet durable) |
 * | `darkstore.<region>.<warehouse>.evt.<type>` | engine → consumers | a commit's events of that type in one message, captured by JetStream |
 * | `darkstore.<region>.checkout` | clients → any region process (queue group) | checkout with fulfillment-center selection |
 * | `darkstore.<region>.catalog` | clients → any region process (queue group) | items available for a customer location |
 *
 * Pure functions; never performs I/O.
 */

export const SUBJECT_ROOT = 'darkstore';
/** The JetStream stream that captures every region's events. */
export const EVENTS_STREAM = 'DARKSTORE_EVENTS';
/** The KV bucket where region processes announce the warehouses they host. */
export const DIRECTORY_BUCKET = 'darkstore_directory';
/** The KV bucket where a checkout claims the warehouse it places its order at (`checkout-claims.ts`). */
export const CHECKOUT_CLAIMS_BUCKET = 'darkstore_checkouts';
/** Queue group of the region-wide services, so one process answers each request. */
export const REGION_QUEUE = 'darkstore-region';

/** A token that may stand in a subject: letters, digits, `_` and `-`. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function commandSubject(region: string, warehouseId: string): string {
  return `${SUBJECT_ROOT}.${region}.${warehouseId}.cmd`;
}

export function querySubject(region: string, warehouseId: string): string {
  return `${SUBJECT_ROOT}.${region}.${warehouseId}.query`;
}

/** Queries answered from memory at once, without waiting for durability: for advisory reads. */
export function peekSubject(region: string, warehouseId: string): string {
  return `${SUBJECT_ROOT}.${region}.${warehouseId}.peek`;
}

export function eventSubject(region: string, warehouseId: string, type: string): string {
  return `${SUBJECT_ROOT}.${region}.${warehouseId}.evt.${type}`;
}

/** Every event of a warehouse (`*` for every warehouse of the region). */
export function eventsOf(region: string, warehouseId = '*'): string {
  return `${SUBJECT_ROOT}.${region}.${warehouseId}.evt.>`;
}

export function checkoutSubject(region: string): string {
  return `${SUBJECT_ROOT}.${region}.checkout`;
}

export function catalogSubject(region: string): string {
  return `${SUBJECT_ROOT}.${region}.catalog`;
}

/** The directory key of a warehouse. */
export function directoryKey(region: string, warehouseId: string): string {
  return `${region}.${warehouseId}`;
}
