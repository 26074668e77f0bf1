/**
 * The event messages the stream has not acknowledged yet. Every event message goes out with a reply
 * subject naming it, and JetStream answers there once it stored the message (or knew its id inside
 * the duplicate window). The region keeps each message until that answer.
 *
 * Per subject (a warehouse's event type) messages go out in command order, at most
 * `SUBJECT_WINDOW` unanswered at once. JetStream stores one connection's messages in the order they
 * arrive, so the stream holds each subject's messages in command order, which consumers of one
 * event type see. What could break that order is a message lost or refused while later ones of its
 * subject are stored. So on any trouble with a subject (a refusal, no answer `ACK_WAIT_MS` after it
 * went out, a broken connection) the subject stops sending new messages and probes: its oldest
 * unanswered message is published again under its id, marked `Darkstore-Replayed`, after every
 * wait until the stream takes it (the duplicate window drops the copies of one that had arrived);
 * once it is acknowledged, the subject's other unanswered messages go again in order and new ones
 * follow. A crash before the probe got its answer leaves such a gap for the next start to fill,
 * out of order (it goes by the acknowledged mark, `event-marks.ts`).
 *
 * Per warehouse it says how far a snapshot may reach (`checkpointLimit`): not to a command whose
 * events the stream may lack, so that a crash before they are acknowledged still republishes them
 * from the log's replay at the next start. Bounded by bytes: past the bound, the warehouse of the
 * oldest message gives up publishing until it is reopened, by the region once the stream takes
 * messages again or by a restart (its kept messages are dropped and later ones are not sent, all
 * counted), and its snapshots stay below the first of them, so the reopening recovery replays and
 * publishes them all, in order: what a recovery publishes again
 * from the log does not count against the bound (`fromLog`), or a warehouse that gave up would give
 * up again at every start. Owns that memory; the region publishes.
 */

/** How long a message may go unacknowledged before it is published again. */
export const ACK_WAIT_MS = 5_000;
/** Most messages of one subject out and unanswered at once while all goes well. */
export const SUBJECT_WINDOW = 64;
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
  /**
   * Published again from the log by a recovery: not counted against the byte bound. The recovery
   * holds them in memory already, and counted they would make a warehouse that gave up give up
   * again at every start (what it gave up is at least the bound), never catching up.
   */
  fromLog?: boolean;
}

/** A kept message, with the serial its acknowledgement names and when it first went out. */
export interface UnackedEventMessage extends SentEventMessage {
  serial: number;
  firstAtMs: number;
  /** Acknowledged (it may still wait in its subject's queue behind an unanswered one). */
  acked: boolean;
}

export class UnackedEventMessages {
  /** Every kept message by serial, in the order of first publication. */
  private readonly kept = new Map<number, UnackedEventMessage>();
  /** The same per warehouse: in commit order, so the first has the lowest `firstSeq`. */
  private readonly byWarehouse = new Map<string, Map<number, UnackedEventMessage>>();
  /** Per subject, its kept messages in order (`SubjectQueue`). */
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
  /** Messages dropped or not sent by warehouses that gave up: their reopening (or the next start) publishes them. */
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

  /** How many warehouses gave up publishing (until they catch up). */
  get gaveUpCount(): number {
    return this.givenUpFrom.size;
  }

  /** The warehouses that gave up publishing (until they catch up: `forgetGiveUp`). */
  get gaveUp(): string[] {
    return [...this.givenUpFrom.keys()];
  }

  /** Whether any subject is in trouble (a refusal or a missed answer, its probe not yet through). */
  get inTrouble(): boolean {
    for (const queue of this.bySubject.values()) if (queue.troubled) return true;
    return false;
  }

  /**
   * The warehouse publishes again: it was reopened, and its recovery publishes what it gave up from
   * the log. (It keeps nothing here since it gave up.)
   */
  forgetGiveUp(warehouseId: string): void {
    this.givenUpFrom.delete(warehouseId);
  }

  /**
   * Keeps a message about to be published. Returns it (with the serial its acknowledgement will
   * name) when it goes out now, undefined when it waits: its subject's window is full or in
   * trouble, or its warehouse gave up.
   */
  record(message: SentEventMessage): UnackedEventMessage | undefined {
    if (this.givenUpFrom.has(message.warehouseId)) {
      this.givenUp++;
      return undefined;
    }
    const serial = this.nextSerial++;
    const kept: UnackedEventMessage = { ...message, serial, firstAtMs: message.atMs, acked: false };
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
    if (message.fromLog !== true) this.bytes += message.body.byteLength;
    while (this.bytes > this.bytesMax && this.giveUpOldest()) {}
    if (!this.kept.has(serial) || !queue.mayOpen(SUBJECT_WINDOW)) return undefined;
    // Messages wait only while the window is full or the subject in trouble: this is the new one.
    const next = queue.opened();
    next.atMs = message.atMs;
    return next;
  }

  /**
   * The stream has the message (an answer for one no longer kept, e.g. a copy's, is ignored).
   * Returns what its subject sends now, in order, stamped as sent at `nowMs`.
   */
  ack(serial: number, nowMs: number): UnackedEventMessage[] {
    const m = this.kept.get(serial);
    if (m === undefined) return [];
    this.acked++;
    m.acked = true;
    this.kept.delete(serial);
    this.byWarehouse.get(m.warehouseId)?.delete(serial);
    if (m.fromLog !== true) this.bytes -= m.body.byteLength;
    const queue = this.bySubject.get(m.subject);
    if (queue === undefined) return [];
    queue.dropAcked();
    if (queue.first === undefined) {
      this.bySubject.delete(m.subject);
      return [];
    }
    const out: UnackedEventMessage[] = [];
    if (queue.troubled) {
      if (queue.first !== undefined && !queue.isOut(queue.first)) queue.troubled = false;
      else if (m !== queue.probe) return [];
      else {
        // The probe went through: the stream takes messages again. What was out goes again, in order.
        queue.troubled = false;
        for (const again of queue.out()) out.push(this.again(again, nowMs));
      }
    }
    while (queue.mayOpen(SUBJECT_WINDOW)) {
      const next = queue.opened();
      next.atMs = nowMs;
      out.push(next);
    }
    return out;
  }

  /** The stream refused the message: its subject is in trouble, and probes once the wait is over. */
  refuse(serial: number): void {
    const m = this.kept.get(serial);
    if (m === undefined) return;
    this.refused++;
    this.troubled(m.subject);
  }

  /**
   * The probes to publish now: per subject, the oldest unanswered message when it has waited
   * `ACK_WAIT_MS` (the subject is then in trouble), marked and stamped as sent now. None while the
   * connection is down (`reconnected` probes every subject with messages out).
   */
  due(nowMs: number): UnackedEventMessage[] {
    if (this.disconnectedAtMs !== undefined) return [];
    const out: UnackedEventMessage[] = [];
    for (const queue of this.bySubject.values()) {
      const m = queue.first;
      if (m === undefined || !queue.isOut(m) || nowMs - m.atMs < this.ackWaitMs) continue;
      queue.troubled = true;
      queue.probe = m;
      out.push(this.again(m, nowMs));
    }
    return out;
  }

  /** The connection broke at `nowMs` (the first notice counts until it comes back). */
  disconnected(nowMs: number): void {
    this.disconnectedAtMs ??= nowMs;
  }

  /** The connection is back: every subject with messages out probes with its oldest, now. */
  reconnected(nowMs: number): UnackedEventMessage[] {
    this.disconnectedAtMs = undefined;
    const out: UnackedEventMessage[] = [];
    for (const queue of this.bySubject.values()) {
      const m = queue.first;
      if (m === undefined || !queue.isOut(m)) continue;
      queue.troubled = true;
      queue.probe = m;
      out.push(this.again(m, nowMs));
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

  private troubled(subject: string): void {
    const queue = this.bySubject.get(subject);
    if (queue === undefined || queue.troubled) return;
    queue.troubled = true;
    // The oldest unanswered message probes, at the next sweep after its wait.
    queue.probe = queue.first;
  }

  private again(m: UnackedEventMessage, nowMs: number): UnackedEventMessage {
    m.atMs = nowMs;
    m.replayed = true;
    this.resent++;
    return m;
  }

  /**
   * The warehouse of the oldest kept message that counts against the bound gives up: all it keeps is
   * dropped, later ones are not sent. False when no kept message counts.
   */
  private giveUpOldest(): boolean {
    for (const oldest of this.kept.values()) {
      if (oldest.fromLog === true) continue;
      const warehouseId = oldest.warehouseId;
      // From its oldest kept message (in commit order, the first), which may be one published from
      // the log before this one.
      const ofWarehouse = this.byWarehouse.get(warehouseId)?.values().next().value;
      this.givenUpFrom.set(warehouseId, ofWarehouse?.firstSeq ?? oldest.firstSeq);
      for (const m of this.byWarehouse.get(warehouseId)?.values() ?? []) {
        this.givenUp++;
        this.kept.delete(m.serial);
        if (m.fromLog !== true) this.bytes -= m.body.byteLength;
        // A subject names one warehouse: its whole queue goes.
        this.bySubject.delete(m.subject);
      }
      this.byWarehouse.delete(warehouseId);
      return true;
    }
    return false;
  }
}

/**
 * One subject's kept messages, oldest first. Those before `sentEnd` have gone out at least once;
 * acknowledged ones leave from the front (one acknowledged behind an unanswered one waits there).
 */
class SubjectQueue {
  private items: UnackedEventMessage[] = [];
  private head = 0;
  private sentEnd = 0;
  /** A refusal, a missed answer or a broken connection: nothing new goes out until the probe is answered. */
  troubled = false;
  /** The message sent alone while troubled. */
  probe: UnackedEventMessage | undefined;

  get first(): UnackedEventMessage | undefined {
    return this.items[this.head];
  }

  push(m: UnackedEventMessage): void {
    this.items.push(m);
  }

  /** Whether the message has gone out at least once. */
  isOut(m: UnackedEventMessage): boolean {
    const i = this.items.indexOf(m, this.head);
    return i >= 0 && i < this.sentEnd;
  }

  /** Whether the next unsent message may go out: one waits, and fewer than `window` are out. */
  mayOpen(window: number): boolean {
    return !this.troubled && this.sentEnd < this.items.length && this.sentEnd - this.head < window;
  }

  /** The next unsent message, now counted as out. */
  opened(): UnackedEventMessage {
    return this.items[this.sentEnd++] as UnackedEventMessage;
  }

  /** The messages out and unanswered, oldest first. */
  out(): UnackedEventMessage[] {
    return this.items.slice(this.head, this.sentEnd).filter((m) => !m.acked);
  }

  /** Lets acknowledged messages at the front go. */
  dropAcked(): void {
    while (this.head < this.items.length && (this.items[this.head] as UnackedEventMessage).acked) this.head++;
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.sentEnd -= this.head;
      this.head = 0;
    }
  }
}
