/**
 * Public surface of the region process: the region host (warehouses behind NATS), its config and
 * the region-wide services; the wire protocol (subjects, format, connection settings) lives in
 * protocol/ and is re-exported here for the region's users.
 */

export * from '../protocol/index.ts';
export {
  AVAILABILITY_RESYNC_INTERVAL_MS,
  AvailabilityFollower,
  type AvailabilityFollowerOptions,
  availabilitySubject,
  CHANGES_TIMEOUT_MS,
  followAvailability,
  queryChanges,
} from './availability-follower.ts';
export {
  CATALOG_NEARBY_KM,
  CATALOG_RESYNC_INTERVAL_MS,
  Catalog,
  type CatalogOptions,
  type CatalogWarehouses,
  configWarehouses,
  directoryWarehouses,
  startCatalog,
} from './catalog.ts';
export {
  answerCatalog,
  CATALOG_CANDIDATES_MAX,
  CATALOG_ITEMS_DEFAULT,
  CATALOG_ITEMS_MAX,
  CATALOG_SKUS_MAX,
  CATALOG_STALENESS_MAX_MS,
  type CatalogCandidate,
  type CatalogCandidateReason,
  type CatalogReply,
  type CatalogRequest,
  type CatalogSite,
  parseCatalogRequest,
} from './catalog-query.ts';
export { seedCommands, seededSku } from './catalog-seed.ts';
export {
  CHECKOUT_CANDIDATE_TIMEOUT_MS,
  CHECKOUT_CANDIDATES_MAX,
  CHECKOUT_NEARBY_KM,
  CHECKOUT_NEARBY_MAX,
  CHECKOUT_PLACE_TIMEOUT_MS,
  CHECKOUT_TTL_MS_DEFAULT,
  CHECKOUTS_IN_FLIGHT_MAX,
  type CheckoutOptions,
  type CheckoutRequest,
  type CheckoutResult,
  CheckoutService,
  type CheckoutValue,
  placementKey,
  startCheckout,
} from './checkout.ts';
export {
  type CandidateReason,
  type CandidateReport,
  DISTANCE_WEIGHT,
  LOAD_WEIGHT,
  NO_COURIER_ALLOWANCE_MS,
  PICK_QUEUE_PER_PICKER_MAX,
} from './checkout-choice.ts';
export { type CatalogSeed, parseRegionConfig, type RegionConfig, type WarehouseConfigEntry } from './config.ts';
export {
  DIRECTORY_FORGET_MS,
  DIRECTORY_HEARTBEAT_MS,
  DIRECTORY_STALE_MS,
  type DirectoryEntry,
  type DirectoryOptions,
  type KnownWarehouse,
  RegionDirectory,
  startDirectory,
} from './directory.ts';
export {
  Discovery,
  type DiscoveryOptions,
  type EndpointStats,
  type InfoResponse,
  RequestStats,
  SERVICE_NAME,
  type ServiceIdentity,
  type StatsResponse,
  type WarehouseStatus,
} from './discovery.ts';
export { CATCH_UP_CHECK_MS, CATCH_UP_DELAY_MAX_MS, CatchUpSchedule } from './event-catch-up.ts';
export {
  CONSUMER_ACK_PENDING_MAX,
  CONSUMER_ACK_WAIT_MS,
  CONSUMER_BUFFER_MAX,
  CONSUMER_CONCURRENCY_MAX,
  CONSUMER_DELIVERIES_MAX,
  CONSUMER_RETRY_DELAY_MS,
  type Delivery,
  EPHEMERAL_INACTIVE_MS,
  EventConsumer,
  type EventConsumerOptions,
  type EventConsumerStats,
  startEventConsumer,
} from './event-consumer.ts';
export {
  ACKED_MARK_FILE,
  ACKED_MARK_WRITE_MS,
  AckedMarkWriter,
  discardAckedMark,
  readAckedMark,
  writeAckedMark,
} from './event-marks.ts';
export {
  decodeEventMessage,
  EVENT_HEADERS_BYTES_MAX,
  EVENT_MESSAGE_BYTES_MAX,
  EVENTS_PER_MESSAGE_MAX,
  type EventEntry,
  type EventEnvelope,
  type EventMessage,
  type EventMessageBody,
  entriesOf,
  eventMessages,
  type PackedEvents,
  packEvents,
} from './event-messages.ts';
export { type EventPublicationStats, EventPublisher } from './event-publisher.ts';
export { type ReplayedCommand, unpublishedReplay } from './event-replay.ts';
export {
  ACK_WAIT_MS,
  type SentEventMessage,
  SUBJECT_WINDOW,
  UNACKED_BYTES_MAX,
  type UnackedEventMessage,
  UnackedEventMessages,
} from './event-resend.ts';
export {
  EVENT_STREAM_LIMITS,
  EVENTS_DUPLICATE_WINDOW_MS,
  EVENTS_MAX_AGE_MS,
  EVENTS_MAX_BYTES,
  EVENTS_SUBJECTS,
  type EventStreamLimits,
  ensureEventStream,
  eventMessageId,
} from './event-stream.ts';
export { KeyedTurns, type Turn } from './keyed-turns.ts';
export { type MetricsEndpoint, RegionMetrics, type RegionMetricsOptions, serveMetrics } from './metrics.ts';
export {
  loggingSender,
  NOTIFICATION_DELIVERIES_MAX,
  NOTIFICATION_RETRY_DELAY_MS,
  NOTIFICATION_SENDS_IN_FLIGHT_MAX,
  type NotificationConsumerOptions,
  notificationConsumerName,
  type RunningNotificationConsumer,
  startNotificationConsumer,
} from './notification-consumer.ts';
export { Outbox, outboxOf } from './outbox.ts';
export { READ_SIDE_RESTART_MS, type RunningReadSide, startReadSide } from './read-side.ts';
export type { ReadSideInit } from './read-side-worker.ts';
export { type HostedWarehouse, notServing, RegionHost, type RegionOptions, type RequestSample } from './region.ts';
export { type RegionServiceOptions, type RunningServices, startRegionServices } from './services.ts';
export { SpatialIndex, type SpatialItem, type SpatialMatch } from './spatial-index.ts';
export {
  type ChangesAnswer,
  type VersionedAvailability,
  VersionedView,
  type VersionedViewStats,
  VIEW_SKUS_MAX,
} from './versioned-view.ts';
export { type HostedEndpoint, type LinkReply, WarehouseLink } from './warehouse-link.ts';
