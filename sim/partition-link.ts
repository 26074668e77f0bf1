/**
 * The line between the two threads of a partitioned run: messages over a MessagePort, read
 * synchronously (`receiveMessageOnPort`), with a shared counter per side to sleep on until the other
 * side has sent something. A checkout that involves stores of both threads runs as calls over it
 * while the other thread waits at the same simulated instant, so the run stays one deterministic
 * simulation however the threads are scheduled. Owns only the transport and the message types.
 */
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { OrderPlaceCommand, QuantityLine, Result } from '../engine/index.ts';
import type { CandidateReport } from '../service/checkout-choice.ts';

/** A checkout the other thread leads, as the thread that plays some of its candidates sees it. */
export type LinkMessage =
  /** Judge these stores of yours for the order (its candidates you play). */
  | { op: 'judge'; orderId: string; order: OrderPlaceCommand; warehouseIds: string[] }
  | { op: 'judged'; orderId: string; reports: CandidateReport[] }
  /** Place the order at this store of yours. */
  | { op: 'place'; orderId: string; warehouseId: string; command: OrderPlaceCommand }
  | { op: 'placed'; orderId: string; result: Result }
  /** The checkout is over; `placed` names the store of yours it was placed at, if one. */
  | { op: 'done'; orderId: string; placed?: { warehouseId: string; lines: QuantityLine[] } };

/**
 * How long a side waits for the other before it takes the run for stuck. A thread that fails or
 * exits is seen by the main thread, which stops both; this only catches the two sides disagreeing
 * (a bug). The wait counts from when this side reached the shared checkout, so it includes however
 * far the other side lags behind: generous, for cities whose halves meet rarely.
 */
const STUCK_MS = 600_000;
/** One sleep on the counter; the port is looked at again after each. */
const NAP_MS = 50;

export class PartitionLink {
  constructor(
    private readonly port: MessagePort,
    /** Two counters in shared memory: `signals[i]` counts the messages sent to side i. */
    private readonly signals: Int32Array,
    private readonly side: 0 | 1,
  ) {}

  send(message: LinkMessage): void {
    this.port.postMessage(message);
    const peer = 1 - this.side;
    Atomics.add(this.signals, peer, 1);
    Atomics.notify(this.signals, peer);
  }

  /** The next message from the other side, waiting for it (the thread sleeps meanwhile). */
  receive(): LinkMessage {
    const startedMs = Date.now();
    for (;;) {
      const seen = Atomics.load(this.signals, this.side);
      const got = receiveMessageOnPort(this.port);
      if (got !== undefined) return got.message as LinkMessage;
      if (Date.now() - startedMs > STUCK_MS) throw new Error('the other partition of the run stopped answering');
      Atomics.wait(this.signals, this.side, seen, NAP_MS);
    }
  }

  /** Sends a request and waits for its answer, which must be about the same order. */
  call<T extends LinkMessage['op']>(message: LinkMessage, answer: T): Extract<LinkMessage, { op: T }> {
    this.send(message);
    const reply = this.receive();
    if (reply.op !== answer || reply.orderId !== message.orderId) {
      throw new Error(
        `partition link: ${reply.op} for ${reply.orderId} where ${answer} for ${message.orderId} was due`,
      );
    }
    return reply as Extract<LinkMessage, { op: T }>;
  }
}

/** What both threads of a partitioned run need to build their link: the shared counters. */
export function linkSignals(): SharedArrayBuffer {
  return new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
}
