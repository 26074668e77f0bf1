/**
 * Public surface of the warehouse core and its runtime. The core (`Warehouse`) is deterministic
 * and performs no I/O; the runtime (`WarehouseRuntime`) is the single-writer command loop that
 * stamps, applies, group-commits through an injected log and replies.
 */
export { type Checkpointer, CheckpointSchedule, type CheckpointScheduleOptions } from './checkpoint-schedule.ts';
export { decode, decodeUntrusted, encode, encodeShared } from './codec.ts';
export {
  type CourierCandidate,
  type CourierScore,
  chooseCourier,
  FAIRNESS_KM_PER_DELIVERY,
  rankCouriers,
} from './courier-choice.ts';
export * from './errors.ts';
export type { CheckoutQuote } from './eta.ts';
export {
  checkoutEtaMs,
  ETA_BUFFER_MS,
  type GeoPoint,
  haversineKm,
  ROAD_FACTOR,
  type RoutingProvider,
  straightLineRouting,
  travelEtaMs,
} from './geo.ts';
export type { IdempotencyRecord } from './idempotency.ts';
export { checkAll, checkTouched } from './invariants.ts';
export * as limits from './limits.ts';
export { applyScan, type PickLine, pickComplete, type Scan, type ScanOutcome, walkOrder } from './pick-list.ts';
export { RetainedMap } from './retained-map.ts';
export {
  BATCH_COMMANDS_MAX,
  type CommandLog,
  type CommittedBatch,
  QUEUE_COMMANDS_MAX,
  type RuntimeOptions,
  WarehouseRuntime,
} from './runtime.ts';
export { fromSnapshot, SNAPSHOT_FORMAT, toSnapshot, type WarehouseSnapshot } from './snapshot.ts';
export { availableOf, WarehouseState } from './state.ts';
export { type TimerEntry, TimerHeap } from './timers.ts';
export {
  acceptPing,
  bridge,
  COURIER_SPEED_KMH_MAX,
  GPS_GAP_MS,
  INTERPOLATED_POINTS_MAX,
  INTERPOLATION_STEP_MS,
  type PingOutcome,
  STATIONARY_KM,
  type TrackPoint,
} from './tracking.ts';
export type * from './types.ts';
export { validateCommand, validateQuery } from './validate.ts';
export { type FulfillmentView, Warehouse, type WarehouseOptions } from './warehouse.ts';
