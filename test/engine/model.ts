/**
 * A naive reference model of one warehouse, written to be obviously correct rather than fast:
 * plain arrays, linear scans, `reserved` derived from the open reservations instead of counted.
 * It implements the semantics of the core for every command type so property tests can compare
 * results, availability, events and ledger entries command by command. It ignores the bounds that
 * the generated sequences never reach (POS pending window, record and reservation limits).
 */
import {
  type Availability,
  type Command,
  type EngineError,
  type EngineEvent,
  type LedgerEntry,
  type LedgerReason,
  limits,
  type QuantityLine,
  type Reservation,
  type ReservationLine,
  type Result,
  type ShortLine,
} from '../../engine/index.ts';

interface ModelSku {
  sku: string;
  safetyStock: number;
  substitutes: string[];
  onHand: number;
  version: number;
  /** The canonical definition last applied: an unchanged re-definition changes nothing. */
  definition: string;
}

interface Closed {
  reservationId: string;
  closedAs: 'committed' | 'released' | 'expired';
  atMs: number;
}

/** Equality of plain data by value, independent of key order. */
export function equalData(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** A key-order-independent text form of plain data; `undefined` fields are kept visible. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${k}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** An engine error without its message, kept apart per error code. */
type ErrorFacts = EngineError extends infer E ? (E extends EngineError ? Omit<E, 'message'> : never) : never;

function fail(error: ErrorFacts): Result {
  return { ok: false, error: { ...error, message: '' } as EngineError };
}

function notFound(kind: string, id: string, reason?: string): Result {
  return reason === undefined ? fail({ code: 'NOT_FOUND', kind, id }) : fail({ code: 'NOT_FOUND', kind, id, reason });
}

export class WarehouseModel {
  skus: ModelSku[] = [];
  /** Open reservations, oldest first. */
  open: Reservation[] = [];
  closed: Closed[] = [];
  keys: { key: string; atMs: number; command: Command; result: Result }[] = [];
  receipts: { receiptId: string; atMs: number; lines: QuantityLine[] }[] = [];
  posSeen: { sourceId: string; sourceSeq: number }[] = [];
  /** Every reservation id ever created, oldest first. */
  createdIds: string[] = [];
  versionCounter = 0;
  ledgerSeq = 0;

  private events: EngineEvent[] = [];
  private ledger: LedgerEntry[] = [];
  private touched: { sku: string; before: number }[] = [];
  private seq = 0;
  private atMs = 0;

  sku(sku: string): ModelSku | undefined {
    return this.skus.find((s) => s.sku === sku);
  }

  reservedOf(sku: string): number {
    let total = 0;
    for (const res of this.open) for (const line of res.lines) if (line.sku === sku) total += line.quantity;
    return total;
  }

  availableOf(sku: string): number {
    const s = this.sku(sku);
    if (s === undefined) throw new Error(`model: unknown SKU ${sku}`);
    return s.onHand - this.reservedOf(sku) - s.safetyStock;
  }

  availability(): Availability[] {
    return this.skus.map((s) => ({
      sku: s.sku,
      onHand: s.onHand,
      reserved: this.reservedOf(s.sku),
      safetyStock: s.safetyStock,
      available: this.availableOf(s.sku),
      version: s.version,
    }));
  }

  /** What `Warehouse.reservation` answers, with the error message left empty. */
  reservation(reservationId: string): Result<Reservation> {
    const res = this.open.find((r) => r.reservationId === reservationId);
    if (res !== undefined) return { ok: true, value: structuredClone(res) };
    const closed = this.closed.find((c) => c.reservationId === reservationId);
    return notFound('reservation', reservationId, closed?.closedAs) as Result<Reservation>;
  }

  hasKey(key: string): boolean {
    return this.keys.some((k) => k.key === key);
  }

  /** Applies one command; returns its result and the events and ledger entries it produced. */
  apply(seq: number, atMs: number, cmd: Command): { result: Result; events: EngineEvent[]; ledger: LedgerEntry[] } {
    this.seq = seq;
    this.atMs = atMs;
    this.events = [];
    this.ledger = [];
    this.touched = [];
    const expired = this.expireDue();
    this.prune();
    let result: Result;
    if (cmd.type === 'tick') {
      result = { ok: true, value: { kind: 'tick', expired } };
    } else {
      const earlier = this.keys.find((k) => k.key === cmd.key);
      if (earlier !== undefined) {
        result = equalData(earlier.command, cmd)
          ? earlier.result
          : fail({ code: 'IDEMPOTENCY_CONFLICT', key: cmd.key });
      } else {
        result = this.dispatch(cmd);
        this.keys.push({ key: cmd.key, atMs, command: cmd, result });
      }
    }
    for (const t of this.touched) {
      const after = this.availableOf(t.sku);
      if (after !== t.before) {
        this.events.push({ type: 'availability.changed', sku: t.sku, available: after, version: this.version(t.sku) });
      }
    }
    return { result, events: this.events, ledger: this.ledger };
  }

  private version(sku: string): number {
    return this.sku(sku)?.version ?? -1;
  }

  private expireDue(): number {
    const due = this.open.filter((r) => r.expiresAtMs <= this.atMs);
    due.sort((a, b) => a.expiresAtMs - b.expiresAtMs || a.createdSeq - b.createdSeq);
    for (const res of due) {
      const lines = this.close(res, 'expire', 'expired');
      this.events.push({ type: 'reservation.expired', reservationId: res.reservationId, lines });
    }
    return due.length;
  }

  private prune(): void {
    const kept = (at: number) => this.atMs - at <= limits.IDEMPOTENCY_RETENTION_MS;
    this.keys = this.keys.filter((k) => kept(k.atMs));
    this.receipts = this.receipts.filter((r) => this.atMs - r.atMs <= limits.RECEIPT_RETENTION_MS);
    this.closed = this.closed.filter((c) => kept(c.atMs));
  }

  private touch(sku: string): void {
    if (this.touched.some((t) => t.sku === sku)) return;
    this.touched.push({ sku, before: this.availableOf(sku) });
    const s = this.sku(sku);
    if (s !== undefined) s.version = ++this.versionCounter;
  }

  /** Records a movement. Reserved moves are bookkeeping only: `reserved` is derived from `open`. */
  private move(sku: string, onHandDelta: number, reservedDelta: number, reason: LedgerReason, reference: string): void {
    this.touch(sku);
    const s = this.sku(sku);
    if (s === undefined) throw new Error(`model: move of unknown SKU ${sku}`);
    s.onHand += onHandDelta;
    this.ledger.push({
      ledgerSeq: ++this.ledgerSeq,
      seq: this.seq,
      atMs: this.atMs,
      sku,
      onHandDelta,
      reservedDelta,
      reason,
      reference,
    });
  }

  private dispatch(cmd: Exclude<Command, { type: 'tick' }>): Result {
    switch (cmd.type) {
      case 'sku.upsert': {
        let s = this.sku(cmd.sku);
        const { type: _t, key: _k, ...definition } = cmd;
        const described = JSON.stringify(definition);
        if (s === undefined) {
          s = { sku: cmd.sku, safetyStock: 0, substitutes: [], onHand: 0, version: 0, definition: '' };
          this.skus.push(s);
          this.touched.push({ sku: cmd.sku, before: Number.NaN });
          s.version = ++this.versionCounter;
        } else if (s.definition === described) {
          return { ok: true, value: { kind: 'sku', sku: cmd.sku, version: s.version } };
        } else {
          this.touch(cmd.sku);
        }
        s.definition = described;
        s.safetyStock = cmd.safetyStock;
        s.substitutes = [...cmd.substitutes];
        return { ok: true, value: { kind: 'sku', sku: cmd.sku, version: s.version } };
      }
      case 'receipt': {
        const earlier = this.receipts.find((r) => r.receiptId === cmd.receiptId);
        if (earlier !== undefined) {
          if (!equalData(earlier.lines, cmd.lines)) return fail({ code: 'IDEMPOTENCY_CONFLICT', key: cmd.receiptId });
          return stock([], true);
        }
        const unknown = cmd.lines.find((l) => this.sku(l.sku) === undefined);
        if (unknown !== undefined) return notFound('sku', unknown.sku);
        for (const line of cmd.lines) this.move(line.sku, line.quantity, 0, 'receipt', cmd.receiptId);
        this.receipts.push({ receiptId: cmd.receiptId, atMs: this.atMs, lines: structuredClone(cmd.lines) });
        return stock(
          cmd.lines.map((l) => ({ sku: l.sku, onHandDelta: l.quantity, version: this.version(l.sku) })),
          false,
        );
      }
      case 'adjust': {
        if (this.sku(cmd.sku) === undefined) return notFound('sku', cmd.sku);
        this.move(cmd.sku, cmd.delta, 0, cmd.reason, cmd.key);
        if (cmd.delta < 0) this.checkAtRisk(cmd.sku);
        return stock([{ sku: cmd.sku, onHandDelta: cmd.delta, version: this.version(cmd.sku) }], false);
      }
      case 'count': {
        const s = this.sku(cmd.sku);
        if (s === undefined) return notFound('sku', cmd.sku);
        const drift = cmd.counted - s.onHand;
        if (drift !== 0) this.move(cmd.sku, drift, 0, 'count_drift', cmd.key);
        if (drift < 0) this.checkAtRisk(cmd.sku);
        return stock([{ sku: cmd.sku, onHandDelta: drift, version: s.version }], false);
      }
      case 'pos.sale': {
        const seen = this.posSeen.some((p) => p.sourceId === cmd.sourceId && p.sourceSeq === cmd.sourceSeq);
        if (seen) return stock([], true);
        const unknown = cmd.lines.find((l) => this.sku(l.sku) === undefined);
        if (unknown !== undefined) return notFound('sku', unknown.sku);
        this.posSeen.push({ sourceId: cmd.sourceId, sourceSeq: cmd.sourceSeq });
        for (const line of cmd.lines) {
          this.move(line.sku, -line.quantity, 0, 'pos_sale', `${cmd.sourceId}#${cmd.sourceSeq}`);
          this.checkAtRisk(line.sku);
        }
        return stock(
          cmd.lines.map((l) => ({ sku: l.sku, onHandDelta: -l.quantity, version: this.version(l.sku) })),
          false,
        );
      }
      case 'reserve':
        return this.reserve(cmd);
      case 'commit':
        return this.commit(cmd);
      case 'release': {
        const res = this.open.find((r) => r.reservationId === cmd.reservationId);
        if (res === undefined) return this.missing(cmd.reservationId);
        const lines = this.close(res, 'release', 'released');
        return { ok: true, value: { kind: 'released', reservationId: res.reservationId, lines } };
      }
      case 'extend': {
        const res = this.open.find((r) => r.reservationId === cmd.reservationId);
        if (res === undefined) return this.missing(cmd.reservationId);
        res.expiresAtMs = Math.max(res.expiresAtMs, this.atMs + cmd.ttlMs);
        return {
          ok: true,
          value: { kind: 'extended', reservationId: res.reservationId, expiresAtMs: res.expiresAtMs },
        };
      }
      default:
        // Orders and fulfilment have their own tests (test/engine/orders*.test.ts, test/flows); the
        // generator never sends them.
        throw new Error(`the stock model does not cover ${cmd.type}`);
    }
  }

  private reserve(cmd: Extract<Command, { type: 'reserve' }>): Result {
    for (const line of cmd.lines) {
      const s = this.sku(line.sku);
      if (s === undefined) return notFound('sku', line.sku);
      if (line.expectedVersion !== undefined && line.expectedVersion !== s.version) {
        return fail({ code: 'VERSION_CONFLICT', sku: line.sku, expected: line.expectedVersion, actual: s.version });
      }
    }
    // What earlier lines of this reservation already take, per SKU, and every SKU it names.
    const taken: Record<string, number> = {};
    const fits = (sku: string, quantity: number) => quantity <= this.availableOf(sku) - (taken[sku] ?? 0);
    const named = cmd.lines.map((l) => l.sku);
    const planned: ReservationLine[] = [];
    const short: ShortLine[] = [];
    for (const line of cmd.lines) {
      let chosen: string | undefined;
      if (fits(line.sku, line.quantity)) chosen = line.sku;
      else if (line.allowSubstitutes === true) {
        const substitutes = this.sku(line.sku)?.substitutes ?? [];
        chosen = substitutes.find((s) => !named.includes(s) && this.sku(s) !== undefined && fits(s, line.quantity));
      }
      if (chosen === undefined) {
        const available = Math.max(0, this.availableOf(line.sku) - (taken[line.sku] ?? 0));
        short.push({ sku: line.sku, requested: line.quantity, available });
        continue;
      }
      taken[chosen] = (taken[chosen] ?? 0) + line.quantity;
      const held: ReservationLine = { sku: chosen, quantity: line.quantity, committed: 0 };
      if (chosen !== line.sku) {
        held.substituteFor = line.sku;
        named.push(chosen);
      }
      planned.push(held);
    }
    if (short.length > 0) return fail({ code: 'INSUFFICIENT_STOCK', lines: short });
    const reservationId = `r${this.seq}`;
    for (const line of planned) this.move(line.sku, 0, line.quantity, 'reserve', reservationId);
    const res: Reservation = {
      reservationId,
      createdSeq: this.seq,
      lines: planned,
      createdAtMs: this.atMs,
      expiresAtMs: this.atMs + cmd.ttlMs,
    };
    if (cmd.orderRef !== undefined) res.orderRef = cmd.orderRef;
    this.open.push(res);
    this.createdIds.push(reservationId);
    return {
      ok: true,
      value: { kind: 'reserved', reservationId, expiresAtMs: res.expiresAtMs, lines: structuredClone(planned) },
    };
  }

  private commit(cmd: Extract<Command, { type: 'commit' }>): Result {
    const res = this.open.find((r) => r.reservationId === cmd.reservationId);
    if (res === undefined) return this.missing(cmd.reservationId);
    const wanted: { line: ReservationLine; quantity: number }[] = [];
    if (cmd.lines === undefined) {
      for (const line of res.lines) if (line.quantity > 0) wanted.push({ line, quantity: line.quantity });
    } else {
      for (const want of cmd.lines) {
        const line = res.lines.find((l) => l.sku === want.sku);
        const held = line === undefined ? 0 : line.quantity;
        if (line === undefined || want.quantity > held) {
          return fail({
            code: 'INVALID_QUANTITY',
            reservationId: res.reservationId,
            sku: want.sku,
            requested: want.quantity,
            held,
          });
        }
        wanted.push({ line, quantity: want.quantity });
      }
    }
    const committed: QuantityLine[] = [];
    for (const { line, quantity } of wanted) {
      this.move(line.sku, -quantity, -quantity, 'commit', res.reservationId);
      line.quantity -= quantity;
      line.committed += quantity;
      committed.push({ sku: line.sku, quantity });
    }
    const closed = res.lines.every((l) => l.quantity === 0) || cmd.releaseRest === true;
    if (closed) this.close(res, 'release', 'committed');
    return { ok: true, value: { kind: 'committed', reservationId: res.reservationId, lines: committed, closed } };
  }

  private missing(reservationId: string): Result {
    return notFound('reservation', reservationId, this.closed.find((c) => c.reservationId === reservationId)?.closedAs);
  }

  /** Gives back what a reservation still holds and closes it. */
  private close(res: Reservation, reason: LedgerReason, closedAs: Closed['closedAs']): QuantityLine[] {
    const released: QuantityLine[] = [];
    for (const line of res.lines) {
      if (line.quantity === 0) continue;
      // Touch before the hold disappears, so `before` is the available the command started from.
      this.move(line.sku, 0, -line.quantity, reason, res.reservationId);
      released.push({ sku: line.sku, quantity: line.quantity });
      line.quantity = 0;
    }
    this.open = this.open.filter((r) => r !== res);
    this.closed.push({ reservationId: res.reservationId, closedAs, atMs: this.atMs });
    return released;
  }

  /** Names the newest open reservations holding the SKU until they cover what on hand lacks. */
  private checkAtRisk(sku: string): void {
    const s = this.sku(sku);
    if (s === undefined) return;
    const reserved = this.reservedOf(sku);
    const shortBy = reserved - s.onHand;
    if (shortBy <= 0) return;
    const holders = this.open.filter((r) => r.lines.some((l) => l.sku === sku && l.quantity > 0));
    const reservationIds: string[] = [];
    let covered = 0;
    for (const res of [...holders].reverse()) {
      if (covered >= shortBy) break;
      for (const line of res.lines) if (line.sku === sku) covered += line.quantity;
      reservationIds.push(res.reservationId);
    }
    const parts = Math.max(1, Math.ceil(reservationIds.length / limits.AT_RISK_IDS_PER_EVENT));
    for (let part = 1; part <= parts; part++) {
      const ids = reservationIds.slice((part - 1) * limits.AT_RISK_IDS_PER_EVENT, part * limits.AT_RISK_IDS_PER_EVENT);
      this.events.push({
        type: 'reservation.at_risk',
        sku,
        onHand: s.onHand,
        reserved,
        shortBy,
        reservationIds: ids,
        part,
        parts,
      });
    }
  }
}

function stock(movements: { sku: string; onHandDelta: number; version: number }[], duplicate: boolean): Result {
  return { ok: true, value: { kind: 'stock', movements, duplicate } };
}

/** A result with the error message removed, for comparing the model's answer with the core's. */
export function factsOf<T>(result: Result<T>): unknown {
  if (result.ok) return result;
  const { message: _message, ...facts } = result.error;
  return { ok: false, error: facts };
}
