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
    /** Of those, already past their SLA when it ended: counted as misses in `slaHitRate`. */
    openPastSla: number;
  };
  /** Units the engine promised beyond what its own books had available. Must be 0. */
  oversoldUnits: number;
  /**
   * Acknowledged work missing from the engine at the end: accepted orders it does not know, or knows
   * in another final state than the one the world saw (and, over NATS, acknowledged stock commands
   * whose key it no longer answers). Must be 0.
   */
  acknowledgedLost: number;
  /** Accepted orders the shelf could not fill in full (the engine believed in stock that was gone). */
  acceptedNotFulfillable: number;
  /** Deliveries on time over deliveries plus orders still open past their SLA at the end (0..1). */
  slaHitRate: number;
  deliveryMinutes: Percentiles;
  pickPackMinutes: Pick<Percentiles, 'p50' | 'p95'>;
  courierAssignSeconds: Pick<Percentiles, 'p50' | 'p99'>;
  /** Share of SKU × warehouse pairs whose engine on hand equals the shelf count (0..1). */
  inventoryAccuracy: { min: number; mean: number; final: number };
  /** How drift got closed: cycle counts and stockout reports that corrected the engine's on hand. */
  driftCorrections: {
    cycleCounts: number;
    stockoutReports: number;
    unitsCorrected: number;
    /**
     * How long a SKU × store pair whose books disagreed with the shelf stayed so before it agreed
     * again (seen at the 30-minute accuracy samples, so to within half an hour), and how many still
     * disagreed at the end.
     */
    closeMinutes: { p50: number; p95: number };
    openAtEnd: number;
  };
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
  /** How the run over NATS went (NATS mode only). */
  nats?: NatsRunFacts;
}

/** A region process killed (SIGKILL) and started again on its data during a NATS run. */
export interface RegionKillRecord {
  /** Which of the run's region processes (0-based) and the warehouses it hosts. */
  process: number;
  warehouses: string[];
  /** Simulated minutes since midnight of the kill and of the restart being ready. */
  killedAtMinute: number;
  readyAtMinute: number;
  pidBefore: number;
  pidAfter: number;
  /** Wall seconds from the kill to the restarted process being ready. */
  downSeconds: number;
  /** Orders of its warehouses placed once it was ready again: accepted (confirmed), and of those delivered. */
  acceptedAfter: number;
  deliveredAfter: number;
}

/** The facts of a run over NATS against `darkstore serve` processes. */
export interface NatsRunFacts {
  /** Simulated seconds per wall second. */
  speed: number;
  /** The simulated hour of day the run started at (it ends at `hours`). */
  startHour: number;
  region: string;
  processes: number;
  kills: RegionKillRecord[];
  /** Requests with no answer after the client's retries, by type: the world saw them refused. */
  unanswered: Record<string, number>;
  /** Commands and checkouts answered UNAVAILABLE after the client's retries, by type. */
  unavailable: Record<string, number>;
  /** Acknowledged commands (receipt, adjust, count, pos.sale, order.event) looked up by key at the end. */
  acknowledgedChecked: number;
  /** Of those, missing or with another result (included in `acknowledgedLost`). */
  acknowledgedCommandsLost: number;
  /**
   * Safety checks that got no answer (also counted in `unanswered`): oversell audits of accepted
   * orders, and acknowledged commands looked up at the end. What they would have found is unknown,
   * so the safety verdict is UNVERIFIED rather than OK.
   */
  unverified: { oversellAudits: number; acknowledged: number };
  events: number;
  /** Events a recovery published again that the world had already seen (dropped). */
  eventsRepeated: number;
  /** Wall seconds the simulated clock was held back because too many requests were in flight. */
  stalledSeconds: number;
  /**
   * The longest wall time of one step of simulated time (its actions, then the answers and events
   * that arrived meanwhile): how late, at worst, an action ran against the wall clock.
   */
  stepWallMsMax: number;
  /** Requests still unanswered when the run gave up waiting for them at the end. */
  inFlightAtEnd: number;
  /** The simulated payment provider's outage windows (wall-clock epoch ms) given to the region. */
  paymentOutages: { fromMs: number; toMs: number }[];
  /**
   * With a payment outage the clock's start is planned before the processes start: how many wall
   * seconds they were ready after it (the first step then caught up at once). Absent when on time.
   */
  startLateSeconds?: number;
}

/** Most deliveries drawn on the map. */
export const MAP_DELIVERIES_MAX = 2_000;
