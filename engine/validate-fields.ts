/**
 * The field checks of the boundary: each turns one untrusted value into a canonical one or throws
 * `Invalid` with a VALIDATION_ERROR naming the path. Used only by the validate modules, which
 * catch `Invalid` and never let it out. Pure.
 */
import { type EngineError, validationError } from './errors.ts';
import { ID_LENGTH_MAX, LINES_PER_COMMAND_MAX, QUANTITY_MAX, TEXT_LENGTH_MAX } from './limits.ts';
import type { AdjustmentReason, QuantityLine, ReserveLine, ShelfLocation } from './types.ts';

/** Thrown only inside the validate modules and caught by `validateCommand`: carries the path. */
export class Invalid {
  constructor(readonly error: EngineError) {}
}

const ID_PATTERN = /^[A-Za-z0-9._:#@/+-]+$/;
export const ADJUSTMENT_REASONS: readonly AdjustmentReason[] = ['shrinkage', 'damage', 'found', 'correction'];

export function fail(path: string, message: string): never {
  throw new Invalid(validationError(path, message));
}

export type Obj = Record<string, unknown>;

/** A plain object whose keys are all in `allowed` (any keys when `allowed` is null). */
export function object(value: unknown, path: string, allowed: readonly string[] | null): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object');
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) fail(path, 'must be a plain object');
  if (allowed === null) return value as Obj;
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail(path === '' ? key : `${path}.${key}`, 'is not a known field');
  }
  return value as Obj;
}

export function id(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, 'must be a string');
  if (value.length === 0 || value.length > ID_LENGTH_MAX) fail(path, `must have 1 to ${ID_LENGTH_MAX} characters`);
  if (!ID_PATTERN.test(value)) fail(path, 'may hold only letters, digits and . _ : # @ / + -');
  return value;
}

/** A lone UTF-16 surrogate: msgpack writes it as U+FFFD, so it would not survive the WAL unchanged. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export function text(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, 'must be a string');
  if (value.length > TEXT_LENGTH_MAX) fail(path, `must have at most ${TEXT_LENGTH_MAX} characters`);
  if (LONE_SURROGATE.test(value)) fail(path, 'must be well-formed Unicode');
  return value;
}

export function int(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(path, 'must be an integer');
  if (value < min || value > max) fail(path, `must be between ${min} and ${max}`);
  return value;
}

export function finite(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'must be a finite number');
  if (value < min || value > max) fail(path, `must be between ${min} and ${max}`);
  // msgpack writes -0 as 0: keep the live state equal, byte for byte, to what a replay reads back.
  return value === 0 ? 0 : value;
}

export function bool(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, 'must be a boolean');
  return value;
}

export function array(value: unknown, path: string, min: number, max: number): unknown[] {
  if (!Array.isArray(value)) fail(path, 'must be an array');
  if (value.length < min || value.length > max) fail(path, `must have ${min} to ${max} items`);
  // Copy by index: a sparse array's holes become undefined and fail item validation, where
  // `map` would skip them and let a hole through into the canonical command.
  const items: unknown[] = [];
  for (let i = 0; i < value.length; i++) items.push(value[i]);
  return items;
}

// Lines are checked in plain loops by module-level functions: a closure per call costs more than
// the check itself (tsx keeps function names by wrapping every closure it creates).

function quantityLine(item: unknown, p: string, seen: Set<string>): QuantityLine {
  const o = object(item, p, ['sku', 'quantity']);
  const sku = id(o.sku, `${p}.sku`);
  if (seen.has(sku)) fail(`${p}.sku`, 'names a SKU already listed');
  seen.add(sku);
  return { sku, quantity: int(o.quantity, `${p}.quantity`, 1, QUANTITY_MAX) };
}

export function quantityLines(value: unknown, path: string): QuantityLine[] {
  const items = array(value, path, 1, LINES_PER_COMMAND_MAX);
  const seen = new Set<string>();
  const lines: QuantityLine[] = [];
  for (let i = 0; i < items.length; i++) lines.push(quantityLine(items[i], `${path}[${i}]`, seen));
  return lines;
}

function reserveLine(item: unknown, p: string, seen: Set<string>): ReserveLine {
  const o = object(item, p, ['sku', 'quantity', 'expectedVersion', 'allowSubstitutes']);
  const sku = id(o.sku, `${p}.sku`);
  if (seen.has(sku)) fail(`${p}.sku`, 'names a SKU already listed');
  seen.add(sku);
  const line: ReserveLine = { sku, quantity: int(o.quantity, `${p}.quantity`, 1, QUANTITY_MAX) };
  if (o.expectedVersion !== undefined) {
    line.expectedVersion = int(o.expectedVersion, `${p}.expectedVersion`, 0, Number.MAX_SAFE_INTEGER);
  }
  if (o.allowSubstitutes !== undefined) line.allowSubstitutes = bool(o.allowSubstitutes, `${p}.allowSubstitutes`);
  return line;
}

export function reserveLines(value: unknown, path: string): ReserveLine[] {
  const items = array(value, path, 1, LINES_PER_COMMAND_MAX);
  const seen = new Set<string>();
  const lines: ReserveLine[] = [];
  for (let i = 0; i < items.length; i++) lines.push(reserveLine(items[i], `${path}[${i}]`, seen));
  return lines;
}

export function location(value: unknown, path: string): ShelfLocation {
  const o = object(value, path, ['zone', 'aisle', 'bay', 'level']);
  return {
    zone: id(o.zone, `${path}.zone`),
    aisle: int(o.aisle, `${path}.aisle`, 0, 10_000),
    bay: int(o.bay, `${path}.bay`, 0, 10_000),
    level: int(o.level, `${path}.level`, 0, 100),
  };
}

export function key(o: Obj): string {
  return id(o.key, 'key');
}

/** A point on the map. */
export function geoPoint(value: unknown, path: string): { lat: number; lon: number } {
  const o = object(value, path, ['lat', 'lon']);
  return { lat: finite(o.lat, `${path}.lat`, -90, 90), lon: finite(o.lon, `${path}.lon`, -180, 180) };
}
