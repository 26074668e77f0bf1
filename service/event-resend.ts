/**
 * The event messages the stream has not acknowledged yet. Every event message goes out with a reply
 * subject naming it, and JetStream answers there once it stored the message (or knew its id inside
 * the duplicate window). The region keeps each message until that answer.
 *
 * Per subject (a warehouse's event type) one message is out at a time: the next is sent once the
 * one before it is acknowledged. The stream therefore stores each subject's messages in the order
 * of their commands, whatever is lost and sent again, so its last message of a subject says that
 * every earlier one is there: what a recovery relies on (`event-replay.ts`). Normally the answer
 * comes long before the next commit of the type; while it does not, later messages wait here.
 * A message unanswered `ACK_WAIT_MS` after it went out (lost with a broken connection, taken by a
 * server that crashed before storing it, refused because the stream was missing or not ready) is
 * published again under its id, marked `Darkstore-Replayed`, and again after every further wait,
 * until the stream takes it; the duplicate window drops the copies of one that had arrived. When a
 * broken connection comes back, every message out goes again at once.
 *
 * Per warehouse it says how far a snapshot may reach (`checkpointLimit`): not to a command whose
 * events the stream may lack, so that a crash before they are acknowledged still republishes them
 * from the log's replay at the next start. Bounded by bytes: past the bound, the warehouse of the
 * oldest message gives up publishing until the process restarts (its kept messages are dropped and
 * later ones are not sent, all counted), and its snapshots stay below the first of them, so the
 * next start's recovery replays and publishes them all, in order. Owns that memory; the region
 * publishes.
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
  /** Per subject, its kept messages in order: the first is out, the others wait for it. */
  private readonly bySubject = new Map<string, SubjectQueue>();
  /** Per warehouse that gave up, the lowest seq of what it gave up: snapshots stay below it. */
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
  /** Messages dropped or not sent by warehouses that gave up: the next start publishes them. */
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

  /** The warehouses that gave up publishing (until the process restarts). */
  get gaveUp(): string[] {
    return [...this.givenUpFrom.keys()];
  }

  /**
   * Keeps a message about to be published. Returns it with the serial its acknowledgement will
   * name when it is to be sent now, undefined when it waits for an earlier message of its subject
   * (or its warehouse gave up).
   */
  record(message: SentEventMessage): UnackedEventMessage | undefined {
    if (this.givenUpFrom.has(message.warehouseId)) {
      this.givenUp++;
      return undefined;
    }
    const serial = this.nextSerial++;
    const kept: UnackedEventMessage = { ...message, serial, firstAtMs: message.atMs };
    this.kept.set(serial, kept);
    let ofWarehouse = this.byWarehouse.get(message.warehouseId);
    if (ofWarehouse === undefined) {
      ofWarehouse = new Map();
      this.byWarehouse.set(message.warehouseId, ofWarehouse);
    }
    ofWarehouse.set(serial, kept);
    let queue = this.bySubject.get(message.subject);
    if (queue === undefined) {
      queue = new SubjectQueue();
      this.bySubject.set(message.subject, queue);
    }
    queue.push(kept);
    this.bytes += message.body.byteLength;
    while (this.bytes > this.bytesMax && this.kept.size > 0) this.giveUpOldest();
    return this.kept.has(serial) && queue.first === kept ? kept : undefined;
  }

  /**
   * The stream has the message (an answer for one no longer kept, e.g. a copy's, is ignored).
   * Returns the next message of its subject, to send now, stamped as sent at `nowMs`.
   */
  ack(serial: number, nowMs: number): UnackedEventMessage | undefined {
    const m = this.kept.get(serial);
    if (m === undefined) return undefined;
    this.acked++;
    this.kept.delete(serial);
    this.byWarehouse.get(m.warehouseId)?.delete(serial);
    this.bytes -= m.body.byteLength;
    // Only the first message of a subject is out, so only it is answered.
    const queue = this.bySubject.get(m.subject);
    queue?.shift();
    const next = queue?.first;
    if (next === undefined) {
      this.bySubject.delete(m.subject);
      return undefined;
    }
    // It waited for this answer: it goes out now, and its own wait starts now.
    next.atMs = nowMs;
    return next;
  }

  /** The stream refused the message: it stays, and goes again once its wait is over. */
  refuse(serial: number): void {
    if (this.kept.has(serial)) this.refused++;
  }

  /**
   * The messages out and unanswered for the wait, to publish again now, marked and stamped as sent
   * now. None while the connection is down (`reconnected` sends them all).
   */
  due(nowMs: number): UnackedEventMessage[] {
    if (this.disconnectedAtMs !== undefined) return [];
    const out: UnackedEventMessage[] = [];
    for (const queue of this.bySubject.values()) {
      const m = queue.first;
      if (m !== undefined && nowMs - m.atMs >= this.ackWaitMs) out.push(this.again(m, nowMs));
    }
    return out;
  }

  /** The connection broke at `nowMs` (the first notice counts until it comes back). */
  disconnected(nowMs: number): void {
    this.disconnectedAtMs ??= nowMs;
  }

  /** The connection is back: every message out, to publish again now. */
  reconnected(nowMs: number): UnackedEventMessage[] {
    this.disconnectedAtMs = undefined;
    const out: UnackedEventMessage[] = [];
    for (const queue of this.bySubject.values()) {
      const m = queue.first;
      if (m !== undefined) out.push(this.again(m, nowMs));
    }
    return out;
  }

  /**
   * The highest seq a snapshot of the warehouse may cover now: below its oldest unacknowledged
   * message, and below what it gave up.
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
    this.bySubject.clear();
    this.bytes = 0;
    this.disconnectedAtMs = undefined;
  }

  private again(m: UnackedEventMessage, nowMs: number): UnackedEventMessage {
    m.atMs = nowMs;
    m.replayed = true;
    this.resent++;
    return m;
  }

  /** The warehouse of the oldest kept message gives up: all it keeps is dropped, later ones are not sent. */
  private giveUpOldest(): void {
    for (const oldest of this.kept.values()) {
      const warehouseId = oldest.warehouseId;
      this.givenUpFrom.set(warehouseId, oldest.firstSeq);
      for (const m of this.byWarehouse.get(warehouseId)?.values() ?? []) {
        this.givenUp++;
        this.kept.delete(m.serial);
        this.bytes -= m.body.byteLength;
        // A subject names one warehouse: its whole queue goes.
        this.bySubject.delete(m.subject);
      }
      this.byWarehouse.delete(warehouseId);
      return;
    }
  }
}

/** One subject's kept messages, oldest first: the first is out, the others wait for its answer. */
class SubjectQueue {
  private items: UnackedEventMessage[] = [];
  private head = 0;

  get first(): UnackedEventMessage | undefined {
    return this.items[this.head];
  }

  push(m: UnackedEventMessage): void {
    this.items.push(m);
  }

  shift(): void {
    this.head++;
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
