/**
 * The durable rows of the `engine` suite: commands through the real runtime and WAL with group
 * commit (`engine.durable`, with latency percentiles), WAL replay on recovery (`engine.replay`),
 * and the longest command-loop stall while a snapshot of 5,000 SKUs and 100,000 open reservations
 * is written (`engine.snapshot.stall`, by the worker checkpointer; the inline checkpointer beside it
 * shows what the worker saves). All files live in the runner's temp dirs.
 */
import * as hdr from 'hdr-histogram-js';
import type { Result, StampedCommand } from '../engine/index.ts';
import { CHECKPOINT_EVERY_COMMANDS, DurableWarehouse, recoverWarehouse } from '../persistence/index.ts';
import { fmt } from './measure.ts';
import { idleStall, longestStall } from './stall.ts';
import type { Row, SuiteContext } from './suite.ts';
import type { Workload } from './workload.ts';

export const DURABLE_TARGET = 100_000;
export const DURABLE_VS_SQLITE_TARGET = 10;
export const REPLAY_TARGET = 500_000;
export const SNAPSHOT_STALL_TARGET_MS = 20;

/** Concurrent clients in the durable run: each submits reserve, then commit, then the next pair. */
const DURABLE_CLIENTS = 2_048;
const STALL_RESERVATIONS = 100_000;

async function seed(w: DurableWarehouse, workload: Workload): Promise<void> {
  for (const command of workload.setupCommands()) {
    const r = await w.submit(command);
    if (!r.ok) throw new Error(`setup failed: ${r.error.message}`);
  }
}

function reservationIdOf(result: Result): string {
  if (!result.ok || result.value.kind !== 'reserved') throw new Error(`reserve failed: ${JSON.stringify(result)}`);
  return result.value.reservationId;
}

/** Reserve+commit pairs from many clients through validation, WAL and fdatasync, for `durationMs`. */
async function durableRun(ctx: SuiteContext, workload: Workload, checkpoint: 'worker' | 'off') {
  const dataDir = ctx.tempDir('durable');
  const w = DurableWarehouse.open({ dataDir, warehouseId: 'W1', checkpoint });
  await seed(w, workload);
  const durationMs = ctx.quick ? 500 : 5_000;
  const latency = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let commands = 0;
  let key = 0;
  const before = { ...w.runtime.stats };
  const startMs = performance.now();
  const client = async () => {
    while (performance.now() - startMs < durationMs) {
      const line = workload.nextLine();
      let t0 = performance.now();
      const reserved = await w.submit({ type: 'reserve', key: `d${++key}`, lines: [line], ttlMs: 900_000 });
      latency.recordValue(Math.round((performance.now() - t0) * 1_000));
      t0 = performance.now();
      const committed = await w.submit({ type: 'commit', key: `d${++key}`, reservationId: reservationIdOf(reserved) });
      latency.recordValue(Math.round((performance.now() - t0) * 1_000));
      if (!committed.ok) throw new Error(`commit failed: ${committed.error.message}`);
      commands += 2;
    }
  };
  await Promise.all(Array.from({ length: DURABLE_CLIENTS }, client));
  const elapsedMs = performance.now() - startMs;
  const stats = w.runtime.stats;
  const batches = stats.batches - before.batches;
  const syncs = stats.syncs - before.syncs;
  await w.close({ snapshot: false });
  const note =
    `${fmt(DURABLE_CLIENTS)} clients each submitting reserve then commit (validation, apply, WAL write, fdatasync ` +
    `covering every batch written before it, replies after it), ${checkpoint === 'worker' ? 'snapshots by the worker (default cadence: 100,000 commands and 30 s)' : 'no snapshots'}; ${fmt(commands)} commands in ` +
    `${fmt(batches)} batches and ${fmt(syncs)} fdatasyncs, ${w.runtime.checkpointsWritten} checkpoints; latency p50 ${fmt(latency.getValueAtPercentile(50) / 1_000, 1)} ms, ` +
    `p99 ${fmt(latency.getValueAtPercentile(99) / 1_000, 1)} ms, max ${fmt(latency.maxValue / 1_000, 1)} ms.`;
  return { perSec: (commands * 1_000) / elapsedMs, p99Ms: latency.getValueAtPercentile(99) / 1_000, note };
}

/**
 * `engine.durable`: the realistic case, with the snapshot worker replaying every command on the
 * second core; `engine.durable.nosnapshot` shows the single writer and the log alone.
 */
export async function durableRows(ctx: SuiteContext, workload: Workload): Promise<Row[]> {
  const withSnapshots = await durableRun(ctx, workload, 'worker');
  const alone = await durableRun(ctx, workload, 'off');
  return [
    {
      id: 'engine.durable',
      value: withSnapshots.perSec,
      unit: 'commands/s',
      baseline: 'baseline.sqlite.reserve',
      target: { op: '>=', value: DURABLE_TARGET },
      ratioTarget: { op: '>=', value: DURABLE_VS_SQLITE_TARGET },
      note: withSnapshots.note,
    },
    { id: 'engine.durable.p99', value: withSnapshots.p99Ms, unit: 'ms' },
    {
      id: 'engine.durable.nosnapshot',
      value: alone.perSec,
      unit: 'commands/s',
      baseline: 'baseline.sqlite.reserve',
      note: alone.note,
    },
  ];
}

/** Writes `count` reserve/commit records straight into a WAL (fast set-up for the replay row). */
function writeWal(dataDir: string, workload: Workload, count: number): void {
  const { warehouse, wal } = recoverWarehouse(dataDir, 'W1');
  const atMs = Date.UTC(2025, 0, 1);
  let batch: StampedCommand[] = [];
  const append = (stamped: StampedCommand): Result => {
    const result = warehouse.apply(stamped);
    batch.push(stamped);
    if (batch.length === 4_096) {
      wal.appendDurable(batch);
      batch = [];
      warehouse.drainEvents();
      warehouse.drainLedger();
    }
    return result;
  };
  const next = () => warehouse.state.lastSeq + 1;
  for (const command of workload.setupCommands()) append({ seq: next(), atMs, command });
  for (let k = 0; warehouse.state.lastSeq < count; k++) {
    const reserved = append({ seq: next(), atMs, command: workload.reserveCommand(`w${k}`) });
    append({ seq: next(), atMs, command: { type: 'commit', key: `c${k}`, reservationId: reservationIdOf(reserved) } });
  }
  if (batch.length > 0) wal.appendDurable(batch);
  wal.close();
}

/** Recovers a warehouse whose WAL holds `records` records (no snapshot); records per second. */
function replayRate(ctx: SuiteContext, workload: Workload, records: number): { perSec: number; note: string } {
  const dataDir = ctx.tempDir('replay');
  writeWal(dataDir, workload, records);
  const { wal, report } = recoverWarehouse(dataDir, 'W1');
  wal.close();
  return {
    perSec: (report.wal.replayed * 1_000) / report.durationMs,
    note: `${fmt(report.wal.replayed)} records (5,000 SKU definitions, then reserve/commit pairs) read, checksummed, decoded and applied in ${fmt(report.durationMs)} ms`,
  };
}

/**
 * `engine.replay`: recovery from the WAL alone. Recovery replays what came after the newest
 * snapshot, at most about two checkpoint intervals (200,000 records); `engine.replay.1m` replays a
 * million, where the core's maps have grown large.
 */
export async function replayRows(ctx: SuiteContext, workload: Workload): Promise<Row[]> {
  const usual = replayRate(ctx, workload, ctx.quick ? 20_000 : 2 * CHECKPOINT_EVERY_COMMANDS);
  const long = replayRate(ctx, workload, ctx.quick ? 50_000 : 1_000_000);
  return [
    {
      id: 'engine.replay',
      value: usual.perSec,
      unit: 'records/s',
      target: { op: '>=', value: REPLAY_TARGET },
      note: `${usual.note}.`,
    },
    { id: 'engine.replay.1m', value: long.perSec, unit: 'records/s', baseline: 'engine.replay', note: `${long.note}.` },
  ];
}

/** `engine.snapshot.stall`: a snapshot of 5,000 SKUs and 100,000 open reservations under load. */
export async function snapshotStallRows(ctx: SuiteContext, workload: Workload): Promise<Row[]> {
  const rows: Row[] = [];
  const open = ctx.quick ? 10_000 : STALL_RESERVATIONS;
  for (const mode of ['worker', 'inline'] as const) {
    const dataDir = ctx.tempDir(`stall-${mode}`);
    const w = DurableWarehouse.open({ dataDir, warehouseId: 'W1', checkpoint: mode, checkpointEveryCommands: 1e12 });
    await seed(w, workload);
    const pending: Promise<Result>[] = [];
    for (let i = 0; i < open; i++) {
      pending.push(w.submit({ type: 'reserve', key: `o${i}`, lines: [workload.nextLine()], ttlMs: 3_600_000 }));
    }
    await Promise.all(pending);
    // One key sequence for both watches: a reused key would be answered from its idempotency record.
    let key = 0;
    const reserve = () => w.submit({ type: 'reserve', key: `s${++key}`, lines: [workload.nextLine()], ttlMs: 900_000 });
    const idleMs = await idleStall(reserve);
    let snapshotMs = 0;
    const stallMs = await longestStall(reserve, async () => {
      const t0 = performance.now();
      await w.checkpointNow();
      snapshotMs = performance.now() - t0;
    });
    const reservations = w.runtime.warehouse.state.reservations.size;
    await w.close({ snapshot: false });
    const id = mode === 'worker' ? 'engine.snapshot.stall' : 'engine.snapshot.stall.inline';
    const row: Row = {
      id,
      value: stallMs,
      unit: 'ms',
      note: `${mode} checkpointer: snapshot of ${fmt(workload.skus.length)} SKUs and ${fmt(reservations)} open reservations took ${fmt(snapshotMs)} ms; longest loop stall ${fmt(stallMs, 1)} ms while it ran, ${fmt(idleMs, 1)} ms in the same load without a snapshot.`,
    };
    if (mode === 'worker') row.target = { op: '<', value: SNAPSHOT_STALL_TARGET_MS };
    rows.push(row);
  }
  return rows;
}
