/**
 * The outbox a region process's replies, events and acknowledgements leave through: against a real
 * nats-server, what is queued across a turn's promise continuations arrives complete and in order,
 * a message the client refuses (too large) is counted without throwing from the tick or holding
 * back the others, and nothing is published on a closed connection.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxOf } from '../../service/outbox.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';

let server: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const bytes = (n: number) => new TextEncoder().encode(String(n));

/** Subscribes and resolves with the first `count` payloads received as numbers. */
function receive(sub: NatsConnection, subject: string, count: number): Promise<number[]> {
  const got: number[] = [];
  return new Promise((resolve) => {
    sub.subscribe(subject, {
      callback: (_, msg) => {
        got.push(Number(new TextDecoder().decode(msg.data)));
        if (got.length === count) resolve(got);
      },
    });
  });
}

describe('outbox', () => {
  it('sends what a turn queued from many continuations, complete and in order, in one flush', async () => {
    const listener = await connect({ servers: server.url });
    const arrived = receive(listener, 'outbox.order', 300);
    await listener.flush();
    const outbox = outboxOf(nc);
    expect(outboxOf(nc)).toBe(outbox);
    let published = 0;
    const publish = nc.publish.bind(nc);
    nc.publish = (...args: Parameters<NatsConnection['publish']>) => {
      published++;
      publish(...args);
    };
    const flushed: number[] = [];
    // 100 chains of three awaits each: the messages of one turn, produced in different microtasks.
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        outbox.publish('outbox.order', bytes(i));
        await Promise.resolve();
        outbox.publish('outbox.order', bytes(100 + i));
        await Promise.resolve();
        outbox.publish('outbox.order', bytes(200 + i));
        flushed.push(published);
      }),
    );
    // Nothing left for the client while the turn's continuations ran: all went out after them.
    expect(flushed.every((n) => n === 0)).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(published).toBe(300);
    nc.publish = publish;
    const expected = [...Array.from({ length: 300 }, (_, i) => i)];
    expect(await arrived).toEqual(expected);
    await listener.close();
  });

  it('gathers what a synchronous callback sends with what the promises it resolved send after it', async () => {
    const listener = await connect({ servers: server.url });
    const arrived = receive(listener, 'outbox.sync', 11);
    await listener.flush();
    const outbox = outboxOf(nc);
    let batches = 0;
    let inBatch = 0;
    const publish = nc.publish.bind(nc);
    nc.publish = (...args: Parameters<NatsConnection['publish']>) => {
      if (inBatch++ === 0) {
        batches++;
        queueMicrotask(() => {
          inBatch = 0;
        });
      }
      publish(...args);
    };
    // As a sync callback does: resolve the waiting replies, then publish the batch's events at once.
    const waiting = Array.from({ length: 10 }, (_, i) => {
      let resolve: () => void = () => undefined;
      const done = new Promise<void>((r) => {
        resolve = r;
      });
      return { resolve, replied: done.then(() => outbox.publish('outbox.sync', bytes(1 + i))) };
    });
    setImmediate(() => {
      for (const w of waiting) w.resolve();
      outbox.publish('outbox.sync', bytes(0));
    });
    await Promise.all(waiting.map((w) => w.replied));
    await new Promise((resolve) => setImmediate(resolve));
    nc.publish = publish;
    expect(batches).toBe(1);
    expect(await arrived).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await listener.close();
  });

  it('counts a message the client refuses, sends the others, and counts what a closed connection queued', async () => {
    const listener = await connect({ servers: server.url });
    const arrived = receive(listener, 'outbox.big', 2);
    await listener.flush();
    const own = await connect({ servers: server.url });
    const outbox = outboxOf(own);
    const max = own.info?.max_payload ?? 1024 * 1024;
    outbox.publish('outbox.big', bytes(1));
    outbox.publish('outbox.big', new Uint8Array(max + 1));
    outbox.publish('outbox.big', bytes(2));
    expect(await arrived).toEqual([1, 2]);
    expect(outbox.refused).toBe(1);
    await own.close();
    outbox.publish('outbox.big', bytes(3));
    await new Promise((resolve) => setImmediate(resolve));
    // Counted (and logged), never thrown from the tick.
    expect(outbox.refused).toBe(2);
    await listener.close();
  });
});
