/**
 * The shared benchmark workload: a catalogue of SKUs with stock, and a seeded stream of picks that
 * is Zipf-skewed across SKUs with one hot SKU on top, as in a dark store where a few products
 * (milk, bananas) take a large share of orders. Every suite that compares two systems draws from
 * the same stream, so both sides see the same skew. Deterministic: a seeded PRNG, never
 * Math.random. Builds commands only; never applies them.
 */

import { type Command, type QuantityLine, type ReserveCommand, validateCommand } from '../engine/index.ts';
import { Random } from '../sim/index.ts';

export const WORKLOAD_SEED = 0x5eed_da7a;
export const WORKLOAD_SKUS = 5_000;
/** Zipf exponent: the SKU of rank r is picked with weight 1 / r^s. */
export const ZIPF_EXPONENT = 1.0;
/** Share of all picks that go to the one hot SKU, on top of its Zipf share. */
export const HOT_SKU_SHARE = 0.1;
/** Units received per SKU: enough that reservations of the benchmarks never run short. */
export const STOCK_PER_SKU = 1_000_000;
/** Units per picked line: 1 to this many. */
export const LINE_QUANTITY_MAX = 3;
/** Hold time of benchmark reservations: long enough that none expires during a run. */
export const RESERVATION_TTL_MS = 15 * 60 * 1_000;
/** Picks are drawn once into a ring of this many and then replayed: drawing is not what we measure. */
const PICK_RING_SIZE = 1 << 16;
/** Receipt lines per receipt command (the engine accepts up to 200). */
const RECEIPT_LINES = 200;

export interface WorkloadOptions {
  seed?: number;
  skuCount?: number;
  zipfExponent?: number;
  hotShare?: number;
}

/** Cumulative Zipf weights of ranks 1..n, normalised to end at 1. */
function zipfCumulative(n: number, exponent: number): Float64Array {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let rank = 1; rank <= n; rank++) {
    total += 1 / rank ** exponent;
    cumulative[rank - 1] = total;
  }
  for (let i = 0; i < n; i++) cumulative[i] = (cumulative[i] as number) / total;
  return cumulative;
}

/** The first index whose cumulative weight exceeds `u`. */
function searchCumulative(cumulative: Float64Array, u: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cumulative[mid] as number) > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export class Workload {
  /** SKU ids, `SKU-00000` to `SKU-04999`. */
  readonly skus: string[];
  readonly hotSku: string;
  private readonly pickSku = new Uint16Array(PICK_RING_SIZE);
  private readonly pickQuantity = new Uint8Array(PICK_RING_SIZE);
  private cursor = 0;

  constructor(options: WorkloadOptions = {}) {
    const rng = new Random(options.seed ?? WORKLOAD_SEED);
    const random = () => rng.next();
    const skuCount = options.skuCount ?? WORKLOAD_SKUS;
    const hotShare = options.hotShare ?? HOT_SKU_SHARE;
    this.skus = Array.from({ length: skuCount }, (_, i) => `SKU-${String(i).padStart(5, '0')}`);
    // Popularity rank → SKU index, shuffled so popular SKUs are spread over the catalogue.
    const byRank = Array.from({ length: skuCount }, (_, i) => i);
    for (let i = skuCount - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [byRank[i], byRank[j]] = [byRank[j] as number, byRank[i] as number];
    }
    const hotIndex = Math.floor(random() * skuCount);
    this.hotSku = this.skus[hotIndex] as string;
    const cumulative = zipfCumulative(skuCount, options.zipfExponent ?? ZIPF_EXPONENT);
    for (let i = 0; i < PICK_RING_SIZE; i++) {
      const hot = random() < hotShare;
      this.pickSku[i] = hot ? hotIndex : (byRank[searchCumulative(cumulative, random())] as number);
      this.pickQuantity[i] = 1 + Math.floor(random() * LINE_QUANTITY_MAX);
    }
  }

  /** The next picked line of the stream (the stream repeats after PICK_RING_SIZE picks). */
  nextLine(): QuantityLine {
    const i = this.cursor;
    this.cursor = (i + 1) & (PICK_RING_SIZE - 1);
    return { sku: this.skus[this.pickSku[i] as number] as string, quantity: this.pickQuantity[i] as number };
  }

  /** A one-line reservation of the next pick, in the canonical form `validateCommand` returns. */
  reserveCommand(key: string): ReserveCommand {
    const line = this.nextLine();
    return { type: 'reserve', key, lines: [{ sku: line.sku, quantity: line.quantity }], ttlMs: RESERVATION_TTL_MS };
  }

  /**
   * The commands that set a warehouse up for the workload: one `sku.upsert` per SKU, then receipts
   * of STOCK_PER_SKU units each. Each passed through `validateCommand`, so they are canonical.
   */
  setupCommands(): Command[] {
    const raw: unknown[] = this.skus.map((sku, i) => ({
      type: 'sku.upsert',
      key: `setup-sku-${sku}`,
      sku,
      ownerId: 'darkstore',
      name: `Bench product ${i}`,
      priceCents: 100 + (i % 900),
      location: { zone: 'A', aisle: Math.floor(i / 200), bay: Math.floor(i / 10) % 20, level: i % 10 },
      safetyStock: 0,
      substitutes: [],
    }));
    for (let start = 0; start < this.skus.length; start += RECEIPT_LINES) {
      const lines = this.skus.slice(start, start + RECEIPT_LINES).map((sku) => ({ sku, quantity: STOCK_PER_SKU }));
      raw.push({ type: 'receipt', key: `setup-receipt-${start}`, receiptId: `bench-receipt-${start}`, lines });
    }
    return raw.map((input) => {
      const validated = validateCommand(input);
      if (!validated.ok) throw new Error(`workload built an invalid command: ${validated.error.message}`);
      return validated.value;
    });
  }

  /** Checks that a sample of the reservation stream is canonical: the workload is wrong otherwise. */
  checkReserveCommands(sample: number): void {
    const cursor = this.cursor;
    for (let i = 0; i < sample; i++) {
      const validated = validateCommand(this.reserveCommand(`check-${i}`));
      if (!validated.ok) throw new Error(`workload built an invalid reserve: ${validated.error.message}`);
    }
    this.cursor = cursor;
  }

  /** Share of the pick stream that names `sku` (for notes and sanity checks). */
  shareOf(sku: string): number {
    const index = this.skus.indexOf(sku);
    let count = 0;
    for (const pick of this.pickSku) if (pick === index) count++;
    return count / PICK_RING_SIZE;
  }
}
