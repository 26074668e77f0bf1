/**
 * Small helpers for the engine's example tests: a warehouse with a clock the test moves by hand,
 * and builders for the commands the tests send most. Inputs go through `validateCommand` exactly
 * as the runtime sends them, so the tests exercise the public path, never a shortcut.
 */
import {
  type EngineEvent,
  encode,
  type LedgerEntry,
  type Result,
  toSnapshot,
  validateCommand,
  Warehouse,
} from '../../engine/index.ts';

export const LOCATION = { zone: 'Z1', aisle: 3, bay: 4, level: 1 };

export class TestWarehouse {
  warehouse = new Warehouse('w-test', { assertInvariants: true });
  atMs = 1_000_000;
  events: EngineEvent[] = [];
  ledger: LedgerEntry[] = [];
  private keys = 0;

  /** A fresh idempotency key. */
  key(): string {
    return `key-${++this.keys}`;
  }

  /** Validates and applies raw input at the current time; keeps what the command produced. */
  send(input: unknown): Result {
    const validated = validateCommand(input);
    if (!validated.ok) return validated;
    const result = this.warehouse.apply({
      seq: this.warehouse.state.lastSeq + 1,
      atMs: this.atMs,
      command: validated.value,
    });
    this.events = this.warehouse.drainEvents();
    this.ledger = this.warehouse.drainLedger();
    return result;
  }

  /** Sends and insists on success; returns the value. */
  ok(input: unknown): Extract<Result, { ok: true }>['value'] {
    const result = this.send(input);
    if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
    return result.value;
  }

  upsert(sku: string, options: { safetyStock?: number; substitutes?: string[] } = {}): void {
    this.ok({
      type: 'sku.upsert',
      key: this.key(),
      sku,
      ownerId: 'owner-1',
      name: `item ${sku}`,
      priceCents: 250,
      location: LOCATION,
      safetyStock: options.safetyStock ?? 0,
      substitutes: options.substitutes ?? [],
    });
  }

  receive(sku: string, quantity: number, receiptId = `rcpt-${this.keys + 1}`): void {
    this.ok({ type: 'receipt', key: this.key(), receiptId, lines: [{ sku, quantity }] });
  }

  reserve(lines: { sku: string; quantity: number }[], ttlMs = 60_000): Result {
    return this.send({ type: 'reserve', key: this.key(), lines, ttlMs });
  }

  /** Reserves and returns the reservation id; throws if refused. */
  reserveId(lines: { sku: string; quantity: number }[], ttlMs = 60_000): string {
    const result = this.reserve(lines, ttlMs);
    if (!result.ok || result.value.kind !== 'reserved') throw new Error('reservation refused');
    return result.value.reservationId;
  }

  available(sku: string): number {
    return this.stock(sku).available;
  }

  stock(sku: string): { onHand: number; reserved: number; available: number; version: number } {
    const item = this.warehouse.availability([sku]).items[0];
    if (item === undefined) throw new Error(`unknown SKU ${sku}`);
    return item;
  }

  /** The whole state as bytes, for "nothing changed" checks. */
  bytes(): Uint8Array {
    return encode(toSnapshot(this.warehouse.state));
  }

  /**
   * The state as bytes without the stamp of the last command and, unless asked to keep them,
   * without idempotency records: what must not change when a command is refused or replayed.
   */
  bytesWithoutStamp(options: { keepIdempotency?: boolean } = {}): Uint8Array {
    const snapshot = toSnapshot(this.warehouse.state);
    snapshot.lastSeq = 0;
    snapshot.lastAtMs = 0;
    if (options.keepIdempotency !== true) snapshot.idempotency = [];
    return encode(snapshot);
  }
}

/** The error of a failed result, or a thrown Error when it succeeded. */
export function errorOf<T>(result: Result<T>): Extract<Result, { ok: false }>['error'] {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.value)}`);
  return result.error;
}

export function eventsOfType<T extends EngineEvent['type']>(
  events: EngineEvent[],
  type: T,
): Extract<EngineEvent, { type: T }>[] {
  return events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type);
}

/** Byte equality of two encoded states (far cheaper than a deep `toEqual` on typed arrays). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
