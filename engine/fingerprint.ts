/**
 * A 53-bit structural fingerprint of plain data (the canonical commands validation produces), so an
 * idempotency record keeps a number instead of the whole command. Two independent 32-bit lanes
 * (FNV-1a and a murmur-style mix) over the same walk; two different payloads sent under the same
 * key collide with probability about 2^-53, the only case in which a conflicting payload would be
 * answered with the first result instead of IDEMPOTENCY_CONFLICT. Pure; key order matters, which
 * is why it is taken only of canonical commands (validation builds them in a fixed order).
 */
import type { Command } from './types.ts';

let h1 = 0;
let h2 = 0;

/** Mixes one 32-bit value into both lanes: FNV-1a in one, a multiply-add (Java style) in the other. */
function mix(code: number): void {
  h1 = Math.imul(h1 ^ code, 0x01000193);
  h2 = (Math.imul(h2, 31) + code) | 0;
}

function mixString(value: string): void {
  mix(value.length);
  for (let i = 0; i < value.length; i++) mix(value.charCodeAt(i));
}

function mixNumber(value: number): void {
  if (Number.isInteger(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER) {
    mix(value | 0);
    mix(Math.floor(value / 4294967296) | 0);
    return;
  }
  mixString(String(value));
}

function walk(value: unknown): void {
  switch (typeof value) {
    case 'string':
      mix(1);
      mixString(value);
      return;
    case 'number':
      mix(2);
      mixNumber(value);
      return;
    case 'boolean':
      mix(value ? 3 : 4);
      return;
    case 'undefined':
      return;
    case 'object':
      if (value === null) {
        mix(5);
      } else if (Array.isArray(value)) {
        mix(6);
        mix(value.length);
        for (const item of value) walk(item);
      } else {
        mix(7);
        for (const key in value) {
          const child = (value as Record<string, unknown>)[key];
          if (child === undefined) continue;
          // Canonical commands of one type differ only in optional fields, so a field is told
          // apart by its name's length and first letter; hashing every name would double the cost.
          mix(key.length | (key.charCodeAt(0) << 8));
          walk(child);
        }
      }
      return;
    default:
      throw new TypeError(`cannot fingerprint a ${typeof value}`);
  }
}

/** The fingerprint of a plain-data value, an integer in [0, 2^53). */
export function fingerprint(value: unknown): number {
  start();
  walk(value);
  return finish();
}

function mixLines(lines: readonly { sku: string; quantity: number }[]): void {
  mix(lines.length);
  for (const line of lines) {
    mixString(line.sku);
    mix(line.quantity);
  }
}

/** A float's exact bits, as two 32-bit words: a coordinate needs no string to be told apart. */
const floatBits = new Float64Array(1);
const floatWords = new Int32Array(floatBits.buffer);

function mixFloat(value: number): void {
  // msgpack writes -0 as 0: both must hash alike, or a command replayed from the WAL would not
  // match its own idempotency record.
  floatBits[0] = value === 0 ? 0 : value;
  mix(floatWords[0] as number);
  mix(floatWords[1] as number);
}

function mixGpsPoint(position: { lat: number; lon: number }, deviceTimeMs: number): void {
  mixFloat(position.lat);
  mixFloat(position.lon);
  mixNumber(deviceTimeMs);
}

function start(): void {
  h1 = 0x811c9dc5;
  h2 = 0x9747b28c;
}

/** Avalanches the second lane so its high bits, which are kept, depend on every input. */
function finish(): number {
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b);
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  return (h1 >>> 0) * 2097152 + ((h2 >>> 0) >>> 11);
}

/**
 * The fingerprint of a canonical command. The two commands on every order's path (reserve and
 * commit) and the most frequent one (courier.ping, with its trail) are hashed field by field, which
 * is several times faster than the generic walk; the rest go through `fingerprint`. Both read every
 * field that can differ.
 */
export function commandFingerprint(cmd: Command): number {
  if (cmd.type === 'reserve') {
    start();
    mix(11);
    mixString(cmd.key);
    mix(cmd.ttlMs);
    mixString(cmd.orderRef ?? '');
    mix(cmd.lines.length);
    for (const line of cmd.lines) {
      mixString(line.sku);
      mix(line.quantity);
      mixNumber(line.expectedVersion ?? -1);
      mix(line.allowSubstitutes === undefined ? 2 : line.allowSubstitutes ? 1 : 0);
    }
    return finish();
  }
  if (cmd.type === 'commit') {
    start();
    mix(12);
    mixString(cmd.key);
    mixString(cmd.reservationId);
    mix(cmd.releaseRest === undefined ? 2 : cmd.releaseRest ? 1 : 0);
    if (cmd.lines === undefined) mix(-1);
    else mixLines(cmd.lines);
    return finish();
  }
  if (cmd.type === 'courier.ping' && cmd.trail !== undefined) {
    // Only pings with a trail take this path: one without keeps the generic fingerprint it always had,
    // so idempotency records kept across an upgrade still match their retries.
    start();
    mix(13);
    mixString(cmd.key);
    mixString(cmd.courierId);
    mixGpsPoint(cmd.position, cmd.deviceTimeMs);
    mix(cmd.trail.length);
    for (const point of cmd.trail) mixGpsPoint(point.position, point.deviceTimeMs);
    return finish();
  }
  return fingerprint(cmd);
}
