/**
 * How a region service (the checkout) reaches a warehouse of its region: directly when this process
 * hosts it, by NATS request/reply on the warehouse's subjects when another process does. Both ways
 * answer the same results, through the same validation and the same command loop; the direct way
 * skips two trips through nats-server and two msgpack round trips per question, which is most of a
 * checkout's latency when its candidates live in the process that answers it. Either way a question
 * is bounded by its timeout and never rejects: one that could not be asked or answered in time says
 * so, and whether it may still have acted; a bug in the warehouse answers UNAVAILABLE, as its subject
 * would. A result asked in memory is the warehouse's own object (a stored idempotency result, say):
 * read it, never change it.
 */
import { type NatsConnection, RequestError } from '@nats-io/transport-node';
import { decode, type Result, unavailable } from '../engine/index.ts';
import { commandSubject, encodeReply, peekSubject, querySubject } from '../protocol/index.ts';

/** What asking a warehouse came to: its answer, or none (and whether it may still have acted). */
export type LinkReply =
  | { answered: true; result: Result<unknown> }
  | { answered: false; mayHaveActed: boolean; message: string };

/** A warehouse this process hosts, asked in memory: what its `.peek`, `.query` and `.cmd` subjects answer. */
export interface HostedEndpoint {
  /** A read from memory at once (may show commands not yet durable). */
  peek(query: unknown): Result<unknown>;
  /** A read released once what it shows is durable. */
  read(query: unknown): Promise<Result<unknown>>;
  /** One command, answered once it is durable. */
  submit(command: unknown): Promise<Result<unknown>>;
}

/** What a bug in a hosted warehouse answers, as its subject would. */
const INTERNAL_ERROR: LinkReply = Object.freeze({
  answered: true,
  result: Object.freeze({ ok: false, error: Object.freeze(unavailable('internal error')) }),
});
const TIMED_OUT: LinkReply = Object.freeze({ answered: false, mayHaveActed: true, message: 'timeout' });

export class WarehouseLink {
  constructor(
    private readonly nc: NatsConnection,
    private readonly region: string,
    /** The warehouse if this process hosts it; undefined sends the question over NATS. */
    private readonly hosted: (warehouseId: string) => HostedEndpoint | undefined = () => undefined,
  ) {}

  /** An advisory read from memory (`.peek`). */
  peek(warehouseId: string, query: unknown, timeoutMs: number): Promise<LinkReply> {
    const local = this.hosted(warehouseId);
    if (local === undefined) return this.request(peekSubject(this.region, warehouseId), query, timeoutMs);
    // Answered at once: nothing to time out.
    try {
      return Promise.resolve({ answered: true, result: local.peek(query) });
    } catch {
      return Promise.resolve(INTERNAL_ERROR);
    }
  }

  /** A read of durable state (`.query`). */
  read(warehouseId: string, query: unknown, timeoutMs: number): Promise<LinkReply> {
    const local = this.hosted(warehouseId);
    if (local !== undefined) return this.inMemory(() => local.read(query), timeoutMs);
    return this.request(querySubject(this.region, warehouseId), query, timeoutMs);
  }

  /** One command (`.cmd`). */
  command(warehouseId: string, command: unknown, timeoutMs: number): Promise<LinkReply> {
    const local = this.hosted(warehouseId);
    if (local !== undefined) return this.inMemory(() => local.submit(command), timeoutMs);
    return this.request(commandSubject(this.region, warehouseId), command, timeoutMs);
  }

  /**
   * Asks a hosted warehouse, within the same timeout a request would have. One promise and one
   * timer per question: a checkout asks several.
   */
  private inMemory(ask: () => Promise<Result<unknown>>, timeoutMs: number): Promise<LinkReply> {
    return new Promise<LinkReply>((resolve) => {
      let settled = false;
      const settle = (reply: LinkReply): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(reply);
      };
      // A command still queued behind a stalled sync may yet be applied: it may have acted.
      const timer = setTimeout(() => settle(TIMED_OUT), timeoutMs);
      let answer: Promise<Result<unknown>>;
      try {
        answer = ask();
      } catch {
        settle(INTERNAL_ERROR);
        return;
      }
      answer.then(
        (result) => settle({ answered: true, result }),
        () => settle(INTERNAL_ERROR),
      );
    });
  }

  private async request(subject: string, body: unknown, timeoutMs: number): Promise<LinkReply> {
    try {
      const msg = await this.nc.request(subject, encodeReply(body), { timeout: timeoutMs });
      return { answered: true, result: decode(msg.data) as Result<unknown> };
    } catch (error) {
      const noResponders = error instanceof RequestError && error.isNoResponders();
      const message = noResponders ? 'no responders' : error instanceof Error ? error.message : String(error);
      // Only "no responders" proves the request reached nobody; a timeout or a lost connection may not.
      return { answered: false, mayHaveActed: !noResponders, message };
    }
  }
}
