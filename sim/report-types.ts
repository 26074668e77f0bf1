/**
 * The simulator's report as data: what `darkstore sim --json` prints, what the HTML report draws
 * and what the determinism test compares. Plain data only (round-trips through JSON and msgpack);
 * every series is bounded (buckets of simulated time), so a long run does not grow the report.
 */

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** One bucket of simulated time (`minute` = start of the bucket, minutes since the start). */
export interface SeriesPoint {
  minute: number;
  value: number;
}

export interface WarehouseSummary {
  id: string;
  lat: number;
  lon: number;
  radiusKm: number;
  slaMinutes: number;
  placed: number;
  delivered: number;
  slaHitRate: number;
  /** Share of this warehouse's SKUs whose engine on hand equals the shelf at the end. */
  inventoryAccuracy: number;
}

/** A sampled delivery for the map (bounded: at most MAP_DELIVERIES_MAX of them). */
export interface MapDelivery {
  warehouseId: string;
  lat: number;
  lon: number;
  onTime: boolean;
}

export interface FaultRecord {
  kind: string;
  /** Simulated minutes since the start when it began and ended. */
  fromMinute: number;
  toMinute: number;
  detail: string;
}

export interface SimReport {
  scenario: string;
  seed: number;
  mode: 'embedded' | 'nats';
  warehouses: number;
  hours: number;
  orders: {
    placed: number;
    accepted: number;
    /** Refusals at checkout by error code (e.g. INSUFFICIENT_STOCK), and declined payments. */
    rejected: Record<string, number>;
    delivered: number;
    partiallyFulfilled: number;
    cancelled: number;
    /** Still open when the simulated time ended. */
    open: number;
  };
  /** Units the engine promised beyond what its own books had available. Must be 0. */
  oversoldUnits: number;
  /** Commands the engine acknowledged that are missing from it at the end. Must be 0. */
  acknowledgedLost: number;
  /** Accepted orders the shelf could not fill in full (the engine believed in stock that was gone). */
  acceptedNotFulfillable: number;
  /** Share of delivered orders that arrived by their SLA (0..1). */
  slaHitRate: number;
  deliveryMinutes: Percentiles;
  pickPackMinutes: Pick<Percentiles, 'p50' | 'p95'>;
  courierAssignSeconds: Pick<Percentiles, 'p50' | 'p99'>;
  /** Share of SKU × warehouse pairs whose engine on hand equals the shelf count (0..1). */
  inventoryAccuracy: { min: number; mean: number; final: number };
  /** How drift got closed: cycle counts and stockout reports that corrected the engine's on hand. */
  driftCorrections: { cycleCounts: number; stockoutReports: number; unitsCorrected: number };
  escalations: { total: number; byKind: Record<string, number> };
  faults: FaultRecord[];
  commands: number;
  commandsPerSecond: number;
  wallSeconds: number;
  series: {
    /** Orders placed per simulated minute, in buckets of `bucketMinutes` (average per minute). */
    ordersPerMinute: SeriesPoint[];
    /** Share of deliveries in the bucket that met their SLA. */
    slaHitRate: SeriesPoint[];
    /** Share of on-shift couriers busy with an order (sampled). */
    courierUtilization: SeriesPoint[];
    /** Inventory accuracy over all warehouses (sampled). */
    inventoryAccuracy: SeriesPoint[];
    bucketMinutes: number;
  };
  /** Delivery time histogram: count of deliveries per whole minute from placement (index = minute). */
  deliveryHistogram: number[];
  perWarehouse: WarehouseSummary[];
  map: { deliveries: MapDelivery[] };
}

/** Most deliveries drawn on the map. */
export const MAP_DELIVERIES_MAX = 2_000;
