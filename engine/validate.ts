/**
 * The boundary of the core: turns untrusted input (decoded msgpack, JSON, a caller's object) into a
 * canonical command, or a VALIDATION_ERROR naming the offending path. Only known fields are copied,
 * so what reaches `apply`, the WAL and the idempotency records is exactly the canonical form.
 * Pure: never throws on any input, never touches state.
 */

import { type EngineError, validationError } from './errors.ts';
import {
  CHANGES_PAGE_MAX,
  COUNT_MAX,
  PRICE_CENTS_MAX,
  QUANTITY_MAX,
  QUERY_SKUS_MAX,
  SUBSTITUTES_PER_SKU_MAX,
  TTL_MS_MAX,
  TTL_MS_MIN,
} from './limits.ts';
import type { AdjustmentReason, Command, Query } from './types.ts';
import {
  ADJUSTMENT_REASONS,
  array,
  bool,
  fail,
  finite,
  geoPoint,
  Invalid,
  id,
  int,
  key,
  location,
  object,
  quantityLines,
  reserveLines,
  text,
} from './validate-fields.ts';
import { fulfillmentCommand, orderEvent } from './validate-fulfillment.ts';

// No separate walk for depth or size: every object is checked against its type's known fields and
// every array against its bounds before anything in it is read, so the schema itself bounds how deep
// and how large an accepted payload can be, and hostile nesting fails at its first unexpected level.
function parseCommand(input: unknown): Command {
  // Only the type is read here; the branch for that type checks every field.
  const head = object(input, '', null);
  switch (head.type) {
    case 'sku.upsert': {
      const o = object(input, '', [
        'type',
        'key',
        'sku',
        'ownerId',
        'name',
        'priceCents',
        'location',
        'safetyStock',
        'substitutes',
      ]);
      const sku = id(o.sku, 'sku');
      const substitutes = array(o.substitutes ?? [], 'substitutes', 0, SUBSTITUTES_PER_SKU_MAX).map((s, i) =>
        id(s, `substitutes[${i}]`),
      );
      if (substitutes.includes(sku)) fail('substitutes', 'may not name the SKU itself');
      if (new Set(substitutes).size !== substitutes.length) fail('substitutes', 'names a SKU twice');
      return {
        type: 'sku.upsert',
        key: key(o),
        sku,
        ownerId: id(o.ownerId, 'ownerId'),
        name: text(o.name, 'name'),
        priceCents: int(o.priceCents, 'priceCents', 0, PRICE_CENTS_MAX),
        location: location(o.location, 'location'),
        safetyStock: int(o.safetyStock ?? 0, 'safetyStock', 0, QUANTITY_MAX),
        substitutes,
      };
    }
    case 'receipt': {
      const o = object(input, '', ['type', 'key', 'receiptId', 'lines']);
      return {
        type: 'receipt',
        key: key(o),
        receiptId: id(o.receiptId, 'receiptId'),
        lines: quantityLines(o.lines, 'lines'),
      };
    }
    case 'adjust': {
      const o = object(input, '', ['type', 'key', 'sku', 'delta', 'reason', 'note']);
      const reason = o.reason as AdjustmentReason;
      if (!ADJUSTMENT_REASONS.includes(reason)) fail('reason', `must be one of ${ADJUSTMENT_REASONS.join(', ')}`);
      const delta = int(o.delta, 'delta', -QUANTITY_MAX, QUANTITY_MAX);
      if (delta === 0) fail('delta', 'must not be zero');
      if ((reason === 'shrinkage' || reason === 'damage') && delta > 0) fail('delta', `must be negative for ${reason}`);
      if (reason === 'found' && delta < 0) fail('delta', 'must be positive for found');
      const cmd: Command = { type: 'adjust', key: key(o), sku: id(o.sku, 'sku'), delta, reason };
      if (o.note !== undefined) cmd.note = text(o.note, 'note');
      return cmd;
    }
    case 'count': {
      const o = object(input, '', ['type', 'key', 'sku', 'counted']);
      return { type: 'count', key: key(o), sku: id(o.sku, 'sku'), counted: int(o.counted, 'counted', 0, COUNT_MAX) };
    }
    case 'pos.sale': {
      const o = object(input, '', ['type', 'key', 'sourceId', 'sourceSeq', 'lines']);
      return {
        type: 'pos.sale',
        key: key(o),
        sourceId: id(o.sourceId, 'sourceId'),
        sourceSeq: int(o.sourceSeq, 'sourceSeq', 1, Number.MAX_SAFE_INTEGER),
        lines: quantityLines(o.lines, 'lines'),
      };
    }
    case 'reserve': {
      const o = object(input, '', ['type', 'key', 'lines', 'ttlMs', 'orderRef']);
      const cmd: Command = {
        type: 'reserve',
        key: key(o),
        lines: reserveLines(o.lines, 'lines'),
        ttlMs: int(o.ttlMs, 'ttlMs', TTL_MS_MIN, TTL_MS_MAX),
      };
      if (o.orderRef !== undefined) cmd.orderRef = id(o.orderRef, 'orderRef');
      return cmd;
    }
    case 'commit': {
      const o = object(input, '', ['type', 'key', 'reservationId', 'lines', 'releaseRest']);
      const cmd: Command = { type: 'commit', key: key(o), reservationId: id(o.reservationId, 'reservationId') };
      if (o.lines !== undefined) cmd.lines = quantityLines(o.lines, 'lines');
      if (o.releaseRest !== undefined) cmd.releaseRest = bool(o.releaseRest, 'releaseRest');
      return cmd;
    }
    case 'release': {
      const o = object(input, '', ['type', 'key', 'reservationId']);
      return { type: 'release', key: key(o), reservationId: id(o.reservationId, 'reservationId') };
    }
    case 'extend': {
      const o = object(input, '', ['type', 'key', 'reservationId', 'ttlMs']);
      return {
        type: 'extend',
        key: key(o),
        reservationId: id(o.reservationId, 'reservationId'),
        ttlMs: int(o.ttlMs, 'ttlMs', TTL_MS_MIN, TTL_MS_MAX),
      };
    }
    case 'order.place': {
      const o = object(input, '', [
        'type',
        'key',
        'orderId',
        'customerId',
        'address',
        'lines',
        'paymentToken',
        'allowSubstitutes',
        'ttlMs',
      ]);
      const a = object(o.address, 'address', ['lat', 'lon']);
      const cmd: Command = {
        type: 'order.place',
        key: key(o),
        orderId: id(o.orderId, 'orderId'),
        customerId: id(o.customerId, 'customerId'),
        address: { lat: finite(a.lat, 'address.lat', -90, 90), lon: finite(a.lon, 'address.lon', -180, 180) },
        lines: quantityLines(o.lines, 'lines'),
        paymentToken: id(o.paymentToken, 'paymentToken'),
        ttlMs: int(o.ttlMs, 'ttlMs', TTL_MS_MIN, TTL_MS_MAX),
      };
      if (o.allowSubstitutes !== undefined) cmd.allowSubstitutes = bool(o.allowSubstitutes, 'allowSubstitutes');
      return cmd;
    }
    case 'order.event':
      return orderEvent(input);
    case 'tick': {
      const o = object(input, '', ['type', 'key']);
      return o.key === undefined ? { type: 'tick' } : { type: 'tick', key: key(o) };
    }
    default:
      return fulfillmentCommand(input, head.type);
  }
}

/**
 * Validates untrusted input as a command. Returns a fresh canonical command holding only known
 * fields, or a VALIDATION_ERROR with the path of the first problem. Never throws.
 */
export function validateCommand(input: unknown): { ok: true; value: Command } | { ok: false; error: EngineError } {
  try {
    return { ok: true, value: parseCommand(input) };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, error: e.error };
    return { ok: false, error: validationError('', 'could not be read') };
  }
}

function parseQuery(input: unknown): Query {
  const head = object(input, '', null);
  switch (head.type) {
    case 'availability': {
      const o = object(input, '', ['type', 'skus']);
      return {
        type: 'availability',
        skus: array(o.skus, 'skus', 1, QUERY_SKUS_MAX).map((s, i) => id(s, `skus[${i}]`)),
      };
    }
    case 'changes': {
      const o = object(input, '', ['type', 'sinceVersion', 'limit']);
      const query: Query = {
        type: 'changes',
        sinceVersion: int(o.sinceVersion, 'sinceVersion', 0, Number.MAX_SAFE_INTEGER),
      };
      if (o.limit !== undefined) query.limit = int(o.limit, 'limit', 1, CHANGES_PAGE_MAX);
      return query;
    }
    case 'reservation': {
      const o = object(input, '', ['type', 'reservationId']);
      return { type: 'reservation', reservationId: id(o.reservationId, 'reservationId') };
    }
    case 'command': {
      const o = object(input, '', ['type', 'key']);
      return { type: 'command', key: id(o.key, 'key') };
    }
    case 'order': {
      const o = object(input, '', ['type', 'orderId']);
      return { type: 'order', orderId: id(o.orderId, 'orderId') };
    }
    case 'fulfillment':
      object(input, '', ['type']);
      return { type: 'fulfillment' };
    case 'eta': {
      const o = object(input, '', ['type', 'address']);
      return { type: 'eta', address: geoPoint(o.address, 'address') };
    }
    default:
      return fail('type', 'is not a known query');
  }
}

/** Validates untrusted input as a query. Never throws. */
export function validateQuery(input: unknown): { ok: true; value: Query } | { ok: false; error: EngineError } {
  try {
    return { ok: true, value: parseQuery(input) };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, error: e.error };
    return { ok: false, error: validationError('', 'could not be read') };
  }
}
