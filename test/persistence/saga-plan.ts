/**
 * What the saga crash test and its child process agree on: the warehouse, its floor (store, SKUs,
 * picker, couriers), and the orders of each round, whose ids carry the saga each one goes through
 * and the state it must end in. Pure data and functions: no I/O.
 */
import { Random } from '../../sim/index.ts';

export const WAREHOUSE_ID = 'W-saga';
export const STORE = { lat: 52.52, lon: 13.405 };
/** About 1.1 km north of the store. */
export const HOME = { lat: 52.53, lon: 13.405 };
export const PICKER = 'p1';
export const COURIERS = ['c1', 'c2', 'c3'];
/** SKU and price in cents. */
export const SKUS: [string, number][] = [
  ['milk', 129],
  ['bread', 249],
  ['eggs', 319],
  ['oat', 199],
];
/**
 * The sagas: delivered (authorize → capture), cancelled right after checkout (the authorization
 * lands late and is voided), declined at checkout, cancelled once packed (void), refunded after
 * delivery (capture → refund). Every round has each, in a seeded order.
 */
export const KINDS = ['deliver', 'cancel-early', 'decline', 'cancel-packed', 'refund', 'deliver'] as const;
export type Kind = (typeof KINDS)[number];

/** The state an order of each kind must end in. */
export const FINAL_STATE_OF: Record<Kind, string> = {
  deliver: 'delivered',
  'cancel-early': 'cancelled',
  decline: 'cancelled',
  'cancel-packed': 'cancelled',
  refund: 'refunded',
};

/** The kind of an order, from its id (`r<round>-<i>-<kind>`). */
export function kindOf(orderId: string): Kind {
  const kind = KINDS.find((k) => orderId.endsWith(`-${k}`));
  if (kind === undefined) throw new Error(`no kind in order id ${orderId}`);
  return kind;
}

/** The orders of round `round`, every kind once per KINDS.length orders, in a seeded order. */
export function roundOrders(round: number, count: number): string[] {
  const random = new Random(0x5a6a + round);
  const kinds: Kind[] = [...KINDS];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [kinds[i], kinds[j]] = [kinds[j] as Kind, kinds[i] as Kind];
  }
  return Array.from({ length: count }, (_, i) => `r${round}-${i}-${kinds[i % kinds.length]}`);
}

/** The lines an order buys (a seeded choice of SKUs and quantities, the same in every process). */
export function linesOf(orderId: string): { sku: string; quantity: number }[] {
  const random = new Random([...orderId].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16_777_619), 2_166_136_261));
  const lines = SKUS.filter(() => random.chance(0.5)).map(([sku]) => ({ sku, quantity: random.int(1, 3) }));
  return lines.length > 0 ? lines : [{ sku: 'milk', quantity: 1 }];
}
