/**
 * How a region service (the checkout) reaches a warehouse of its region: directly when this process
 * hosts it, by NATS request/reply on the warehouse's subjects when another process does. Both ways
 * answer the same results, through the same validation and the same command loop; the direct way
 * skips two trips through nats-server and two msgpack round trips per question, which is most of a
 * checkout's latency when its candidates live in the process that answers it. Never rejects: a
 * question that could not be asked says so, and whether it may still have acted.
 */
import { type NatsConnection, RequestError } from '@nats-io/transport-node';
import { decode, type Result } from '../engine/index.ts';
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
    if (local !== undefined) return Promise.resolve({ answered: true, result: local.peek(query) });
    return this.request(peekSubject(this.region, warehouseId), query, timeoutMs);
  }

  /** A read of durable state (`.query`). */
  async read(warehouseId: string, query: unknown, timeoutMs: number): Promise<LinkReply> {
    const local = this.hosted(warehouseId);
    if (local !== undefined) return { answered: true, result: await local.read(query) };
    return this.request(querySubject(this.region, warehouseId), query, timeoutMs);
  }

  /** One command (`.cmd`). */
  async command(warehouseId: string, command: unknown, timeoutMs: number): Promise<LinkReply> {
    const local = this.hosted(warehouseId);
    if (local !== undefined) return { answered: true, result: await local.submit(command) };
    return this.request(commandSubject(this.region, warehouseId), command, timeoutMs);
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
