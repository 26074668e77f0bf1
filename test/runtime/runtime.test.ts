/**
 * The single-writer runtime over a real WAL on real files: group commit (replies only after the
 * batch's fdatasync), the hot-SKU race, expiry by the runtime's own timer, backpressure, bad input,
 * reads from memory, and a log failure that takes the warehouse out instead of answering.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkAll, RETRY_AFTER_MS, type Result, type StampedCommand, WarehouseRuntime } from '../../engine/index.ts';
import { DurableWarehouse, recoverWarehouse } from '../../persistence/index.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkstore-runtime-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const location = { zone: 'A', aisle: 1, bay: 1, level: 0 };
function defineSku(sku: string, safetyStock = 0) {
  return {
    type: 'sku.upsert',
    key: `def-${sku}`,
    sku,
    ownerId: 'm1',
    name: sku,
    priceCents: 100,
    location,
    safetyStock,
    substitutes: [],
  };
}
function receive(sku: string, quantity: number, id = `rc-${sku}`) {
  return { type: 'receipt', key: id, receiptId: id, lines: [{ sku, quantity }] };
}
function reserve(key: string, sku: string, quantity = 1, ttlMs = 600_000) {
  return { type: 'reserve', key, lines: [{ sku, quantity }], ttlMs };
}

async function seeded(
  dataDir: string,
  onHand = 100,
  options: Partial<Parameters<typeof DurableWarehouse.open>[0]> = {},
) {
  const w = DurableWarehouse.open({
    dataDir,
    warehouseId: 'W1',
    checkpoint: 'off',
    assertInvariants: true,
    ...options,
  });
  expect((await w.submit(defineSku('hot'))).ok).toBe(true);
  expect((await w.submit(receive('hot', onHand))).ok).toBe(true);
  return w;
}

describe('hot SKU', () => {
  it('10,000 concurrent reserves of one unit against 100 units: exactly 100 succeed, durably', async () => {
    const dataDir = tempDir();
    const w = await seeded(dataDir);
    const results = await Promise.all(Array.from({ length: 10_000 }, (_, i) => w.submit(reserve(`k${i}`, 'hot'))));
    const ok = results.filter((r) => r.ok);
    const codes = new Set(results.filter((r) => !r.ok).map((r) => (r.ok ? '' : r.error.code)));
    expect(ok).toHaveLength(100);
    expect([...codes]).toEqual(['INSUFFICIENT_STOCK']);
    expect(w.query({ type: 'availability', skus: ['hot'] })).toMatchObject({
      ok: true,
      value: { items: [{ sku: 'hot', onHand: 100, reserved: 100, available: 0 }] },
    });
    await w.close({ snapshot: false });
    const { warehouse, wal } = recoverWarehouse(dataDir, 'W1');
    wal.close();
    expect(warehouse.availability(['hot']).items[0]).toMatchObject({ reserved: 100, available: 0 });
    expect(warehouse.state.reservations.size).toBe(100);
    checkAll(warehouse.state);
  });
});

describe('group commit', () => {
  it('replies only after an fdatasync covers the command, and one sync covers several batches', async () => {
    const dataDir = tempDir();
    const { warehouse, wal } = recoverWarehouse(dataDir, 'W1');
    let appendedThrough = 0;
    let durableThrough = 0;
    const appends: number[] = [];
    const syncs: number[] = [];
    const log = {
      append(records: readonly StampedCommand[]) {
        wal.append(records);
        appendedThrough = records[records.length - 1]?.seq ?? appendedThrough;
        appends.push(records.length);
      },
      sync(done: (error?: Error) => void) {
        const covers = appendedThrough;
        wal.sync((error) => {
          if (error === undefined) durableThrough = covers;
          syncs.push(covers);
          done(error);
        });
      },
    };
    const runtime = new WarehouseRuntime(warehouse, { log, batchMax: 64 });
    await runtime.submit(defineSku('a'));
    await runtime.submit(receive('a', 10_000));
    appends.length = 0;
    syncs.length = 0;
    const early: number[] = [];
    const reads: Promise<{ seqAtCall: number; durableAtAnswer: number }>[] = [];
    const replies = Array.from({ length: 2_000 }, (_, i) =>
      runtime.submit(reserve(`g${i}`, 'a')).then((r) => {
        // Reservation ids are r<seq>: the reply's own command must be durable already.
        const seq = r.ok && r.value.kind === 'reserved' ? Number(r.value.reservationId.slice(1)) : 0;
        if (seq === 0 || seq > durableThrough) early.push(i);
        if (i % 100 === 0) {
          // A read made while later batches are applied but not yet synced is held until they are.
          const seqAtCall = runtime.lastSeq;
          reads.push(
            runtime
              .read({ type: 'availability', skus: ['a'] })
              .then(() => ({ seqAtCall, durableAtAnswer: durableThrough })),
          );
        }
        return r;
      }),
    );
    const results = await Promise.all(replies);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(early).toEqual([]);
    expect(appends.reduce((a, b) => a + b, 0)).toBe(2_000);
    expect(Math.max(...appends)).toBeLessThanOrEqual(64);
    // Applying went on while syncs were in flight: fewer syncs than batches.
    expect(syncs.length).toBeLessThan(appends.length);
    expect(syncs.at(-1)).toBe(2_002);
    const answered = await Promise.all(reads);
    for (const { seqAtCall, durableAtAnswer } of answered) expect(durableAtAnswer).toBeGreaterThanOrEqual(seqAtCall);
    // At least one read found later commands applied but not durable, so the hold was exercised.
    expect(answered.some(({ seqAtCall }) => seqAtCall > 66)).toBe(true);
    await runtime.close();
    wal.close();
    const reopened = recoverWarehouse(dataDir, 'W1');
    reopened.wal.close();
    expect(reopened.report.wal.replayed).toBe(2_002);
  });

  it('holds a read of a command key still queued until that command is applied and durable', async () => {
    const dataDir = tempDir();
    const { warehouse, wal } = recoverWarehouse(dataDir, 'W1');
    const runtime = new WarehouseRuntime(warehouse, { log: wal });
    // Queued, not applied yet (the loop has not turned): the key is on its way, not unknown.
    const defined = runtime.submit(defineSku('a'));
    expect(runtime.query({ type: 'command', key: 'def-a' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const read = await runtime.read({ type: 'command', key: 'def-a' });
    expect(read).toMatchObject({ ok: true });
    expect(read).toEqual({ ok: true, value: await defined });
    await runtime.close();
    wal.close();
  });

  it('answers a read of an unknown command key at once, and holds one of a key not yet durable', async () => {
    const dataDir = tempDir();
    const { warehouse, wal } = recoverWarehouse(dataDir, 'W1');
    // A log whose syncs wait until the test lets them go.
    const held: (() => void)[] = [];
    const log = {
      append: (records: readonly StampedCommand[]) => wal.append(records),
      sync: (done: (error?: Error) => void) => held.push(() => wal.sync(done)),
    };
    const release = () => {
      for (const go of held.splice(0)) go();
    };
    const runtime = new WarehouseRuntime(warehouse, { log });
    const defined = runtime.submit(defineSku('a'));
    await vi.waitFor(() => expect(held).toHaveLength(1));
    // Applied, not durable: its result must not be read before the sync that covers it.
    let known: unknown;
    const knownRead = runtime.read({ type: 'command', key: 'def-a' }).then((r) => {
      known = r;
    });
    const unknown = await runtime.read({ type: 'command', key: 'never-sent' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    await new Promise((resolve) => setImmediate(resolve));
    expect(known).toBeUndefined();
    release();
    expect((await defined).ok).toBe(true);
    await knownRead;
    expect(known).toMatchObject({ ok: true });
    await runtime.close();
    wal.close();
  });

  it('takes the warehouse out when the log fails, answering UNAVAILABLE instead of guessing', async () => {
    const dataDir = tempDir();
    const fatal: unknown[] = [];
    const w = await seeded(dataDir, 100, { onFatal: (e) => fatal.push(e) });
    w.wal.close(); // the log's file descriptor is gone: the next fdatasync fails for real
    const results = await Promise.all([w.submit(reserve('x1', 'hot')), w.submit(reserve('x2', 'hot'))]);
    for (const r of results) expect(r).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(fatal).toHaveLength(1);
    const later = await w.submit(reserve('x3', 'hot'));
    expect(later).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    // A failed warehouse stays out until someone acts: its refusals name no time to come back.
    for (const r of [...results, later]) expect(r.ok ? undefined : r.error).not.toHaveProperty('retryAfterMs');
    expect(w.query({ type: 'availability', skus: ['hot'] })).toMatchObject({
      ok: false,
      error: { code: 'UNAVAILABLE' },
    });
    // Nothing of the failed batch is on disk: recovery shows the state before it.
    const { warehouse, wal } = recoverWarehouse(dataDir, 'W1');
    wal.close();
    expect(warehouse.availability(['hot']).items[0]).toMatchObject({ reserved: 0, onHand: 100 });
  });
});

describe('boundary', () => {
  it('rejects bad input without logging it, and answers reads without touching the log', async () => {
    const w = await seeded(tempDir());
    const before = w.wal.lastSeq;
    const bad: unknown[] = [
      null,
      42,
      { type: 'reserve', key: 'b1', lines: [{ sku: 'hot', quantity: 0.5 }], ttlMs: 5_000 },
      { type: 'reserve', key: 'b2', lines: [{ sku: 'hot', quantity: Number.NaN }], ttlMs: 5_000 },
      { type: 'launch-missiles', key: 'b3' },
      { type: 'tick' },
    ];
    for (const input of bad) {
      const r = await w.submit(input);
      expect(r.ok).toBe(false);
    }
    expect(w.query({ type: 'availability', skus: ['hot'] }).ok).toBe(true);
    expect(w.query({ type: 'changes', sinceVersion: 0 }).ok).toBe(true);
    expect(w.query({ type: 'nope' })).toMatchObject({ ok: false, error: { code: 'VALIDATION_ERROR', path: 'type' } });
    expect(w.wal.lastSeq).toBe(before);
    await w.close({ snapshot: false });
  });

  it('a failed warehouse closes its log only after the sync in flight, which answers the batch it covers', async () => {
    const dataDir = tempDir();
    const w = await seeded(dataDir, 100, { batchMax: 1 });
    // Four slow hashes hold libuv's four threads: the next fdatasync waits in the pool's queue.
    const busy = Array.from(
      { length: 4 },
      () => new Promise((resolve) => crypto.pbkdf2('p', 's', 300_000, 32, 'sha256', resolve)),
    );
    const append = w.wal.append.bind(w.wal);
    let appends = 0;
    w.wal.append = (records) => {
      // The second batch's write fails (a full disk): the warehouse fails while the first one's sync waits.
      if (++appends === 2) throw new Error('ENOSPC: no space left on device');
      append(records);
    };
    const events: string[] = [];
    const first = w.submit(reserve('s1', 'hot')).then((r) => {
      events.push(`s1 ${r.ok ? 'ok' : r.error.code}`);
      return r;
    });
    const second = w.submit(reserve('s2', 'hot'));
    expect(await second).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    await w.close({ snapshot: false }).then(() => events.push('closed'));
    // Before the change, the close returned at once and closed the fd under the queued fdatasync.
    expect(events).toEqual(['s1 ok', 'closed']);
    expect((await first).ok).toBe(true);
    await Promise.all(busy);
    const { warehouse, wal } = recoverWarehouse(dataDir, 'W1');
    wal.close();
    expect(warehouse.availability(['hot']).items[0]).toMatchObject({ reserved: 1 });
  });

  it('answers UNAVAILABLE past the queue bound and keeps every accepted command', async () => {
    const w = await seeded(tempDir(), 1_000, { queueMax: 100 });
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => w.submit(reserve(`q${i}`, 'hot'))));
    const refused = results.filter((r) => !r.ok && r.error.code === 'UNAVAILABLE');
    const accepted = results.filter((r) => r.ok);
    expect(refused.length).toBe(400);
    // Backpressure passes: each refusal says when to ask again.
    for (const r of refused) expect(r).toMatchObject({ error: { retryAfterMs: RETRY_AFTER_MS.queueFull } });
    expect(accepted.length).toBe(100);
    expect(w.runtime.stats.rejectedQueueFull).toBe(400);
    expect(w.query({ type: 'availability', skus: ['hot'] })).toMatchObject({ value: { items: [{ reserved: 100 }] } });
    await w.close({ snapshot: false });
  });

  it('drains queued commands on close, then refuses new ones', async () => {
    const w = await seeded(tempDir());
    const pending = Array.from({ length: 50 }, (_, i) => w.submit(reserve(`c${i}`, 'hot')));
    const closing = w.close({ snapshot: false });
    const late: Result = await w.submit(reserve('late', 'hot'));
    expect(late).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE', retryAfterMs: RETRY_AFTER_MS.restarting } });
    expect((await Promise.all(pending)).every((r) => r.ok)).toBe(true);
    await closing;
  });
});

describe('expiry', () => {
  it('expires a reservation through the runtime timer, without any command arriving', async () => {
    const w = await seeded(tempDir());
    const r = await w.submit(reserve('short', 'hot', 5, 1_000));
    expect(r.ok).toBe(true);
    const id = r.ok && r.value.kind === 'reserved' ? r.value.reservationId : '';
    const seqBefore = w.wal.lastSeq;
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(w.query({ type: 'reservation', reservationId: id })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND', reason: 'expired' },
    });
    expect(w.query({ type: 'availability', skus: ['hot'] })).toMatchObject({ value: { items: [{ reserved: 0 }] } });
    // The tick that expired it went through the WAL, so replay expires it at the same point.
    expect(w.wal.lastSeq).toBe(seqBefore + 1);
    await w.close({ snapshot: false });
  });
});

describe('checkpoint cadence', () => {
  it('snapshots after enough commands and enough time, or after ten times the commands at once', async () => {
    let now = 1_000_000;
    const snapshots: number[] = [];
    const w = DurableWarehouse.open({
      dataDir: tempDir(),
      warehouseId: 'W1',
      checkpoint: 'inline',
      clock: () => now,
      checkpointEveryCommands: 20,
      checkpointIntervalMs: 60_000,
      onCheckpoint: (r) => snapshots.push(r.walSeq),
    });
    await w.submit(defineSku('hot'));
    await w.submit(receive('hot', 10_000));
    const settled = () => new Promise((resolve) => setTimeout(resolve, 20));
    for (let i = 0; i < 30; i++) await w.submit(reserve(`a${i}`, 'hot'));
    await settled();
    expect(snapshots).toEqual([]); // enough commands, not enough time
    now += 60_000;
    await w.submit(reserve('b0', 'hot'));
    await vi.waitFor(() => expect(snapshots).toEqual([33]));
    for (let i = 0; i < 199; i++) await w.submit(reserve(`c${i}`, 'hot'));
    await settled();
    expect(snapshots).toEqual([33]);
    await w.submit(reserve('c199', 'hot')); // 200 commands since: ten times the count, time or not
    await vi.waitFor(() => expect(snapshots).toEqual([33, 233]));
    await w.close({ snapshot: false });
  });

  it.each(['inline', 'worker'] as const)(
    'snapshots only as far as the host limit allows, and further at the next commit once it moves (%s)',
    async (mode) => {
      const snapshots: number[] = [];
      let limit = 0;
      const dataDir = tempDir();
      const w = DurableWarehouse.open({
        dataDir,
        warehouseId: 'W1',
        checkpoint: mode,
        checkpointEveryCommands: 10,
        checkpointIntervalMs: 0,
        checkpointLimit: () => limit,
        onCheckpoint: (r) => snapshots.push(r.walSeq),
      });
      await w.submit(defineSku('hot'));
      await w.submit(receive('hot', 10_000));
      for (let i = 0; i < 30; i++) await w.submit(reserve(`a${i}`, 'hot'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(snapshots).toEqual([]);
      // Through 20 of the 33 durable: a snapshot of what the limit allows, not of everything durable.
      limit = 20;
      await w.submit(reserve('b0', 'hot'));
      await vi.waitFor(() => expect(snapshots).toEqual([20]));
      limit = Number.POSITIVE_INFINITY;
      await w.submit(reserve('b1', 'hot'));
      await vi.waitFor(() => expect(snapshots).toEqual([20, 34]));
      // A snapshot asked for now (a stop's) is bounded the same way.
      limit = 30;
      await w.submit(reserve('b2', 'hot'));
      await w.checkpointNow();
      expect(snapshots).toEqual([20, 34]);
      limit = Number.POSITIVE_INFINITY;
      await w.close();
      expect(snapshots).toEqual([20, 34, 35]);
    },
  );
});

describe('orders across restarts', () => {
  it('recovers orders from the WAL and from a snapshot, with their lifecycle and held stock', async () => {
    const dataDir = tempDir();
    const w = await seeded(dataDir);
    const placed = await w.submit({
      type: 'order.place',
      key: 'place-1',
      orderId: 'o1',
      customerId: 'c1',
      address: { lat: 52.5, lon: 13.4 },
      lines: [{ sku: 'hot', quantity: 3 }],
      paymentToken: 'tok',
      ttlMs: 600_000,
    });
    expect(placed).toMatchObject({ ok: true, value: { state: 'reserved' } });
    const authorized = { type: 'order.event', key: 'ev-1', orderId: 'o1', eventId: 'e1', expectedState: 'reserved' };
    expect(await w.submit({ ...authorized, event: 'payment.authorized', authorizationId: 'auth-9' })).toMatchObject({
      ok: true,
    });
    await w.close({ snapshot: false });
    for (const snapshot of [false, true]) {
      const reopened = DurableWarehouse.open({ dataDir, warehouseId: 'W1', checkpoint: 'inline' });
      expect(await reopened.read({ type: 'order', orderId: 'o1' })).toMatchObject({
        ok: true,
        value: { state: 'reserved', authorizationId: 'auth-9', lifecycle: { value: 'reserved.confirmed' } },
      });
      expect(reopened.query({ type: 'availability', skus: ['hot'] })).toMatchObject({
        value: { items: [{ reserved: 3 }] },
      });
      await reopened.close({ snapshot });
    }
  });
});
