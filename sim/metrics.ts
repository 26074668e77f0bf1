/**
 * What the simulator measures while it runs, and the report it becomes: counts of orders by fate,
 * delivery and pick-pack times, courier assignment times, escalations, accuracy and utilization
 * samples, and the bounded time series and map the HTML report draws. Owns no behaviour.
 */
import { MAP_DELIVERIES_MAX, type MapDelivery, type SeriesPoint, type SimReport } from './report-types.ts';

/** Width of the time series' buckets in simulated minutes. */
export const BUCKET_MINUTES = 10;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A share sampled at a minute, kept as its two counts so samples of separate stores can be summed. */
interface CountSample {
  minute: number;
  part: number;
  whole: number;
}

interface PerWarehouse {
  placed: number;
  delivered: number;
  onTime: number;
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
}

/** Keeps every other item (the first, the third...), in place. */
function halve<T>(items: T[]): void {
  let kept = 0;
  for (let i = 0; i < items.length; i += 2) items[kept++] = items[i] as T;
  items.length = kept;
}

function append<T>(into: T[], from: readonly T[]): void {
  for (const item of from) into.push(item);
}

function addByIndex(into: number[], from: readonly (number | undefined)[]): void {
  for (let i = 0; i < from.length; i++) {
    const n = from[i];
    if (n !== undefined) into[i] = (into[i] ?? 0) + n;
  }
}

/** Sums samples taken at the same minutes (both parts sample on the same schedule). */
function addSamples(into: CountSample[], from: readonly CountSample[]): void {
  from.forEach((sample, i) => {
    const mine = into[i];
    if (mine === undefined) into.push({ ...sample });
    else if (mine.minute !== sample.minute) throw new Error(`samples at minute ${mine.minute} and ${sample.minute}`);
    else {
      mine.part += sample.part;
      mine.whole += sample.whole;
    }
  });
}

export class Metrics {
  placed = 0;
  accepted = 0;
  readonly rejected: Record<string, number> = {};
  delivered = 0;
  partiallyFulfilled = 0;
  cancelled = 0;
  onTime = 0;
  oversoldUnits = 0;
  acceptedNotFulfillable = 0;
  readonly escalations: Record<string, number> = {};
  cycleCounts = 0;
  stockoutReports = 0;
  unitsCorrected = 0;
  /** Minutes each closed drift lasted, and the pairs drifting now. */
  private readonly driftMinutes: number[] = [];
  driftOpen = 0;
  private readonly deliveryMs: number[] = [];
  private readonly pickPackMs: number[] = [];
  private readonly assignMs: number[] = [];
  private readonly placedPerBucket: number[] = [];
  private readonly deliveredPerBucket: number[] = [];
  private readonly onTimePerBucket: number[] = [];
  /** SKU × store pairs whose books equal the shelf, of those read, at each accuracy sample. */
  private readonly accuracy: CountSample[] = [];
  /** Busy couriers of those on shift, at each utilization sample. */
  private readonly utilization: CountSample[] = [];
  readonly histogram: number[] = [];
  private readonly perWarehouse = new Map<string, PerWarehouse>();
  private readonly deliveries: MapDelivery[] = [];
  private deliveriesSeen = 0;
  private mapStride = 1;

  constructor(private readonly startMs: number) {}

  private bucket(atMs: number): number {
    return Math.floor((atMs - this.startMs) / 60_000 / BUCKET_MINUTES);
  }

  private site(warehouseId: string): PerWarehouse {
    let site = this.perWarehouse.get(warehouseId);
    if (site === undefined) {
      site = { placed: 0, delivered: 0, onTime: 0 };
      this.perWarehouse.set(warehouseId, site);
    }
    return site;
  }

  checkoutTried(atMs: number): void {
    this.placed++;
    const b = this.bucket(atMs);
    this.placedPerBucket[b] = (this.placedPerBucket[b] ?? 0) + 1;
  }

  reject(reason: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
  }

  accept(warehouseId: string): void {
    this.accepted++;
    this.site(warehouseId).placed++;
  }

  /** A delivery (in full or in part) reached the customer. `seen` numbers them for the map sample. */
  deliver(
    warehouseId: string,
    placedAtMs: number,
    atMs: number,
    slaMs: number,
    at: { lat: number; lon: number },
  ): void {
    const ms = atMs - placedAtMs;
    const onTime = ms <= slaMs;
    this.deliveryMs.push(ms);
    const minute = Math.floor(ms / 60_000);
    for (let i = this.histogram.length; i <= minute; i++) this.histogram.push(0);
    this.histogram[minute] = (this.histogram[minute] as number) + 1;
    const site = this.site(warehouseId);
    site.delivered++;
    const b = this.bucket(atMs);
    this.deliveredPerBucket[b] = (this.deliveredPerBucket[b] ?? 0) + 1;
    if (onTime) {
      this.onTime++;
      site.onTime++;
      this.onTimePerBucket[b] = (this.onTimePerBucket[b] ?? 0) + 1;
    }
    this.sampleForMap({ warehouseId, lat: round(at.lat, 5), lon: round(at.lon, 5), onTime });
  }

  /**
   * The map keeps every `mapStride`-th delivery; when it is full, every other kept one is dropped and
   * the stride doubles, so the map samples the whole run evenly (the n-th delivery is kept exactly
   * when n is a multiple of the stride) within its bound.
   */
  private sampleForMap(delivery: MapDelivery): void {
    const n = this.deliveriesSeen++;
    if (n % this.mapStride !== 0) return;
    if (this.deliveries.length >= MAP_DELIVERIES_MAX) {
      halve(this.deliveries);
      this.mapStride *= 2;
      if (n % this.mapStride !== 0) return;
    }
    this.deliveries.push(delivery);
  }

  driftClosed(ms: number): void {
    this.driftMinutes.push(ms / 60_000);
  }

  pickPack(ms: number): void {
    this.pickPackMs.push(ms);
  }

  courierAssigned(ms: number): void {
    this.assignMs.push(ms);
  }

  escalation(kind: string): void {
    this.escalations[kind] = (this.escalations[kind] ?? 0) + 1;
  }

  /** `equal` of `total` SKU × store pairs read had books equal to the shelf (no pairs read: accurate). */
  sampleAccuracy(atMs: number, equal: number, total: number): void {
    this.accuracy.push({ minute: Math.round((atMs - this.startMs) / 60_000), part: equal, whole: total });
  }

  /** `busy` of the `onShift` couriers were out (nobody on shift: utilization 0). */
  sampleUtilization(atMs: number, busy: number, onShift: number): void {
    this.utilization.push({ minute: Math.round((atMs - this.startMs) / 60_000), part: busy, whole: onShift });
  }

  /**
   * Adds what another part of the same run measured (a partitioned run measures each thread's
   * stores apart): counts are summed, samples taken at the same minutes are summed by their counts,
   * durations are pooled, and the map keeps a bounded share of both. `other` may be a structured
   * clone of a `Metrics` (its fields, without the class).
   */
  absorb(other: Metrics): void {
    this.placed += other.placed;
    this.accepted += other.accepted;
    this.delivered += other.delivered;
    this.partiallyFulfilled += other.partiallyFulfilled;
    this.cancelled += other.cancelled;
    this.onTime += other.onTime;
    this.oversoldUnits += other.oversoldUnits;
    this.acceptedNotFulfillable += other.acceptedNotFulfillable;
    this.cycleCounts += other.cycleCounts;
    this.stockoutReports += other.stockoutReports;
    this.unitsCorrected += other.unitsCorrected;
    this.driftOpen += other.driftOpen;
    addCounts(this.rejected, other.rejected);
    addCounts(this.escalations, other.escalations);
    // Appended in loops: a spread into push passes every element as an argument, and a long run's
    // 150,000+ durations overflow the stack.
    append(this.driftMinutes, other.driftMinutes);
    append(this.deliveryMs, other.deliveryMs);
    append(this.pickPackMs, other.pickPackMs);
    append(this.assignMs, other.assignMs);
    addByIndex(this.placedPerBucket, other.placedPerBucket);
    addByIndex(this.deliveredPerBucket, other.deliveredPerBucket);
    addByIndex(this.onTimePerBucket, other.onTimePerBucket);
    addByIndex(this.histogram, other.histogram);
    addSamples(this.accuracy, other.accuracy);
    addSamples(this.utilization, other.utilization);
    for (const [id, site] of other.perWarehouse) {
      const mine = this.site(id);
      mine.placed += site.placed;
      mine.delivered += site.delivered;
      mine.onTime += site.onTime;
    }
    append(this.deliveries, other.deliveries);
    this.deliveriesSeen += other.deliveriesSeen;
    while (this.deliveries.length > MAP_DELIVERIES_MAX) halve(this.deliveries);
  }

  toReport(
    fixed: Pick<
      SimReport,
      'scenario' | 'seed' | 'mode' | 'warehouses' | 'hours' | 'acknowledgedLost' | 'faults' | 'commands' | 'wallSeconds'
    > & {
      open: number;
      openPastSla: number;
      sites: { id: string; lat: number; lon: number; radiusKm: number; slaMinutes: number; accuracy: number }[];
    },
  ): SimReport {
    const delivery = [...this.deliveryMs].sort((a, b) => a - b);
    const pickPack = [...this.pickPackMs].sort((a, b) => a - b);
    const assign = [...this.assignMs].sort((a, b) => a - b);
    const drift = [...this.driftMinutes].sort((a, b) => a - b);
    const minutes = (ms: number) => round(ms / 60_000);
    const buckets = Math.ceil((fixed.hours * 60) / BUCKET_MINUTES);
    const ordersPerMinute: SeriesPoint[] = [];
    const slaHitRate: SeriesPoint[] = [];
    for (let b = 0; b < buckets; b++) {
      ordersPerMinute.push({
        minute: b * BUCKET_MINUTES,
        value: round((this.placedPerBucket[b] ?? 0) / BUCKET_MINUTES),
      });
      const done = this.deliveredPerBucket[b] ?? 0;
      if (done > 0)
        slaHitRate.push({ minute: b * BUCKET_MINUTES, value: round((this.onTimePerBucket[b] ?? 0) / done, 4) });
    }
    const accuracySeries = this.accuracy.map((p) => ({
      minute: p.minute,
      value: p.whole === 0 ? 1 : round(p.part / p.whole, 4),
    }));
    const utilizationSeries = this.utilization.map((p) => ({
      minute: p.minute,
      value: p.whole === 0 ? 0 : round(p.part / p.whole, 4),
    }));
    const accuracy = accuracySeries.map((p) => p.value);
    const escalationTotal = Object.values(this.escalations).reduce((a, b) => a + b, 0);
    const { open, openPastSla, sites, ...rest } = fixed;
    return {
      ...rest,
      orders: {
        placed: this.placed,
        accepted: this.accepted,
        rejected: { ...this.rejected },
        delivered: this.delivered,
        partiallyFulfilled: this.partiallyFulfilled,
        cancelled: this.cancelled,
        open,
        openPastSla,
      },
      oversoldUnits: this.oversoldUnits,
      acceptedNotFulfillable: this.acceptedNotFulfillable,
      // Orders still open past their promise at the end are misses too, not left out.
      slaHitRate: delivery.length + openPastSla === 0 ? 0 : round(this.onTime / (delivery.length + openPastSla), 4),
      deliveryMinutes: {
        p50: minutes(percentile(delivery, 50)),
        p95: minutes(percentile(delivery, 95)),
        p99: minutes(percentile(delivery, 99)),
      },
      pickPackMinutes: { p50: minutes(percentile(pickPack, 50)), p95: minutes(percentile(pickPack, 95)) },
      courierAssignSeconds: {
        p50: round(percentile(assign, 50) / 1000, 1),
        p99: round(percentile(assign, 99) / 1000, 1),
      },
      inventoryAccuracy: {
        min: accuracy.length === 0 ? 1 : Math.min(...accuracy),
        mean: accuracy.length === 0 ? 1 : round(accuracy.reduce((a, b) => a + b, 0) / accuracy.length, 4),
        final: accuracy.length === 0 ? 1 : (accuracy[accuracy.length - 1] as number),
      },
      driftCorrections: {
        cycleCounts: this.cycleCounts,
        stockoutReports: this.stockoutReports,
        unitsCorrected: this.unitsCorrected,
        closeMinutes: { p50: round(percentile(drift, 50)), p95: round(percentile(drift, 95)) },
        openAtEnd: this.driftOpen,
      },
      escalations: { total: escalationTotal, byKind: { ...this.escalations } },
      commandsPerSecond: fixed.wallSeconds > 0 ? Math.round(fixed.commands / fixed.wallSeconds) : 0,
      series: {
        ordersPerMinute,
        slaHitRate,
        courierUtilization: utilizationSeries,
        inventoryAccuracy: accuracySeries,
        bucketMinutes: BUCKET_MINUTES,
      },
      deliveryHistogram: [...this.histogram],
      perWarehouse: sites.map((s) => {
        const site = this.site(s.id);
        return {
          id: s.id,
          lat: round(s.lat, 5),
          lon: round(s.lon, 5),
          radiusKm: s.radiusKm,
          slaMinutes: s.slaMinutes,
          placed: site.placed,
          delivered: site.delivered,
          slaHitRate: site.delivered === 0 ? 0 : round(site.onTime / site.delivered, 4),
          inventoryAccuracy: round(s.accuracy, 4),
        };
      }),
      map: { deliveries: [...this.deliveries] },
    };
  }
}
