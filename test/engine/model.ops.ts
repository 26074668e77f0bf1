/**
 * The generated operations of the model-based tests: abstract, shrinkable choices (which SKU,
 * which reservation, how much time passes) and `inputOf`, which turns one choice into raw command
 * input by reading the model's current state, so a choice like "commit an open reservation" stays
 * meaningful whatever happened before it.
 */
import fc from 'fast-check';
import { type AdjustmentReason, type Command, limits } from '../../engine/index.ts';
import type { WarehouseModel } from './model.ts';

export const SKU_NAMES = ['A', 'B', 'C', 'D', 'E', 'F', 'Z'] as const;
export const UNKNOWN_RESERVATION = 'r999999999';
const LOCATION = { zone: 'Z1', aisle: 1, bay: 2, level: 0 };

export function skuName(index: number): string {
  return SKU_NAMES[index % SKU_NAMES.length] ?? 'A';
}

const skuIndex = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 5 }) },
  { weight: 1, arbitrary: fc.constant(6) },
);
const qtyLine = (max: number) => fc.record({ sku: skuIndex, quantity: fc.integer({ min: 1, max }) });
const pickArb = fc.record({
  pick: fc.nat(1000),
  open: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, fc.constant(false)),
});
// Times and TTLs sit mostly on a 500 ms grid, so deadlines are often hit exactly and often tie.
const onGrid = (min: number, max: number) => fc.integer({ min: min / 500, max: max / 500 }).map((n) => n * 500);
const ttlArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(1_000, 2_000, 3_000, 5_000, 10_000) },
  { weight: 2, arbitrary: onGrid(1_000, 20_000) },
  { weight: 1, arbitrary: fc.integer({ min: limits.TTL_MS_MIN, max: 60_000 }) },
);

const opArb = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('upsert' as const),
      sku: fc.integer({ min: 0, max: 5 }),
      safety: fc.integer({ min: 0, max: 3 }),
      subs: fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('receipt' as const),
      rid: fc.integer({ min: 0, max: 7 }),
      lines: fc.uniqueArray(qtyLine(20), { minLength: 1, maxLength: 3, selector: (l) => l.sku }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('adjust' as const),
      sku: skuIndex,
      reason: fc.constantFrom<AdjustmentReason>('shrinkage', 'damage', 'found', 'correction'),
      magnitude: fc.integer({ min: 1, max: 8 }),
      negative: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('count' as const), sku: skuIndex, counted: fc.integer({ min: 0, max: 30 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('pos' as const),
      source: fc.integer({ min: 0, max: 1 }),
      sourceSeq: fc.integer({ min: 1, max: 25 }),
      lines: fc.uniqueArray(qtyLine(3), { minLength: 1, maxLength: 2, selector: (l) => l.sku }),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('reserve' as const),
      ttlMs: ttlArb,
      orderRef: fc.boolean(),
      lines: fc.uniqueArray(
        fc.record({
          sku: skuIndex,
          quantity: fc.integer({ min: 1, max: 6 }),
          version: fc.constantFrom('none', 'none', 'none', 'current', 'stale'),
          substitutes: fc.boolean(),
        }),
        { minLength: 1, maxLength: 3, selector: (l) => l.sku },
      ),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('commit' as const),
      target: pickArb,
      all: fc.boolean(),
      releaseRest: fc.constantFrom(undefined, true, false),
      parts: fc.array(fc.record({ pick: fc.nat(10), quantity: fc.integer({ min: 1, max: 6 }) }), {
        minLength: 1,
        maxLength: 3,
      }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('release' as const), target: pickArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('extend' as const), target: pickArb, ttlMs: ttlArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('tick' as const), withKey: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('repeat' as const), pick: fc.nat(10_000), samePayload: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const) }) },
);
export type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

const dtArb = fc.oneof(
  { weight: 40, arbitrary: fc.constant(0) },
  { weight: 35, arbitrary: onGrid(500, 5_000) },
  { weight: 10, arbitrary: fc.integer({ min: 1, max: 4_000 }) },
  { weight: 14, arbitrary: onGrid(5_000, 90_000) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: limits.IDEMPOTENCY_RETENTION_MS + 1, max: limits.IDEMPOTENCY_RETENTION_MS + 60_000 }),
  },
);

export const scenarioArb = fc.record({
  skuCount: fc.integer({ min: 3, max: 6 }),
  catalog: fc.array(
    fc.record({
      safety: fc.integer({ min: 0, max: 3 }),
      subs: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
      stock: fc.integer({ min: 0, max: 30 }),
    }),
    { minLength: 6, maxLength: 6 },
  ),
  steps: fc.array(fc.record({ op: opArb, dtMs: dtArb }), { minLength: 50, maxLength: 300, size: 'max' }),
});

export type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/** What `inputOf` needs from the test harness. */
export interface OpContext {
  readonly model: WarehouseModel;
  /** Commands sent under a key so far, for repeats. */
  readonly sent: readonly Command[];
  nextKey(): string;
}

/** An open reservation most of the time, else any id ever created or one never created. */
function pickReservation(model: WarehouseModel, target: { pick: number; open: boolean }): string {
  const open = model.open;
  if (target.open && open.length > 0) return open[target.pick % open.length]?.reservationId ?? UNKNOWN_RESERVATION;
  const all = [...model.createdIds, UNKNOWN_RESERVATION];
  return all[target.pick % all.length] ?? UNKNOWN_RESERVATION;
}

function lines(items: { sku: number; quantity: number }[]): { sku: string; quantity: number }[] {
  return items.map((l) => ({ sku: skuName(l.sku), quantity: l.quantity }));
}

export function upsert(key: string, sku: number, safety: number, subs: number[]): unknown {
  const substitutes = subs.filter((s) => s !== sku).map(skuName);
  const name = skuName(sku);
  return {
    type: 'sku.upsert',
    key,
    sku: name,
    ownerId: 'o1',
    name: `item ${name}`,
    priceCents: 199,
    location: LOCATION,
    safetyStock: safety,
    substitutes,
  };
}

/** Turns an abstract operation into raw command input, reading the model for ids and versions. */
export function inputOf(h: OpContext, op: Exclude<Op, { t: 'restart' }>): unknown {
  const key = h.nextKey();
  switch (op.t) {
    case 'upsert':
      return upsert(key, op.sku, op.safety, op.subs);
    case 'receipt':
      return { type: 'receipt', key, receiptId: `rc${op.rid}`, lines: lines(op.lines) };
    case 'adjust': {
      const negative =
        op.reason === 'shrinkage' || op.reason === 'damage' || (op.reason === 'correction' && op.negative);
      return {
        type: 'adjust',
        key,
        sku: skuName(op.sku),
        delta: negative ? -op.magnitude : op.magnitude,
        reason: op.reason,
      };
    }
    case 'count':
      return { type: 'count', key, sku: skuName(op.sku), counted: op.counted };
    case 'pos':
      return { type: 'pos.sale', key, sourceId: `till${op.source}`, sourceSeq: op.sourceSeq, lines: lines(op.lines) };
    case 'reserve': {
      const reserveLines = op.lines.map((l) => {
        const line: Record<string, unknown> = { sku: skuName(l.sku), quantity: l.quantity };
        const version = h.model.sku(skuName(l.sku))?.version ?? 0;
        if (l.version === 'current') line.expectedVersion = version;
        if (l.version === 'stale')
          line.expectedVersion = version > 0 && l.quantity % 2 === 0 ? version - 1 : version + 1;
        if (l.substitutes) line.allowSubstitutes = true;
        return line;
      });
      return {
        type: 'reserve',
        key,
        lines: reserveLines,
        ttlMs: op.ttlMs,
        ...(op.orderRef ? { orderRef: `o-${key}` } : {}),
      };
    }
    case 'commit': {
      const reservationId = pickReservation(h.model, op.target);
      const command: Record<string, unknown> = { type: 'commit', key, reservationId };
      if (op.releaseRest !== undefined) command.releaseRest = op.releaseRest;
      if (op.all) return command;
      const held = h.model.open.find((r) => r.reservationId === reservationId)?.lines ?? [];
      const wanted = new Map<string, number>();
      for (const part of op.parts) {
        const sku = held.length > 0 ? (held[part.pick % held.length]?.sku ?? 'A') : skuName(part.pick);
        if (!wanted.has(sku)) wanted.set(sku, part.quantity);
      }
      command.lines = [...wanted].map(([sku, quantity]) => ({ sku, quantity }));
      return command;
    }
    case 'release':
      return { type: 'release', key, reservationId: pickReservation(h.model, op.target) };
    case 'extend':
      return { type: 'extend', key, reservationId: pickReservation(h.model, op.target), ttlMs: op.ttlMs };
    case 'tick':
      return op.withKey ? { type: 'tick', key } : { type: 'tick' };
    case 'repeat': {
      const earlier = h.sent[op.pick % Math.max(1, h.sent.length)];
      if (earlier === undefined || earlier.type === 'tick') return { type: 'tick' };
      if (op.samePayload) return structuredClone(earlier);
      const other = h.sent[(op.pick + 1) % h.sent.length] ?? earlier;
      return { ...structuredClone(other), key: earlier.key };
    }
  }
}
