/**
 * How a city's stores are shared out among the threads of a partitioned run, and this thread's
 * share. Stores only meet at checkouts (a customer covered by several stores is offered the best of
 * them), so the split keeps stores that share many customers together: the city is cut in two
 * halves of equal size across as few shared customers as it can find. Pure and deterministic from
 * the city.
 */
import { SpatialIndex } from '../service/spatial-index.ts';
import { type City, offsetKm } from './city.ts';
import type { PartitionLink } from './partition-link.ts';
import { Random } from './random.ts';

export interface Partition {
  /** This thread's part: 0 in a run that is not partitioned. */
  index: number;
  /** Parts in all. */
  count: number;
  /** The part that plays a store. */
  ownerOf(warehouseId: string): number;
  /** The other part's thread (a partitioned run has two). */
  link?: PartitionLink;
}

/** The whole city in one thread. */
export const WHOLE_CITY: Partition = { index: 0, count: 1, ownerOf: () => 0 };

/** Customers drawn to estimate how many each pair of stores shares. */
const SHARED_SAMPLE = 20_000;
/** Up to this many stores, every balanced split is tried; beyond, the city is cut west to east. */
const EXHAUSTIVE_STORES_MAX = 20;

export function partitionOf(owners: readonly number[], city: City, index: number, link?: PartitionLink): Partition {
  const byId = new Map(city.warehouses.map((w) => [w.entry.id, owners[w.index] as number]));
  const partition: Partition = {
    index,
    count: Math.max(...owners) + 1,
    ownerOf: (warehouseId) => {
      const owner = byId.get(warehouseId);
      if (owner === undefined) throw new Error(`no warehouse ${warehouseId}`);
      return owner;
    },
  };
  if (link !== undefined) partition.link = link;
  return partition;
}

/**
 * The part (0 or 1) of each store, by its index in the city: halves of equal size (the odd store
 * out goes to part 0) with the fewest customers in reach of stores of both halves, estimated from
 * customers placed the way the simulated shoppers are (near a store picked at random).
 */
export function splitCity(city: City): number[] {
  const n = city.warehouses.length;
  if (n < 2) return city.warehouses.map(() => 0);
  if (n > EXHAUSTIVE_STORES_MAX) {
    const westToEast = [...city.warehouses].sort((a, b) => a.entry.location.lon - b.entry.location.lon);
    const owners = new Array<number>(n).fill(0);
    westToEast.forEach((w, i) => {
      owners[w.index] = i < Math.ceil(n / 2) ? 0 : 1;
    });
    return owners;
  }
  const shared = sharedCustomers(city);
  let best: number[] | undefined;
  let bestCut = Number.POSITIVE_INFINITY;
  const size = Math.ceil(n / 2);
  // Every set of `size` stores holding store 0 (each split once): part 0; the rest part 1.
  const visit = (from: number, chosen: number[]): void => {
    if (chosen.length === size) {
      const owners = new Array<number>(n).fill(1);
      for (const i of chosen) owners[i] = 0;
      let cut = 0;
      for (let a = 0; a < n; a++)
        for (let b = a + 1; b < n; b++) if (owners[a] !== owners[b]) cut += shared[a * n + b] as number;
      if (cut < bestCut) {
        bestCut = cut;
        best = owners;
      }
      return;
    }
    for (let i = from; i <= n - (size - chosen.length); i++) visit(i + 1, [...chosen, i]);
  };
  visit(1, [0]);
  return best as number[];
}

/** For each pair of stores (a < b, at `a * n + b`): sampled customers both can deliver to. */
function sharedCustomers(city: City): Float64Array {
  const n = city.warehouses.length;
  const index = new SpatialIndex(
    city.warehouses.map((w) => ({ id: String(w.index), location: w.entry.location, radiusKm: w.entry.radiusKm })),
  );
  const shared = new Float64Array(n * n);
  const random = new Random(0x5eed);
  for (let i = 0; i < SHARED_SAMPLE; i++) {
    const home = random.pick(city.warehouses);
    const distanceKm = home.entry.radiusKm * Math.sqrt(random.next());
    const angle = random.between(0, 2 * Math.PI);
    const address = offsetKm(home.entry.location, distanceKm * Math.cos(angle), distanceKm * Math.sin(angle));
    const near = index.covering(address).map((m) => Number(m.item.id));
    for (let x = 0; x < near.length; x++) {
      for (let y = x + 1; y < near.length; y++) {
        const a = Math.min(near[x] as number, near[y] as number);
        const b = Math.max(near[x] as number, near[y] as number);
        shared[a * n + b] = (shared[a * n + b] as number) + 1;
      }
    }
  }
  return shared;
}
