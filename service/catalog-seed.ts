/**
 * The commands that set a new warehouse up from its config: the store's place, a generated catalog
 * (deterministic from the seed: SKU ids, names, prices, shelf locations, substitutes), its opening
 * stock, and the pickers and couriers on shift. Every command has a fixed idempotency key, so
 * sending them again after a restart changes nothing. Pure.
 */
import type { Command } from '../engine/index.ts';
import { Random } from '../sim/random.ts';
import type { WarehouseConfigEntry } from './config.ts';

const ZONES = ['A', 'B', 'C', 'D'];
const KINDS = [
  'milk',
  'bread',
  'eggs',
  'apples',
  'coffee',
  'pasta',
  'rice',
  'tea',
  'juice',
  'yogurt',
  'cheese',
  'water',
];
/** Receipts carry at most this many lines. */
const RECEIPT_LINES = 200;

/** The id of the n-th SKU of a generated catalog (shared by every warehouse of the same seed). */
export function seededSku(n: number): string {
  return `sku-${String(n).padStart(5, '0')}`;
}

export function seedCommands(w: WarehouseConfigEntry): Command[] {
  const random = new Random(w.catalog.seed);
  const key = (what: string) => `seed:${w.id}:${what}`;
  const commands: Command[] = [{ type: 'warehouse.configure', key: key('configure'), location: w.location }];
  const count = w.catalog.skus;
  for (let i = 0; i < count; i++) {
    const kind = KINDS[i % KINDS.length] as string;
    const substitutes = count > 1 && random.next() < 0.3 ? [seededSku((i + KINDS.length) % count)] : [];
    commands.push({
      type: 'sku.upsert',
      key: key(`sku:${i}`),
      sku: seededSku(i),
      ownerId: 'darkstore',
      name: `${kind} ${i}`,
      priceCents: random.int(99, 1_999),
      location: {
        zone: ZONES[i % ZONES.length] as string,
        aisle: random.int(1, 12),
        bay: random.int(1, 8),
        level: random.int(0, 4),
      },
      safetyStock: 0,
      substitutes: substitutes.filter((s) => s !== seededSku(i)),
    });
  }
  if (w.catalog.unitsPerSku > 0) {
    for (let from = 0; from < count; from += RECEIPT_LINES) {
      const lines = [];
      for (let i = from; i < Math.min(count, from + RECEIPT_LINES); i++) {
        lines.push({ sku: seededSku(i), quantity: w.catalog.unitsPerSku });
      }
      commands.push({ type: 'receipt', key: key(`receipt:${from}`), receiptId: `opening-${w.id}-${from}`, lines });
    }
  }
  for (let i = 0; i < w.pickers; i++) {
    commands.push({ type: 'picker.check_in', key: key(`picker:${i}`), pickerId: `${w.id}-p${i}` });
  }
  for (let i = 0; i < w.couriers; i++) {
    commands.push({
      type: 'courier.check_in',
      key: key(`courier:${i}`),
      courierId: `${w.id}-c${i}`,
      position: w.location,
    });
  }
  return commands;
}
