/**
 * Fake SimReports for the HTML report tests: a realistic one (8 simulated hours in 1-minute
 * buckets, 10 warehouses around Berlin, 1,000 map deliveries, two faults, rejections) drawn from a
 * seeded Random, and an edge case with every count zero and every series empty.
 */
import { Random } from '../../sim/index.ts';
import type { MapDelivery, SeriesPoint, SimReport, WarehouseSummary } from '../../sim/report-types.ts';

const HOURS = 8;
const BUCKET_MINUTES = 1;
const WAREHOUSES = 10;
const MAP_DELIVERIES = 1_000;
const CITY = { lat: 52.52, lon: 13.405 };

function series(random: Random, value: (minute: number) => number): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (let minute = 0; minute < HOURS * 60; minute += BUCKET_MINUTES) {
    points.push({ minute, value: value(minute) });
  }
  return points.map((p) => ({ ...p, value: Math.max(0, p.value + random.normal(0, 0.002)) }));
}

function warehouses(random: Random): WarehouseSummary[] {
  return Array.from({ length: WAREHOUSES }, (_, i) => {
    const placed = random.int(1_500, 3_000);
    return {
      id: `W${i + 1}`,
      lat: CITY.lat + random.between(-0.08, 0.08),
      lon: CITY.lon + random.between(-0.14, 0.14),
      radiusKm: random.between(2.5, 4),
      slaMinutes: i < 8 ? 20 : 30,
      placed,
      delivered: Math.round(placed * random.between(0.9, 0.97)),
      slaHitRate: random.between(0.86, 0.99),
      inventoryAccuracy: random.between(0.97, 1),
    };
  });
}

function mapDeliveries(random: Random, sites: WarehouseSummary[]): MapDelivery[] {
  return Array.from({ length: MAP_DELIVERIES }, () => {
    const site = random.pick(sites);
    const distanceKm = site.radiusKm * Math.sqrt(random.next());
    const angle = random.between(0, 2 * Math.PI);
    const lat = site.lat + (distanceKm * Math.sin(angle)) / 111.32;
    const lon = site.lon + (distanceKm * Math.cos(angle)) / (111.32 * Math.cos((site.lat * Math.PI) / 180));
    return { warehouseId: site.id, lat, lon, onTime: random.chance(0.93 - distanceKm * 0.02) };
  });
}

function histogram(random: Random, delivered: number): number[] {
  const counts = new Array<number>(46).fill(0);
  for (let i = 0; i < delivered; i += 1) {
    const minute = Math.round(random.normal(15, 4.5));
    const index = Math.max(6, Math.min(45, minute));
    counts[index] = (counts[index] ?? 0) + 1;
  }
  return counts;
}

/** A report shaped like an 8-hour, 10-warehouse run with two faults. */
export function realisticReport(): SimReport {
  const random = new Random(20_240_601);
  const sites = warehouses(random);
  const placed = sites.reduce((s, w) => s + w.placed, 0);
  const delivered = sites.reduce((s, w) => s + w.delivered, 0);
  const inPaymentOutage = (m: number) => m >= 120 && m < 150;
  const lunch = (m: number) => Math.exp(-(((m - 240) / 70) ** 2));
  return {
    scenario: 'city-lunch-rush',
    seed: 42,
    mode: 'embedded',
    warehouses: WAREHOUSES,
    hours: HOURS,
    orders: {
      placed,
      accepted: placed - 1_240,
      rejected: { INSUFFICIENT_STOCK: 812, NO_FULFILLMENT_CENTER: 233, PAYMENT_DECLINED: 171, UNAVAILABLE: 24 },
      delivered,
      partiallyFulfilled: 57,
      cancelled: 90,
      open: 41,
      openPastSla: 3,
    },
    oversoldUnits: 0,
    acknowledgedLost: 0,
    acceptedNotFulfillable: 57,
    slaHitRate: 0.934,
    deliveryMinutes: { p50: 15.2, p95: 23.1, p99: 28.4 },
    pickPackMinutes: { p50: 3.1, p95: 6.4 },
    courierAssignSeconds: { p50: 4.2, p99: 41 },
    inventoryAccuracy: { min: 0.962, mean: 0.981, final: 0.987 },
    driftCorrections: {
      cycleCounts: 310,
      stockoutReports: 44,
      unitsCorrected: 1_207,
      closeMinutes: { p50: 180, p95: 420 },
      openAtEnd: 96,
    },
    escalations: { total: 12, byKind: { courier_no_show: 7, pick_shortage: 5 } },
    faults: [
      { kind: 'payment-outage', fromMinute: 120, toMinute: 150, detail: 'payment provider returns 503 for 30 min' },
      { kind: 'warehouse-restart', fromMinute: 300, toMinute: 306, detail: 'W3 process killed and recovered from WAL' },
    ],
    commands: 1_843_112,
    commandsPerSecond: 24_512.7,
    wallSeconds: 75.2,
    series: {
      ordersPerMinute: series(random, (m) => 30 + 60 * lunch(m) + (inPaymentOutage(m) ? -20 : 0)),
      slaHitRate: series(random, (m) => Math.min(1, 0.97 - 0.12 * lunch(m) - (m >= 300 && m < 320 ? 0.2 : 0))),
      courierUtilization: series(random, (m) => Math.min(1, 0.45 + 0.5 * lunch(m))),
      inventoryAccuracy: series(random, (m) => Math.min(1, 0.995 - 0.03 * lunch(m))),
      bucketMinutes: BUCKET_MINUTES,
    },
    deliveryHistogram: histogram(random, delivered),
    perWarehouse: sites,
    map: { deliveries: mapDeliveries(random, sites) },
  };
}

/** A report of a run that did nothing: zeros everywhere, empty series, no warehouses. */
export function emptyReport(): SimReport {
  return {
    scenario: 'empty',
    seed: 0,
    mode: 'embedded',
    warehouses: 0,
    hours: 0,
    orders: {
      placed: 0,
      accepted: 0,
      rejected: {},
      delivered: 0,
      partiallyFulfilled: 0,
      cancelled: 0,
      open: 0,
      openPastSla: 0,
    },
    oversoldUnits: 0,
    acknowledgedLost: 0,
    acceptedNotFulfillable: 0,
    slaHitRate: 0,
    deliveryMinutes: { p50: 0, p95: 0, p99: 0 },
    pickPackMinutes: { p50: 0, p95: 0 },
    courierAssignSeconds: { p50: 0, p99: 0 },
    inventoryAccuracy: { min: 0, mean: 0, final: 0 },
    driftCorrections: {
      cycleCounts: 0,
      stockoutReports: 0,
      unitsCorrected: 0,
      closeMinutes: { p50: 0, p95: 0 },
      openAtEnd: 0,
    },
    escalations: { total: 0, byKind: {} },
    faults: [],
    commands: 0,
    commandsPerSecond: 0,
    wallSeconds: 0,
    series: { ordersPerMinute: [], slaHitRate: [], courierUtilization: [], inventoryAccuracy: [], bucketMinutes: 0 },
    deliveryHistogram: [],
    perWarehouse: [],
    map: { deliveries: [] },
  };
}
