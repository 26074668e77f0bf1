/**
 * Every bound of the warehouse core as a named constant. Hitting any of these is a handled case:
 * a typed error at the boundary or a documented eviction, never unbounded growth.
 */

/** Longest id (SKU, reservation, receipt, POS source, owner, idempotency key) in characters. */
export const ID_LENGTH_MAX = 128;
/** Longest free text (SKU name, adjustment note) in characters. */
export const TEXT_LENGTH_MAX = 512;
/** Most lines in one reservation, receipt or POS sale. */
export const LINES_PER_COMMAND_MAX = 200;
/** Most substitutes named by one SKU. */
export const SUBSTITUTES_PER_SKU_MAX = 16;
/** Largest quantity in one line or one adjustment (units). */
export const QUANTITY_MAX = 1_000_000;
/** Largest absolute on-hand count a cycle count may report (units). */
export const COUNT_MAX = 100_000_000;
/** Largest price in minor currency units. */
export const PRICE_CENTS_MAX = 100_000_000;
/** Shortest and longest reservation hold. */
export const TTL_MS_MIN = 1_000;
export const TTL_MS_MAX = 24 * 60 * 60 * 1_000;
/** Most SKUs one warehouse holds. */
export const SKUS_PER_WAREHOUSE_MAX = 200_000;
/**
 * Most reservation ids one `reservation.at_risk` event names; a shortfall that puts more at risk is
 * told in several events (`part` of `parts`), so no event outgrows a message.
 */
export const AT_RISK_IDS_PER_EVENT = 1_000;
/** Most open reservations one warehouse holds; past it, reserve answers LIMIT_EXCEEDED. */
export const OPEN_RESERVATIONS_MAX = 2_000_000;
/** How long idempotency records, receipt ids and closed-reservation tombstones are kept. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1_000;
/** Most idempotency records kept; past it the oldest are evicted early (counted in stats). */
export const IDEMPOTENCY_RECORDS_MAX = 2_000_000;
/** Most closed-reservation tombstones kept (they only sharpen NOT_FOUND answers); oldest go first. */
export const TOMBSTONES_MAX = 100_000;
/** How long and how many supplier receipt ids are remembered, so a resent receipt counts once. */
export const RECEIPT_RETENTION_MS = 7 * 24 * 60 * 60 * 1_000;
export const RECEIPTS_MAX = 500_000;
/**
 * The expiry heap keeps stale entries (closed or extended reservations) until they surface; it is
 * rebuilt from the open reservations once it holds this many times more entries than there are.
 */
export const TIMER_HEAP_SLACK_FACTOR = 2;
/**
 * Most POS sequence numbers a source may have seen above its contiguous watermark. A feed with a
 * permanent gap would otherwise grow this set forever; past the bound the oldest gap is declared
 * lost (a `pos.gap_skipped` event) and the watermark moves on.
 */
export const POS_PENDING_SEQS_MAX = 65_536;
/**
 * Most gaps a source keeps after declaring them lost (ranges of sequence numbers): a sale of a lost
 * gap that arrives after all is applied once. Past the bound the oldest gap is forgotten, and its
 * late sales count as seen.
 */
export const POS_SKIPPED_RANGES_MAX = 1_024;
/** Most POS sources (tills, feeds) one warehouse tracks. */
export const POS_SOURCES_MAX = 10_000;
/** Largest encoded command accepted at the boundary (bytes). */
export const COMMAND_BYTES_MAX = 256 * 1024;
/** Most SKUs named in one availability query. */
export const QUERY_SKUS_MAX = 10_000;
/** Event ids remembered per order to answer repeats (the oldest are forgotten first). */
export const ORDER_EVENTS_KEPT = 32;
/** Most orders a warehouse holds, open or finished; past it, order.place answers LIMIT_EXCEEDED. */
export const ORDERS_MAX = 1_000_000;
/** How long a finished order (delivered, cancelled, refunded, partially fulfilled) is kept. */
export const FINISHED_ORDER_RETENTION_MS = 7 * 24 * 60 * 60 * 1_000;
/**
 * How long an order's reservation holds once its payment hold is in place (queued for picking): the
 * checkout TTL only covers an abandoned checkout; a confirmed order keeps its stock until picked.
 */
export const ORDER_CONFIRMED_HOLD_MS = 4 * 60 * 60 * 1_000;

/** Most pickers and most couriers on one warehouse's roster. */
export const PICKERS_MAX = 2_000;
export const COURIERS_MAX = 2_000;
/** A courier must acknowledge an offered order within this long, or the next one is chosen. */
export const COURIER_ACK_TIMEOUT_MS = 60_000;
/**
 * Most earlier GPS points one `courier.ping` may carry in its trail (a courier app's batched upload:
 * a point every 5–10 s, sent every ~30 s). 64 points cover 5–10 minutes of coverage gap, longer
 * than COURIER_SILENCE_MS. With the newest point and at most INTERPOLATED_POINTS_MAX bridging
 * points per gap, one ping produces at most (PING_TRAIL_MAX + 1) × 13 `courier.moved` events.
 */
export const PING_TRAIL_MAX = 64;
/** A courier not heard from for this long is marked offline. */
export const COURIER_SILENCE_MS = 5 * 60_000;
/** A returning courier this close to the store is back (available). */
export const COURIER_ARRIVED_RADIUS_KM = 0.15;
/** Proof of delivery: the courier's position must be this close to the address. */
export const DELIVERY_PROOF_RADIUS_KM = 0.25;
/** A delivery running this factor over its promised duration raises a check-in prompt. */
export const DELIVERY_LATE_FACTOR = 1.3;
/** An ETA update is sent when the estimate moves by at least this much. */
export const ETA_CHANGE_MIN_MS = 30_000;
/** Pick-pack times in the warehouse's rolling average. */
export const PICK_PACK_WINDOW = 50;
/** Default knobs of `warehouse.configure`. */
export const PENDING_DISPATCH_ESCALATION_MS_DEFAULT = 5 * 60_000;
export const PICK_PACK_SLOW_MS_DEFAULT = 10 * 60_000;
export const COURIER_SPEED_KMH_DEFAULT = 20;
/** The pick-pack estimate at checkout before the warehouse has measured any. */
export const PICK_PACK_ESTIMATE_MS_DEFAULT = 6 * 60_000;
/** Largest bag count of one order. */
export const BAGS_PER_ORDER_MAX = 50;
/** Most SKUs one `changes` answer lists (a page: the caller asks again from the version it got). */
export const CHANGES_PAGE_MAX = 5_000;
