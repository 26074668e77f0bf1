/**
 * Bad input at the boundary of the core: every malformed, hostile or merely wrong command gives a
 * typed error (VALIDATION_ERROR with the offending path, or NOT_FOUND for unknown SKUs), never an
 * exception, and leaves the warehouse state byte for byte as it was.
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkAll, decode, encode, limits, validateCommand, validateQuery } from '../../engine/index.ts';
import { LOCATION, sameBytes, TestWarehouse } from './helpers.ts';

let w: TestWarehouse;

/** Two SKUs with stock and one open reservation, r5. */
function stocked(): TestWarehouse {
  const warehouse = new TestWarehouse();
  warehouse.upsert('A', { substitutes: ['B'] });
  warehouse.upsert('B');
  warehouse.receive('A', 10);
  warehouse.receive('B', 10);
  warehouse.reserveId([{ sku: 'A', quantity: 2 }]);
  return warehouse;
}

beforeEach(() => {
  w = stocked();
});

const reserve = (line: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'reserve',
  key: 'k-bad',
  lines: [{ sku: 'A', quantity: 1, ...line }],
  ttlMs: 10_000,
  ...extra,
});
const upsert = (extra: Record<string, unknown>) => ({
  type: 'sku.upsert',
  key: 'k-bad',
  sku: 'N',
  ownerId: 'o',
  name: 'n',
  priceCents: 1,
  location: LOCATION,
  ...extra,
});

function nested(levels: number, leaf: unknown, asArray: boolean): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = asArray ? [value] : { a: value };
  return value;
}

class ReserveLike {
  type = 'reserve';
  key = 'k-bad';
  lines = [{ sku: 'A', quantity: 1 }];
  ttlMs = 10_000;
}

const cyclic: Record<string, unknown> = { type: 'tick' };
cyclic.self = cyclic;

const PING_MS = 1.7e12;
/** A ping whose own point is at PING_MS, carrying `trail` (earlier points, as sent). */
function trailPing(trail: unknown[]) {
  return { type: 'courier.ping', key: 'k', courierId: 'c', position: { lat: 1, lon: 0 }, deviceTimeMs: PING_MS, trail };
}
const trailPoint = (deviceTimeMs: number, position: unknown = { lat: 1, lon: 0 }) => ({ position, deviceTimeMs });

function orderEvent(expectedState: string, event: string, facts: Record<string, unknown> = {}) {
  return { type: 'order.event', key: 'k', orderId: 'o-1', eventId: 'e-1', expectedState, event, ...facts };
}

/** [what, input, expected path]. */
const invalid: [string, unknown, string][] = [
  ['null', null, ''],
  ['undefined', undefined, ''],
  ['a number', 42, ''],
  ['a string', 'reserve', ''],
  ['an array', [reserve({})], ''],
  ['a BigInt', 10n, ''],
  ['a Symbol', Symbol('reserve'), ''],
  ['a function', () => reserve({}), ''],
  ['a class instance', new ReserveLike(), ''],
  ['a Map', new Map([['type', 'tick']]), ''],
  ['a Date', new Date(0), ''],
  ['an unknown command type', { type: 'explode', key: 'k' }, 'type'],
  ['a missing type', { key: 'k' }, 'type'],
  ['a numeric type', { type: 7 }, 'type'],
  ['an unknown field', reserve({}, { extra: 1 }), 'extra'],
  ['a field of another command', reserve({}, { receiptId: 'x' }), 'receiptId'],
  ['an unknown line field', reserve({ colour: 'red' }), 'lines[0].colour'],
  ['an own __proto__ key', JSON.parse('{"type":"tick","__proto__":{"polluted":true}}'), '__proto__'],
  ['a constructor key', { type: 'tick', constructor: 'x' }, 'constructor'],
  ['a negative quantity', reserve({ quantity: -1 }), 'lines[0].quantity'],
  ['a zero quantity', reserve({ quantity: 0 }), 'lines[0].quantity'],
  ['a fractional quantity', reserve({ quantity: 1.5 }), 'lines[0].quantity'],
  ['a NaN quantity', reserve({ quantity: Number.NaN }), 'lines[0].quantity'],
  ['an infinite quantity', reserve({ quantity: Number.POSITIVE_INFINITY }), 'lines[0].quantity'],
  ['a -Infinity quantity', reserve({ quantity: Number.NEGATIVE_INFINITY }), 'lines[0].quantity'],
  ['a quantity as a string', reserve({ quantity: '1' }), 'lines[0].quantity'],
  ['a BigInt quantity', reserve({ quantity: 1n }), 'lines[0].quantity'],
  ['a quantity over QUANTITY_MAX', reserve({ quantity: limits.QUANTITY_MAX + 1 }), 'lines[0].quantity'],
  ['a SKU as a Symbol', reserve({ sku: Symbol('A') }), 'lines[0].sku'],
  ['an empty SKU', reserve({ sku: '' }), 'lines[0].sku'],
  ['a SKU too long', reserve({ sku: 'A'.repeat(limits.ID_LENGTH_MAX + 1) }), 'lines[0].sku'],
  ['a SKU with spaces', reserve({ sku: 'A B' }), 'lines[0].sku'],
  ['a null expectedVersion', reserve({ expectedVersion: null }), 'lines[0].expectedVersion'],
  ['a negative expectedVersion', reserve({ expectedVersion: -1 }), 'lines[0].expectedVersion'],
  ['a string allowSubstitutes', reserve({ allowSubstitutes: 'yes' }), 'lines[0].allowSubstitutes'],
  ['a ttl below TTL_MS_MIN', reserve({}, { ttlMs: limits.TTL_MS_MIN - 1 }), 'ttlMs'],
  ['a ttl above TTL_MS_MAX', reserve({}, { ttlMs: limits.TTL_MS_MAX + 1 }), 'ttlMs'],
  ['a missing key', { type: 'release', reservationId: 'r1' }, 'key'],
  ['a key too long', { type: 'release', key: 'k'.repeat(129), reservationId: 'r1' }, 'key'],
  ['no lines', reserve({}, { lines: [] }), 'lines'],
  ['lines as an object', reserve({}, { lines: { 0: { sku: 'A', quantity: 1 } } }), 'lines'],
  ['a null line', reserve({}, { lines: [null] }), 'lines[0]'],
  ['a sparse array of lines', reserve({}, { lines: new Array(1) }), 'lines[0]'],
  ['a SKU listed twice', reserve({}, { lines: [reserve({}).lines[0], reserve({}).lines[0]] }), 'lines[1].sku'],
  [
    'more lines than LINES_PER_COMMAND_MAX',
    reserve(
      {},
      { lines: Array.from({ length: limits.LINES_PER_COMMAND_MAX + 1 }, (_, i) => ({ sku: `S${i}`, quantity: 1 })) },
    ),
    'lines',
  ],
  ['a million lines', reserve({}, { lines: new Array(1_000_000).fill(0) }), 'lines'],
  ['10,000 nested objects', reserve({}, { lines: nested(10_000, 1, false) }), 'lines'],
  ['10,000 nested arrays', nested(10_000, { type: 'tick' }, true), ''],
  ['a cyclic object', cyclic, 'self'],
  ['a name too long', upsert({ name: 'n'.repeat(limits.TEXT_LENGTH_MAX + 1) }), 'name'],
  ['a name with a lone surrogate', upsert({ name: `${'x'.repeat(60)}\uD800` }), 'name'],
  [
    'a note with a lone surrogate',
    { type: 'adjust', key: 'k', sku: 'A', delta: 1, reason: 'found', note: '\uDC00' },
    'note',
  ],
  ['a substitute naming the SKU itself', upsert({ substitutes: ['N'] }), 'substitutes'],
  ['a substitute named twice', upsert({ substitutes: ['A', 'A'] }), 'substitutes'],
  ['too many substitutes', upsert({ substitutes: Array.from({ length: 17 }, (_, i) => `S${i}`) }), 'substitutes'],
  ['a location with a string aisle', upsert({ location: { ...LOCATION, aisle: '3' } }), 'location.aisle'],
  ['a negative price', upsert({ priceCents: -1 }), 'priceCents'],
  ['a zero delta', { type: 'adjust', key: 'k', sku: 'A', delta: 0, reason: 'found' }, 'delta'],
  ['shrinkage that adds', { type: 'adjust', key: 'k', sku: 'A', delta: 2, reason: 'shrinkage' }, 'delta'],
  ['found that removes', { type: 'adjust', key: 'k', sku: 'A', delta: -2, reason: 'found' }, 'delta'],
  ['an unknown reason', { type: 'adjust', key: 'k', sku: 'A', delta: -2, reason: 'theft' }, 'reason'],
  ['a negative count', { type: 'count', key: 'k', sku: 'A', counted: -1 }, 'counted'],
  ['a POS sequence of 0', { type: 'pos.sale', key: 'k', sourceId: 's', sourceSeq: 0, lines: [] }, 'sourceSeq'],
  ['releaseRest as a number', { type: 'commit', key: 'k', reservationId: 'r1', releaseRest: 1 }, 'releaseRest'],
  ['an event the warehouse raises itself', orderEvent('reserved', 'pick.started'), 'event'],
  ['a scan without its scan id', orderEvent('picking', 'pick.scanned', { sku: 'A', quantity: 1 }), 'scanId'],
  ['a scan of zero units', orderEvent('picking', 'pick.scanned', { scanId: 's', sku: 'A', quantity: 0 }), 'quantity'],
  ['a pack of zero bags', orderEvent('picking', 'pack.completed', { bagCount: 0, stagingSlot: 'S' }), 'bagCount'],
  [
    'a pack of too many bags',
    orderEvent('picking', 'pack.completed', { bagCount: limits.BAGS_PER_ORDER_MAX + 1, stagingSlot: 'S' }),
    'bagCount',
  ],
  ['a delivery without proof', orderEvent('out_for_delivery', 'delivery.completed', { courierId: 'c' }), 'position'],
  ['an acceptance without a courier', orderEvent('courier_assigned', 'courier.accepted'), 'courierId'],
  [
    'a ping off the map',
    { type: 'courier.ping', key: 'k', courierId: 'c', position: { lat: 91, lon: 0 }, deviceTimeMs: 1.7e12 },
    'position.lat',
  ],
  [
    'a ping from 1970',
    { type: 'courier.ping', key: 'k', courierId: 'c', position: { lat: 1, lon: 0 }, deviceTimeMs: 5 },
    'deviceTimeMs',
  ],
  ['a trail that is not a list', trailPing({ 0: trailPoint(PING_MS - 1) } as unknown as unknown[]), 'trail'],
  [
    'a trail longer than PING_TRAIL_MAX',
    trailPing(Array.from({ length: limits.PING_TRAIL_MAX + 1 }, (_, i) => trailPoint(PING_MS - 100_000 + i))),
    'trail',
  ],
  ['a trail point that is not an object', trailPing([PING_MS - 1]), 'trail[0]'],
  ['a trail point off the map', trailPing([trailPoint(PING_MS - 1, { lat: 1, lon: 181 })]), 'trail[0].position.lon'],
  ['a trail point at NaN', trailPing([trailPoint(PING_MS - 1, { lat: Number.NaN, lon: 0 })]), 'trail[0].position.lat'],
  ['a trail point without a position', trailPing([{ deviceTimeMs: PING_MS - 1 }]), 'trail[0].position'],
  ['a trail point from 1970', trailPing([trailPoint(5)]), 'trail[0].deviceTimeMs'],
  [
    'a trail point with an unknown field',
    trailPing([{ ...trailPoint(PING_MS - 1), accuracyM: 5 }]),
    'trail[0].accuracyM',
  ],
  [
    'a trail whose device times repeat',
    trailPing([trailPoint(PING_MS - 9), trailPoint(PING_MS - 5), trailPoint(PING_MS - 5)]),
    'trail[2].deviceTimeMs',
  ],
  [
    'a trail whose device times go back',
    trailPing([trailPoint(PING_MS - 5), trailPoint(PING_MS - 9)]),
    'trail[1].deviceTimeMs',
  ],
  [
    'a trail point as new as the ping',
    trailPing([trailPoint(PING_MS - 5), trailPoint(PING_MS)]),
    'trail[1].deviceTimeMs',
  ],
  [
    'an authorization without its id',
    { type: 'payment.outcome', key: 'k', orderId: 'o', operation: 'authorize', outcome: 'succeeded' },
    'authorizationId',
  ],
  [
    'an unknown payment operation',
    { type: 'payment.outcome', key: 'k', orderId: 'o', operation: 'steal', outcome: 'succeeded' },
    'operation',
  ],
  [
    'a courier speed of zero',
    { type: 'warehouse.configure', key: 'k', location: { lat: 0, lon: 0 }, courierSpeedKmh: 0 },
    'courierSpeedKmh',
  ],
  ['a picker without an id', { type: 'pick.take', key: 'k' }, 'pickerId'],
];

describe('validateCommand and apply on bad input', () => {
  it.each(invalid)('refuses %s with VALIDATION_ERROR at its path, changing nothing', (_what, input, path) => {
    const before = w.bytes();
    const result = w.send(input);
    expect(result).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR', path } });
    expect(sameBytes(w.bytes(), before)).toBe(true);
  });

  it('refuses input whose reading throws', () => {
    const throwing = Object.defineProperty({ type: 'tick' }, 'key', {
      enumerable: true,
      get: () => {
        throw new Error('boom');
      },
    });
    const proxy = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('boom');
        },
      },
    );
    for (const input of [throwing, proxy]) {
      expect(validateCommand(input)).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } });
    }
  });

  it.each([
    ['reserve', reserve({ sku: 'nope' })],
    ['receipt', { type: 'receipt', key: 'k-bad', receiptId: 'x', lines: [{ sku: 'nope', quantity: 1 }] }],
    ['adjust', { type: 'adjust', key: 'k-bad', sku: 'nope', delta: 1, reason: 'found' }],
    ['count', { type: 'count', key: 'k-bad', sku: 'nope', counted: 1 }],
    [
      'pos.sale',
      { type: 'pos.sale', key: 'k-bad', sourceId: 's', sourceSeq: 1, lines: [{ sku: 'nope', quantity: 1 }] },
    ],
  ])('answers NOT_FOUND for an unknown SKU in %s, moving no stock', (_type, input) => {
    const before = w.bytesWithoutStamp();
    expect(w.send(input)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', kind: 'sku', id: 'nope' } });
    expect(w.ledger).toEqual([]);
    expect(w.events).toEqual([]);
    // The refusal is remembered under its key (idempotency) and the stamp advanced; nothing else moved.
    expect(sameBytes(w.bytesWithoutStamp(), before)).toBe(true);
  });

  it('accepts well-formed Unicode text, surrogate pairs included, and keeps it through msgpack', () => {
    const name = `${'🥑'.repeat(40)} avocado`;
    const result = validateCommand(upsert({ name }));
    expect(result).toMatchObject({ ok: true, value: { name } });
    expect(decode(encode(result))).toEqual(result);
  });

  it('treats SKU ids like __proto__ and constructor as ordinary SKUs', () => {
    for (const sku of ['__proto__', 'constructor', 'hasOwnProperty']) {
      w.upsert(sku, { substitutes: ['A'] });
      w.receive(sku, 3);
      expect(w.reserve([{ sku, quantity: 3 }]).ok).toBe(true);
      expect(w.stock(sku)).toMatchObject({ onHand: 3, reserved: 3, available: 0 });
    }
    checkAll(w.warehouse.state);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('copies only known fields: the canonical command shares nothing with the input', () => {
    const input = reserve({});
    const result = validateCommand(input);
    if (!result.ok) throw new Error('valid input refused');
    input.lines[0] = { sku: 'B', quantity: 9 };
    expect(result.value).toEqual({ type: 'reserve', key: 'k-bad', lines: [{ sku: 'A', quantity: 1 }], ttlMs: 10_000 });
    expect(validateCommand({ type: 'tick', key: 'k' })).toEqual({ ok: true, value: { type: 'tick', key: 'k' } });
  });
});

describe('arbitrary junk', () => {
  it('accepts free text only if it reads back from msgpack exactly as written', () => {
    const unit = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0, max: 0xffff }));
    const text = fc
      .array(unit, { maxLength: limits.TEXT_LENGTH_MAX, size: 'max' })
      .map((u) => String.fromCharCode(...u));
    fc.assert(
      fc.property(text, text, (name, note) => {
        for (const input of [
          upsert({ name }),
          { type: 'adjust', key: 'k', sku: 'A', delta: 1, reason: 'found', note },
        ]) {
          const validated = validateCommand(input);
          if (validated.ok) expect(decode(encode(validated.value))).toEqual(validated.value);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never makes validateCommand or validateQuery throw, and refused junk changes nothing', () => {
    const before = w.bytes();
    fc.assert(
      fc.property(
        fc.anything({
          maxDepth: 12,
          withBigInt: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withObjectString: true,
          withSparseArray: true,
          withTypedArray: true,
          withDate: true,
          withBoxedValues: true,
        }),
        (junk) => {
          const command = validateCommand(junk);
          const query = validateQuery(junk);
          if (!command.ok) expect(command.error).toMatchObject({ code: 'VALIDATION_ERROR', path: expect.any(String) });
          if (!query.ok) expect(query.error.code).toBe('VALIDATION_ERROR');
          if (!command.ok) expect(w.send(junk).ok).toBe(false);
        },
      ),
      { numRuns: 2_000 },
    );
    expect(sameBytes(w.bytes(), before)).toBe(true);
  });

  it('never throws on commands with one field replaced by junk; what passes survives msgpack unchanged', () => {
    const templates: Record<string, unknown>[] = [
      reserve({ allowSubstitutes: true }, { orderRef: 'o-1' }),
      upsert({ substitutes: ['A'], safetyStock: 1 }),
      { type: 'receipt', key: 'k', receiptId: 'x', lines: [{ sku: 'A', quantity: 1 }] },
      { type: 'adjust', key: 'k', sku: 'A', delta: -1, reason: 'damage', note: 'n' },
      { type: 'count', key: 'k', sku: 'A', counted: 4 },
      { type: 'pos.sale', key: 'k', sourceId: 's', sourceSeq: 1, lines: [{ sku: 'B', quantity: 1 }] },
      { type: 'commit', key: 'k', reservationId: 'r5', lines: [{ sku: 'A', quantity: 1 }], releaseRest: true },
      { type: 'release', key: 'k', reservationId: 'r5' },
      { type: 'extend', key: 'k', reservationId: 'r5', ttlMs: 5_000 },
      orderEvent('picking', 'pick.scanned', { scanId: 's-1', sku: 'A', quantity: 1 }),
      orderEvent('picking', 'pack.completed', { bagCount: 2, stagingSlot: 'S-1' }),
      orderEvent('out_for_delivery', 'delivery.completed', {
        courierId: 'c',
        position: { lat: 1, lon: 2 },
        safeDrop: true,
      }),
      { type: 'payment.outcome', key: 'k', orderId: 'o-1', operation: 'capture', outcome: 'succeeded', amountCents: 5 },
      { type: 'warehouse.configure', key: 'k', location: { lat: 1, lon: 2 }, pendingDispatchEscalationMs: 60_000 },
      { type: 'pick.take', key: 'k', pickerId: 'p-1' },
      { type: 'courier.check_in', key: 'k', courierId: 'c', position: { lat: 1, lon: 2 } },
      { type: 'courier.ping', key: 'k', courierId: 'c', position: { lat: 1, lon: 2 }, deviceTimeMs: 1.7e12 },
      trailPing([trailPoint(PING_MS - 10_000, { lat: 1, lon: 2 }), trailPoint(PING_MS - 5_000)]),
      { type: 'courier.breakdown', key: 'k', courierId: 'c' },
    ];
    const field = fc.constantFrom(
      'type',
      'key',
      'sku',
      'lines',
      'quantity',
      'ttlMs',
      'delta',
      'reason',
      'location',
      'substitutes',
      'sourceSeq',
      'reservationId',
      'counted',
      'releaseRest',
      'name',
      'note',
      'orderRef',
      'orderId',
      'eventId',
      'expectedState',
      'event',
      'scanId',
      'bagCount',
      'stagingSlot',
      'position',
      'safeDrop',
      'operation',
      'outcome',
      'amountCents',
      'pickerId',
      'courierId',
      'deviceTimeMs',
      'trail',
      'pendingDispatchEscalationMs',
    );
    // Any UTF-16 code units, lone surrogates included, at lengths on both sides of msgpack's
    // switch from its own UTF-8 encoder to TextEncoder.
    const utf16 = fc
      .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 600, size: 'max' })
      .map((units) => String.fromCharCode(...units));
    const junkArb = fc.oneof(fc.anything({ maxDepth: 4, withBigInt: true }), utf16);
    fc.assert(
      fc.property(fc.constantFrom(...templates), field, junkArb, fc.nat(1_000_000), (template, name, junk, key) => {
        const warehouse = stocked();
        const input = { ...structuredClone(template), key: `k${key}`, [name]: junk };
        const validated = validateCommand(input);
        // The WAL stores the canonical command as msgpack: it must read back exactly as applied.
        if (validated.ok) expect(decode(encode(validated.value))).toEqual(validated.value);
        const before = warehouse.bytes();
        const result = warehouse.send(input);
        if (!result.ok && result.error.code === 'VALIDATION_ERROR')
          expect(sameBytes(warehouse.bytes(), before)).toBe(true);
        checkAll(warehouse.warehouse.state);
      }),
      { numRuns: 2_000 },
    );
  });
});
