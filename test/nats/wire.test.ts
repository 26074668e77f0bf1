/**
 * Hostile input over the wire, against a real nats-server and a real `darkstore serve`: random
 * bytes, every truncation of a valid command, bodies over the engine's size limit and over NATS's
 * max_payload, wrong types and shapes, deep nesting, malformed batches. Each gets an error reply
 * (VALIDATION_ERROR), never a crash: the region process stays up, a valid request afterwards
 * succeeds, and the warehouse's state is exactly what it was before.
 */
import * as net from 'node:net';
import { decode, encode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DarkstoreClient, ValidationError, type WarehouseClient } from '../../client/index.ts';
import { BATCH_MAX, commandSubject, peekSubject, querySubject } from '../../service/index.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';
import { berlinConfig, type RegionProcess, startRegionProcess } from './region-process.ts';

const CMD = commandSubject('berlin', 'mitte');
const QUERY = querySubject('berlin', 'mitte');
const PEEK = peekSubject('berlin', 'mitte');
const RESERVE = { type: 'reserve', key: 'wire-valid', lines: [{ sku: 'sku-00003', quantity: 1 }], ttlMs: 60_000 };

let nats: NatsServer;
let region: RegionProcess;
let nc: NatsConnection;
let client: DarkstoreClient;
let mitte: WarehouseClient;

beforeAll(async () => {
  nats = await startNatsServer();
  region = await startRegionProcess({ natsUrl: nats.url, config: berlinConfig() });
  nc = await connect({ servers: nats.url });
  client = new DarkstoreClient(nc, { requestTimeoutMs: 5_000, retries: 0 });
  mitte = client.warehouse('berlin', 'mitte');
});

afterAll(async () => {
  await nc?.close();
  await region?.cleanup();
  await nats?.stop();
});

/** A small deterministic generator (mulberry32), so a failing body can be found again. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Reply {
  ok: boolean;
  error?: { code: string; path?: string; message: string };
}

async function ask(subject: string, body: Uint8Array): Promise<Reply> {
  const msg = await nc.request(subject, body, { timeout: 5_000 });
  return decode(msg.data) as Reply;
}

/** Sends each body on both subjects in parallel and returns the error codes seen. */
async function codesFor(bodies: Uint8Array[]): Promise<Set<string>> {
  const replies = await Promise.all(bodies.flatMap((b) => [ask(CMD, b), ask(QUERY, b)]));
  return new Set(replies.map((r) => (r.ok ? 'OK' : (r.error?.code ?? 'NO CODE'))));
}

/** What a reader can see of the warehouse: every SKU's stock and version, and the floor. */
async function observable(): Promise<unknown> {
  return { changes: await mitte.changes(0), floor: await mitte.fulfillment() };
}

/** `[[[...]]]` nested `depth` levels deep, as raw msgpack (fixarray of one, then nil). */
function nestedArrays(depth: number): Uint8Array {
  const bytes = new Uint8Array(depth + 1).fill(0x91);
  bytes[depth] = 0xc0;
  return bytes;
}

describe('hostile input over NATS', () => {
  let before: unknown;

  beforeAll(async () => {
    before = await observable();
  });

  it('answers random bytes with VALIDATION_ERROR', async () => {
    const next = random(42);
    const bodies = Array.from({ length: 300 }, () => {
      const body = new Uint8Array(1 + Math.floor(next() * 512));
      for (let i = 0; i < body.length; i++) body[i] = Math.floor(next() * 256);
      return body;
    });
    expect(await codesFor([new Uint8Array(0), ...bodies])).toEqual(new Set(['VALIDATION_ERROR']));
  });

  it('answers every truncation of a valid command with VALIDATION_ERROR', async () => {
    const whole = encode({ ...RESERVE, key: 'wire-truncated' });
    const prefixes = Array.from({ length: whole.length - 1 }, (_, n) => whole.subarray(0, n + 1));
    expect(await codesFor(prefixes)).toEqual(new Set(['VALIDATION_ERROR']));
    expect(await mitte.command('wire-truncated').catch((e: unknown) => e)).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses bodies over the engine limit, and NATS refuses those over max_payload', async () => {
    const big = encode({ ...RESERVE, key: 'wire-big', note: 'x'.repeat(300 * 1024) });
    expect(await ask(CMD, big)).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR' } });
    expect(await ask(QUERY, encode({ type: 'availability', skus: ['x'.repeat(300 * 1024)] }))).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_ERROR' },
    });
    // Over 1 MB: nats.js refuses to publish it (the server's max_payload), and the typed client
    // refuses it before trying.
    const huge = new Uint8Array(1_100_000);
    await expect(nc.request(CMD, huge, { timeout: 1_000 })).rejects.toThrow(/max_payload/);
    const tooMany = Array.from({ length: 600 }, (_, i) => ({
      type: 'receipt' as const,
      receiptId: `huge-${i}`,
      lines: [{ sku: 'sku-00003', quantity: 1 }],
      key: `huge-${i}-${'k'.repeat(100)}`,
      note: 'n'.repeat(2_000),
    }));
    await expect(mitte.batch(tooMany)).rejects.toBeInstanceOf(ValidationError);
    // A raw client that ignores the limit is cut off by the server itself.
    expect(await rawOversizedPublish(nats.port, CMD, 2 * 1024 * 1024)).toMatch(/Maximum Payload/i);
  });

  it('answers wrong types, wrong shapes, deep nesting and malformed batches with VALIDATION_ERROR', async () => {
    const deep = nestedArrays(100_000);
    const shapes: unknown[] = [
      null,
      42,
      'reserve',
      [RESERVE],
      { type: 'no.such.command', key: 'k' },
      { ...RESERVE, key: 7 },
      { ...RESERVE, lines: 'sku-00003' },
      { ...RESERVE, lines: [{ sku: 'sku-00003', quantity: '1' }] },
      { ...RESERVE, lines: [{ sku: 'sku-00003', quantity: 1.5 }] },
      { ...RESERVE, lines: [{ sku: 'sku-00003', quantity: Number.NaN }] },
      { ...RESERVE, ttlMs: -1 },
      { ...RESERVE, key: 'x'.repeat(10_000) },
      { ...RESERVE, lines: [{ sku: 'sku-00003', quantity: 1, deeper: [[[[[[[[[[1]]]]]]]]]] }] },
      { type: 'batch', commands: 'all of them' },
      { type: 'batch', commands: [] },
      { type: 'batch', commands: Array.from({ length: BATCH_MAX + 1 }, () => ({ type: 'tick' })) },
      { type: 'availability', skus: 'sku-00003' },
      { type: 'changes', sinceVersion: 'zero' },
      { type: 'order', orderId: { $ne: null } },
    ];
    const bodies = [...shapes.map((s) => encode(s)), deep, encode({ ...RESERVE, lines: [{ sku: 'a', quantity: 1 }] })];
    const replies = await Promise.all(bodies.map((b) => ask(CMD, b)));
    const queries = await Promise.all(bodies.map((b) => ask(QUERY, b)));
    // The last body is well formed with an unknown SKU: NOT_FOUND as a command, invalid as a query.
    expect(replies.slice(0, -1).map((r) => r.error?.code)).toEqual(bodies.slice(0, -1).map(() => 'VALIDATION_ERROR'));
    expect(replies.at(-1)?.error?.code).toBe('NOT_FOUND');
    expect(new Set(queries.map((r) => r.error?.code))).toEqual(new Set(['VALIDATION_ERROR']));
    // The runtime's own tick is refused from outside (today as UNAVAILABLE, see the report).
    expect(await ask(CMD, encode({ type: 'tick' }))).toMatchObject({ ok: false });
    // A batch whose commands are each bad gets one error per command, in order (the last one nested
    // 100,000 levels deep, spliced in as raw msgpack).
    const head = encode({ type: 'batch', commands: [42, { ...RESERVE, ttlMs: 'soon' }, null] });
    const body = Buffer.concat([head.subarray(0, head.length - 1), deep]);
    const batch = decode((await nc.request(CMD, body, { timeout: 5_000 })).data) as { value: { results: Reply[] } };
    expect(batch.value.results.map((r) => r.error?.code)).toEqual([
      'VALIDATION_ERROR',
      'VALIDATION_ERROR',
      'VALIDATION_ERROR',
    ]);
  });

  it('stays up with its state unchanged, and serves the next valid request', async () => {
    expect(region.running()).toBe(true);
    expect(await observable()).toEqual(before);
    const held = await mitte.reserve({ lines: [{ sku: 'sku-00003', quantity: 1 }], ttlMs: 60_000 });
    expect(held.lines).toMatchObject([{ sku: 'sku-00003', quantity: 1 }]);
    expect((await mitte.availability(['sku-00003'])).items[0]).toMatchObject({ onHand: 20, reserved: 1 });
  });

  it('answers a peek from memory like a query, and refuses junk there too', async () => {
    const body = encode({ type: 'availability', skus: ['sku-00003'] });
    const [peeked, queried] = await Promise.all([ask(PEEK, body), ask(QUERY, body)]);
    expect(peeked).toEqual(queried);
    expect((await ask(PEEK, new Uint8Array([0xc1]))).error?.code).toBe('VALIDATION_ERROR');
  });
});

/**
 * Speaks the NATS protocol by hand to announce a publication larger than max_payload (which nats.js
 * would refuse to send) and returns what the server answered before closing the connection.
 */
function rawOversizedPublish(port: number, subject: string, bytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => finish(), 5_000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    };
    socket.on('error', reject);
    socket.on('close', finish);
    socket.on('data', (chunk) => {
      const first = received.length === 0;
      received += chunk.toString();
      if (first) {
        socket.write('CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\n');
        // The server judges the size from the PUB line: it answers and closes before any body.
        socket.write(`PUB ${subject} _INBOX.raw ${bytes}\r\n`);
      }
      if (received.includes('-ERR')) finish();
    });
  });
}
