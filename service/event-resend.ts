/**
 * The event messages the stream has not acknowledged yet. Every event message goes out with a reply
 * subject naming it, and JetStream answers there once it stored the message (or knew its id inside
 * the duplicate window). The region keeps each message until that answer: one unanswered
 * `ACK_WAIT_MS` after it went out (lost with a broken connection, taken by a server that crashed
 * before storing it, refused because the stream was missing or not ready) is published again under
 * its id, marked `Darkstore-Replayed`, and again after every further wait, until the stream takes
 * it; the duplicate window drops the copies of one that had arrived. When a broken connection comes
 * back, every unacknowledged message goes again at once.
 *
 * Per warehouse it says how far a snapshot may reach (`checkpointLimit`): not to a command whose
 * events the stream may lack, so that a crash before they are acknowledged still republishes them
 * from the log's replay at the next start. Bounded by bytes: past the bound the oldest messages are
 * given up (counted), and their warehouse's snapshots stay below them until the process restarts
 * (whose recovery publishes what the stream lacks). Owns that memory; the region publishes.
 */

/** How long a message may go unacknowledged before it is published again. */
export const ACK_WAIT_MS = 5_000;
/** Most bytes of unacknowledged event messages kept. */
export const UNACKED_BYTES_MAX = 64 * 1024 * 1024;

/** An event message as published: enough to publish it again with the same id. */
export interface SentEventMessage {
  warehouseId: string;
  /**
   * The command (seq) of the first event of the publication it is part of (a commit, or one command
   * of a recovery's republication): a snapshot may not reach it before the stream has the message.
   * Publication order is commit order, so this never decreases from one message to the next.
   */
  firstSeq: number;
  /** When it was last sent (performance.now()). */
  atMs: number;
  subject: string;
  body: Uint8Array;
  id: string;
  /** Sent before: by a recovery's republication, or again for want of an acknowledgement. */
  replayed: boolean;
}

/** A kept message, with the serial its acknowledgement names and when it first went out. */
export interface UnackedEventMessage extends SentEventMessage {
  serial: number;
  firstAtMs: number;
}

export class UnackedEventMessages {
  /** Every kept message by serial, in the order of first publication. */
  private readonly kept = new Map<number, UnackedEventMessage>();
  /** The same per warehouse: in commit order, so the first has the lowest `firstSeq`. */
  private readonly byWarehouse = new Map<string, Map<number, UnackedEventMessage>>();
  /** Per warehouse, the lowest seq of a message given up: snapshots stay below it. */
  private readonly givenUpFrom = new Map<string, number>();
  private nextSerial = 1;
  private bytes = 0;
  private disconnectedAtMs: number | undefined;
  /** Messages the stream acknowledged (duplicates included). */
  acked = 0;
  /** Answers that refused a message (no stream, storage error): it goes again after the wait. */
  refused = 0;
  /** Messages published again for want of an acknowledgement. */
  resent = 0;
  /** Messages dropped past the byte bound: they may be missing from the stream until a restart. */
  givenUp = 0;

  constructor(
    private readonly ackWaitMs = ACK_WAIT_MS,
    private readonly bytesMax = UNACKED_BYTES_MAX,
  ) {}

  get size(): number {
    return this.kept.size;
  }

  /** When the oldest kept message was first published (undefined when none is kept). */
  get oldestAtMs(): number | undefined {
    for (const m of this.kept.values()) return m.firstAtMs;
    return undefined;
  }

  /** Whether the connection is down (a disconnect seen and no reconnection since). */
  get isDisconnected(): boolean {
    return this.disconnectedAtMs !== undefined;
  }

  /** Keeps a message about to be published; returns the serial its acknowledgement will name. */
  record(message: SentEventMessage): number {
    const serial = this.nextSerial++;
    const kept: UnackedEventMessage = { ...message, serial, firstAtMs: message.atMs };
    this.kept.set(serial, kept);
    let ofWarehouse = this.byWarehouse.get(message.warehouseId);
    if (ofWarehouse === undefined) {
      ofWarehouse = new Map();
      this.byWarehouse.set(message.warehouseId, ofWarehouse);
    }
    ofWarehouse.set(serial, kept);
    this.bytes += message.body.byteLength;
    while (this.bytes > this.bytesMax && this.kept.size > 1) this.giveUpOldest();
    return serial;
  }

  /** The stream has the message (an answer for one no longer kept, e.g. a copy's, is ignored). */
  ack(serial: number): void {
    const m = this.kept.get(serial);
    if (m === undefined) return;
    this.acked++;
    this.forget(m);
  }

  /** The stream refused the message: it stays, and goes again once its wait is over. */
  refuse(serial: number): void {
    if (this.kept.has(serial)) this.refused++;
  }

  /**
   * The messages unacknowledged for the wait, to publish again now, oldest first, marked and
   * stamped as sent now. None while the connection is down (`reconnected` sends them all).
   */
  due(nowMs: number): UnackedEventMessage[] {
    if (this.disconnectedAtMs !== undefined) return [];
    const out: UnackedEventMessage[] = [];
    for (const m of this.kept.values()) if (nowMs - m.atMs >= this.ackWaitMs) out.push(this.again(m, nowMs));
    return out;
  }

  /** The connection broke at `nowMs` (the first notice counts until it comes back). */
  disconnected(nowMs: number): void {
    this.disconnectedAtMs ??= nowMs;
  }

  /** The connection is back: every kept message, to publish again now, oldest first. */
  reconnected(nowMs: number): UnackedEventMessage[] {
    this.disconnectedAtMs = undefined;
    return [...this.kept.values()].map((m) => this.again(m, nowMs));
  }

  /**
   * The highest seq a snapshot of the warehouse may cover now: below its oldest unacknowledged
   * message and below any given up.
   */
  checkpointLimit(warehouseId: string): number {
    const limit = (this.givenUpFrom.get(warehouseId) ?? Number.POSITIVE_INFINITY) - 1;
    const ofWarehouse = this.byWarehouse.get(warehouseId);
    if (ofWarehouse !== undefined) for (const m of ofWarehouse.values()) return Math.min(limit, m.firstSeq - 1);
    return limit;
  }

  /** Forgets everything (the region stopped). */
  clear(): void {
    this.kept.clear();
    this.byWarehouse.clear();
    this.bytes = 0;
    this.disconnectedAtMs = undefined;
  }

  private again(m: UnackedEventMessage, nowMs: number): UnackedEventMessage {
    m.atMs = nowMs;
    m.replayed = true;
    this.resent++;
    return m;
  }

  private giveUpOldest(): void {
    for (const m of this.kept.values()) {
      this.givenUp++;
      const from = this.givenUpFrom.get(m.warehouseId) ?? Number.POSITIVE_INFINITY;
      this.givenUpFrom.set(m.warehouseId, Math.min(from, m.firstSeq));
      this.forget(m);
      return;
    }
  }

  private forget(m: UnackedEventMessage): void {
    this.kept.delete(m.serial);
    this.byWarehouse.get(m.warehouseId)?.delete(m.serial);
    this.bytes -= m.body.byteLength;
  }
}
