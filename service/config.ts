/**
 * The region config file (`darkstore serve --config FILE`, JSON): the region's name and the
 * warehouses this process hosts, each with its place, delivery radius, SLA, the catalog and stock
 * it starts with, its pickers and couriers, and the payment provider. Parsed strictly: a bad file
 * (a value out of range, a fraction where a count belongs, a field it does not know) is refused at
 * start with the path of the offending field. Pure; reading the file is the caller's.
 */
import type { GeoPoint } from '../engine/index.ts';
import { TOKEN_PATTERN } from '../protocol/index.ts';

export interface CatalogSeed {
  /** Seed of the generated catalog: the same seed gives the same SKUs, names, prices and shelves. */
  seed: number;
  skus: number;
  unitsPerSku: number;
}

export interface WarehouseConfigEntry {
  id: string;
  location: GeoPoint;
  radiusKm: number;
  slaMinutes: number;
  catalog: CatalogSeed;
  pickers: number;
  couriers: number;
}

/** A window of wall-clock time (epoch ms) in which the simulated payment provider is down. */
export interface PaymentOutageWindow {
  fromMs: number;
  toMs: number;
}

/**
 * The simulated payment provider of the region (a real gateway is wired in code): its decline rate
 * (0 by default), its latency per call (none by default) and the wall-clock windows in which it is
 * down (the simulator's payment outage over NATS computes them from its acceleration).
 */
export interface PaymentsConfig {
  declineRate?: number;
  latencyMs?: { min: number; max: number };
  outages?: PaymentOutageWindow[];
  /** How long the gateway's circuit breaker stays open before a trial call (default OPEN_MS, 30 s). */
  breakerOpenMs?: number;
}

export interface RegionConfig {
  region: string;
  warehouses: WarehouseConfigEntry[];
  payments?: PaymentsConfig;
}

const WAREHOUSES_PER_REGION_MAX = 256;
/** Most outage windows one config may list for the simulated payment provider. */
export const PAYMENT_OUTAGES_MAX = 64;
/** Longest simulated provider latency per call. */
const PAYMENT_LATENCY_MS_MAX = 60_000;
/** Longest time the circuit breaker may be configured to stay open. */
const BREAKER_OPEN_MS_MAX = 10 * 60_000;
/** The latest epoch ms an outage window may name (year 2286: any real date fits). */
const EPOCH_MS_MAX = 10_000_000_000_000;

class ConfigError extends Error {}

function fail(path: string, message: string): never {
  throw new ConfigError(`config ${path}: ${message}`);
}

function num(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    fail(path, `must be a number between ${min} and ${max}`);
  }
  return value;
}

/** A whole number in range: counts, seeds. */
function int(value: unknown, path: string, min: number, max: number): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    fail(path, `must be a whole number from ${min} to ${max}`);
  }
  return value as number;
}

/** Refuses a field the config does not know: a misspelt one would silently fall back to its default. */
function known(o: Record<string, unknown>, path: string, keys: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!keys.includes(key))
      fail(path === '' ? key : `${path}.${key}`, `is not a config field (known: ${keys.join(', ')})`);
  }
}

function token(value: unknown, path: string): string {
  if (typeof value !== 'string' || !TOKEN_PATTERN.test(value)) fail(path, 'must be 1–64 letters, digits, _ or -');
  return value;
}

function obj(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object');
  return value as Record<string, unknown>;
}

function warehouse(value: unknown, path: string): WarehouseConfigEntry {
  const o = obj(value, path);
  known(o, path, ['id', 'location', 'radiusKm', 'slaMinutes', 'catalog', 'pickers', 'couriers']);
  const location = obj(o.location, `${path}.location`);
  known(location, `${path}.location`, ['lat', 'lon']);
  const catalog = obj(o.catalog ?? { seed: 1, skus: 100, unitsPerSku: 50 }, `${path}.catalog`);
  known(catalog, `${path}.catalog`, ['seed', 'skus', 'unitsPerSku']);
  return {
    id: token(o.id, `${path}.id`),
    location: {
      lat: num(location.lat, `${path}.location.lat`, -90, 90),
      lon: num(location.lon, `${path}.location.lon`, -180, 180),
    },
    radiusKm: num(o.radiusKm, `${path}.radiusKm`, 0.1, 100),
    slaMinutes: num(o.slaMinutes, `${path}.slaMinutes`, 1, 24 * 60),
    catalog: {
      seed: int(catalog.seed, `${path}.catalog.seed`, 0, 2 ** 32 - 1),
      skus: int(catalog.skus, `${path}.catalog.skus`, 0, 200_000),
      unitsPerSku: int(catalog.unitsPerSku, `${path}.catalog.unitsPerSku`, 0, 1_000_000),
    },
    pickers: int(o.pickers ?? 2, `${path}.pickers`, 0, 2_000),
    couriers: int(o.couriers ?? 4, `${path}.couriers`, 0, 2_000),
  };
}

/** Parses a region config (already JSON-decoded); throws with the offending path. */
export function parseRegionConfig(input: unknown): RegionConfig {
  const o = obj(input, '');
  known(o, '', ['region', 'warehouses', 'payments']);
  if (!Array.isArray(o.warehouses) || o.warehouses.length === 0 || o.warehouses.length > WAREHOUSES_PER_REGION_MAX) {
    fail('warehouses', `must list 1 to ${WAREHOUSES_PER_REGION_MAX} warehouses`);
  }
  const warehouses = o.warehouses.map((w, i) => warehouse(w, `warehouses[${i}]`));
  const ids = new Set<string>();
  for (const w of warehouses) {
    if (ids.has(w.id)) fail('warehouses', `lists ${w.id} twice`);
    ids.add(w.id);
  }
  const config: RegionConfig = { region: token(o.region, 'region'), warehouses };
  if (o.payments !== undefined) config.payments = payments(o.payments);
  return config;
}

function payments(value: unknown): PaymentsConfig {
  const p = obj(value, 'payments');
  known(p, 'payments', ['declineRate', 'latencyMs', 'outages', 'breakerOpenMs']);
  const config: PaymentsConfig = { declineRate: num(p.declineRate ?? 0, 'payments.declineRate', 0, 1) };
  if (p.latencyMs !== undefined) {
    const l = obj(p.latencyMs, 'payments.latencyMs');
    known(l, 'payments.latencyMs', ['min', 'max']);
    const min = num(l.min, 'payments.latencyMs.min', 0, PAYMENT_LATENCY_MS_MAX);
    config.latencyMs = { min, max: num(l.max, 'payments.latencyMs.max', min, PAYMENT_LATENCY_MS_MAX) };
  }
  if (p.breakerOpenMs !== undefined) {
    config.breakerOpenMs = num(p.breakerOpenMs, 'payments.breakerOpenMs', 1, BREAKER_OPEN_MS_MAX);
  }
  if (p.outages !== undefined) {
    if (!Array.isArray(p.outages) || p.outages.length > PAYMENT_OUTAGES_MAX) {
      fail('payments.outages', `must list at most ${PAYMENT_OUTAGES_MAX} windows`);
    }
    config.outages = p.outages.map((w, i) => {
      const path = `payments.outages[${i}]`;
      const window = obj(w, path);
      known(window, path, ['fromMs', 'toMs']);
      const fromMs = num(window.fromMs, `${path}.fromMs`, 0, EPOCH_MS_MAX);
      return { fromMs, toMs: num(window.toMs, `${path}.toMs`, fromMs, EPOCH_MS_MAX) };
    });
  }
  return config;
}
