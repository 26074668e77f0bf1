/**
 * What a broken connection to NATS may have taken from the events stream. Events are published
 * without waiting for the server's word, so messages written to a socket just before it broke (or
 * taken by a server that crashed before storing them), and messages the client could no longer
 * buffer while it was away, never reach the stream, while later ones do. The recent event messages
 * are therefore kept, and when the connection comes back, the ones published from RESEND_WINDOW_MS
 * before it broke onwards are published again under their ids, marked `Darkstore-Replayed`: the
 * stream's duplicate window drops those that arrived (unless the break outlasted it). Bounded by age and by bytes (past the bound while disconnected, the oldest
 * are given up, counted and logged). Owns that memory; the region decides when to call it.
 */
import { EVENTS_DUPLICATE_WINDOW_MS } from './event-stream.ts';

/**
 * How far before a disconnect messages are sent again: a break is not noticed at once (a dead peer
 * only when the socket errs or the pings go unanswered). Half the duplicate window, so that what
 * is sent again is still recognised by the stream.
 */
export const RESEND_WINDOW_MS = EVENTS_DUPLICATE_WINDOW_MS / 2;
/** Most bytes of event messages kept for sending again. */
export const RESEND_BYTES_MAX = 64 * 1024 * 1024;

/** An event message as published: enough to publish it again with the same id. */
export interface SentEventMessage {
  atMs: number;
  subject: string;
  body: Uint8Array;
  id: string;
  replayed: boolean;
}

export class RecentEventMessages {
  private kept: SentEventMessage[] = [];
  /** Index of the oldest kept message in `kept` (the front is dropped lazily). */
  private head = 0;
  private bytes = 0;
  private disconnectedAtMs: number | undefined;
  /** Messages dropped past the byte bound while disconnected: they may be missing from the stream. */
  givenUp = 0;
  /** Messages published again after reconnections. */
  resent = 0;

  constructor(
    private readonly windowMs = RESEND_WINDOW_MS,
    private readonly bytesMax = RESEND_BYTES_MAX,
  ) {}

  get size(): number {
    return this.kept.length - this.head;
  }

  /** When the oldest kept message was published (undefined when none is kept). */
  get oldestAtMs(): number | undefined {
    return this.kept[this.head]?.atMs;
  }

  /** Whether the connection is down (a disconnect seen and no reconnection since). */
  get isDisconnected(): boolean {
    return this.disconnectedAtMs !== undefined;
  }

  /** Keeps a message just published (or refused by the client). */
  record(message: SentEventMessage): void {
    this.kept.push(message);
    this.bytes += message.body.byteLength;
    this.trim(message.atMs);
  }

  /** The connection broke at `nowMs` (the first notice counts until it comes back). */
  disconnected(nowMs: number): void {
    this.disconnectedAtMs ??= nowMs;
  }

  /**
   * The connection is back: the messages to publish again, oldest first. They are kept again as
   * sent now, so a second break soon after sends them once more.
   */
  reconnected(nowMs: number): SentEventMessage[] {
    const since = (this.disconnectedAtMs ?? nowMs) - this.windowMs;
    this.disconnectedAtMs = undefined;
    const out: SentEventMessage[] = [];
    let bytes = 0;
    for (let i = this.head; i < this.kept.length; i++) {
      const m = this.kept[i] as SentEventMessage;
      if (m.atMs < since) continue;
      m.atMs = nowMs;
      m.replayed = true;
      out.push(m);
      bytes += m.body.byteLength;
    }
    this.kept = [...out];
    this.head = 0;
    this.bytes = bytes;
    this.resent += out.length;
    return out;
  }

  /** Lets messages older than the window go (also done at every record), e.g. before reading stats. */
  age(nowMs: number): void {
    this.trim(nowMs);
  }

  /** Forgets everything (the region stopped). */
  clear(): void {
    this.kept = [];
    this.head = 0;
    this.bytes = 0;
    this.disconnectedAtMs = undefined;
  }

  private trim(nowMs: number): void {
    // While disconnected nothing ages out: all of it may have to go again.
    const oldest = this.disconnectedAtMs === undefined ? nowMs - this.windowMs : Number.NEGATIVE_INFINITY;
    while (this.head < this.kept.length) {
      const m = this.kept[this.head] as SentEventMessage;
      const overBytes = this.bytes > this.bytesMax;
      if (!overBytes && m.atMs >= oldest) break;
      if (overBytes && this.disconnectedAtMs !== undefined) this.givenUp++;
      this.bytes -= m.body.byteLength;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.kept.length) {
      this.kept = this.kept.slice(this.head);
      this.head = 0;
    }
  }
}
