/**
 * The simulated city: where its dark stores are, how far each delivers, its SLA, its catalog and
 * how popular each SKU is. Warehouses are set up by the same commands `darkstore serve` sends for a
 * region config (`seedCommands`), so the embedded and the NATS runs see the same stores. Pure and
 * deterministic from the scenario's seed.
 */
import type { GeoPoint } from '../engine/index.ts';
import { seededSku } from '../service/catalog-seed.ts';
import type { WarehouseConfigEntry } from '../service/config.ts';
import { Random, Zipf } from './random.ts';
import type { Scenario } from './scenario.ts';

export const CITY_CENTER: GeoPoint = { lat: 52.52, lon: 13.405 };
const KM_PER_DEG_LAT = 111.2;
/** Distance between neighbouring stores on the city's grid. */
const STORE_SPACING_KM = 4.2;

export interface SimWarehouse {
  entry: WarehouseConfigEntry;
  /** Its place in `City.warehouses` (labels its random streams). */
  index: number;
  /** SKU ids by popularity rank (rank 0 the best seller of this store). */
  byRank: string[];
  /** SKU id → its index in `byRank`. */
  rankOf: Map<string, number>;
  zipf: Zipf;
}

export interface City {
  warehouses: SimWarehouse[];
  /** The catalog seed every store shares (same SKU ids, names, prices and substitutes). */
  catalogSeed: number;
}

/** Moves a point by km north and east (flat-earth approximation, fine at city scale). */
export function offsetKm(from: GeoPoint, northKm: number, eastKm: number): GeoPoint {
  const lat = from.lat + northKm / KM_PER_DEG_LAT;
  const lon = from.lon + eastKm / (KM_PER_DEG_LAT * Math.cos((from.lat * Math.PI) / 180));
  return { lat, lon };
}

/** Store positions on a square grid around the center, nearest cells first, jittered by up to 0.8 km. */
function storeSpots(count: number, random: Random): GeoPoint[] {
  const cells: [number, number][] = [];
  const side = Math.ceil(Math.sqrt(count)) + 2;
  for (let i = -side; i <= side; i++) for (let j = -side; j <= side; j++) cells.push([i, j]);
  cells.sort((a, b) => a[0] ** 2 + a[1] ** 2 - (b[0] ** 2 + b[1] ** 2) || a[0] - b[0] || a[1] - b[1]);
  return cells
    .slice(0, count)
    .map(([i, j]) =>
      offsetKm(
        CITY_CENTER,
        i * STORE_SPACING_KM + random.between(-0.8, 0.8),
        j * STORE_SPACING_KM + random.between(-0.8, 0.8),
      ),
    );
}

/** Promised delivery minutes: most stores promise 20–30 minutes within their radius. */
const SLA_CHOICES = [20, 25, 30, 30];

export function buildCity(scenario: Scenario): City {
  const random = new Random(scenario.seed).fork(1);
  const catalogSeed = random.int(1, 2 ** 31 - 1);
  const maxSkus = scenario.skusPerWarehouse.max;
  // One popularity order for the city (people want the same things), nudged per store below.
  const cityRank = Array.from({ length: maxSkus }, (_, i) => i);
  for (let i = cityRank.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [cityRank[i], cityRank[j]] = [cityRank[j] as number, cityRank[i] as number];
  }
  const warehouses = storeSpots(scenario.warehouses, random).map((location, n) => {
    const skus = random.int(scenario.skusPerWarehouse.min, maxSkus);
    const id = `w${String(n + 1).padStart(2, '0')}`;
    const entry: WarehouseConfigEntry = {
      id,
      location,
      radiusKm: Math.round(random.between(2.2, 3) * 10) / 10,
      slaMinutes: random.pick(SLA_CHOICES),
      catalog: { seed: catalogSeed, skus, unitsPerSku: 0 },
      pickers: 0,
      couriers: 0,
    };
    const ranks = cityRank.filter((i) => i < skus);
    // Local taste: a few swaps among neighbours in the ranking.
    for (let k = 0; k < skus / 10; k++) {
      const i = random.int(0, ranks.length - 2);
      [ranks[i], ranks[i + 1]] = [ranks[i + 1] as number, ranks[i] as number];
    }
    const byRank = ranks.map(seededSku);
    return {
      entry,
      index: n,
      byRank,
      rankOf: new Map(byRank.map((sku, rank) => [sku, rank])),
      zipf: new Zipf(skus, scenario.zipfS),
    };
  });
  return { warehouses, catalogSeed };
}
