/**
 * A 53-bit structural fingerprint of plain data (the canonical commands validation produces), so an
 * idempotency record keeps a number instead of the whole command. Two independent 32-bit lanes
 * (FNV-1a and a murmur-style mix) over the same walk; two different payloads sent under the same
 * key collide with probability about 2^-53, the only case in which a conflicting payload would be
 * answered with the first result instead of IDEMPOTENCY_CONFLICT. Pure; key order matters, which
 * is why it is taken only of canonical commands (validation builds them in a fixed order).
 */

let h1 = 0;
let h2 = 0;

function mix(code: number): void {
  h1 = Math.imul(h1 ^ code, 0x01000193);
  h2 = Math.imul(h2 ^ code, 0x5bd1e995);
  h2 ^= h2 >>> 15;
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
          mixString(key);
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
  h1 = 0x811c9dc5;
  h2 = 0x9747b28c;
  walk(value);
  return (h1 >>> 0) * 2097152 + ((h2 >>> 0) >>> 11);
}
