/**
 * Crash tests: a real load-writer process (`darkstore writer`) on ONE data directory that
 * accumulates across rounds, killed with SIGKILL at seeded random moments: after READY, during its
 * own startup recovery, and the instant its checkpoint worker starts writing a snapshot into SQLite
 * (those rounds run with --limit, so the writer stops loading and waits for its periodic and closing
 * snapshots; the acks of a round stay bounded, since every ack is an idempotency record kept 24 h).
 * After every kill this process recovers the warehouse and checks that every acknowledged command
 * is there with the outcome and reservation id the writer printed, that the invariants hold, that
 * recovery is deterministic (two recoveries from the same files, and a recovery from the snapshot a
 * close wrote, give byte-identical state) and that the newest snapshot agrees with the ledger.
 * Later rounds therefore recover from snapshots and WAL left behind by earlier killed writers.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { onWriterLines } from '../../cli/index.ts';
import { checkAll, type Result } from '../../engine/index.ts';
import {
  DurableWarehouse,
  inspectDataDir,
  type SnapshotRow,
  SnapshotStore,
  verifyWarehouse,
  type WarehouseInspection,
  warehousePaths,
} from '../../persistence/index.ts';
import { Random } from '../../sim/index.ts';
import { BIN, expectSameState, makeTempDir, outcomeOf, removeTempDirs, reservationOf, stateBytes } from './helpers.ts';

const ROUNDS = 22;
const ID = 'W1';
/** How long a checkpoint-write round waits for the writer's first snapshot write before killing anyway. */
const CHECKPOINT_WAIT_MS_MAX = 20_000;
/** The writer checkpoints every 2,000 commands: checkpoint-write rounds stop it a little after that. */
const CHECKPOINT_ROUND_LIMIT_MIN = 2_100;
const CHECKPOINT_ROUND_LIMIT_MAX = 3_000;

/** Where in the writer's life the kill lands. */
type KillPlan = 'after-ready' | 'checkpoint-write' | 'startup';
/** How this process closes the warehouse after checking it. */
type ClosePlan = 'off' | 'inline' | 'inline+snapshot';

function killPlanOf(round: number): KillPlan {
  if (round % 4 === 3) return 'checkpoint-write';
  if (round === 5 || round === 13) return 'startup';
  return 'after-ready';
}

const closePlans: ClosePlan[] = ['off', 'inline', 'inline+snapshot'];

interface Ack {
  outcome: string;
  reservationId: string;
}

interface WriterRun {
  acks: Map<string, Ack>;
  /** The kill was sent from inside a snapshot write of the writer's checkpoint worker. */
  killedInCheckpointWrite: boolean;
  /** The writer finished its --limit and closed before a kill came (checkpoint-write rounds only). */
  finished: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

interface RoundStats {
  round: number;
  plan: KillPlan;
  acks: number;
  replayed: number;
  truncatedBytes: number;
  recoveredFromSnapshot: boolean;
  killedInCheckpointWrite: boolean;
  /** Snapshots the killed writer committed (newest snapshot id after the kill minus before). */
  writerSnapshots: number;
  /** This round's recovery started from a snapshot the killed writer had committed. */
  recoveredFromWriterSnapshot: boolean;
  snapshotSeq: number;
}

const dataDir = makeTempDir('crash');
const stats: RoundStats[] = [];

afterAll(removeTempDirs);

/**
 * Starts `darkstore writer`, collects its ACK lines and kills it with SIGKILL as the plan says.
 * Resolves once the process is gone and its output is fully read.
 */
function runAndKill(round: number, plan: KillPlan, random: Random): Promise<WriterRun> {
  const args = [BIN, 'writer', dataDir, '--warehouse', ID, '--seed', String(round + 1), '--run', `round${round}`];
  if (plan === 'checkpoint-write') {
    args.push('--limit', String(random.int(CHECKPOINT_ROUND_LIMIT_MIN, CHECKPOINT_ROUND_LIMIT_MAX)));
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: WriterRun = {
    acks: new Map(),
    killedInCheckpointWrite: false,
    finished: false,
    exitCode: null,
    signal: null,
    stderr: '',
  };
  let watcher: fs.FSWatcher | undefined;
  const timers: NodeJS.Timeout[] = [];
  const killAfter = (ms: number) => timers.push(setTimeout(kill, ms));
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    child.kill('SIGKILL');
  };
  const killAtCheckpointWrite = () => {
    // The worker's snapshot transaction writes pages into the SQLite WAL file: kill at its first
    // write, so the transaction is cut in the middle; or let one snapshot commit first, so the next
    // recovery starts from a snapshot the killed writer made and the kill hits the one after it.
    const committedBefore = newestSnapshot()?.id ?? 0;
    const snapshotsToLetCommit = random.int(0, 1);
    watcher = fs.watch(warehousePaths(dataDir, ID).dir, (event, file) => {
      if (event !== 'change' || file !== 'snapshots.db-wal' || killed) return;
      if ((newestSnapshot()?.id ?? 0) - committedBefore < snapshotsToLetCommit) return;
      run.killedInCheckpointWrite = true;
      kill();
    });
    killAfter(CHECKPOINT_WAIT_MS_MAX);
  };
  if (plan === 'startup') killAfter(random.int(100, 900));
  onWriterLines(child.stdout, (line) => {
    if (line.tag === 'ACK') run.acks.set(line.key, { outcome: line.outcome, reservationId: line.reservationId });
    else if (line.tag === 'DONE') run.finished = true;
    else if (plan === 'after-ready') killAfter(random.int(40, 400));
    else if (plan === 'checkpoint-write') killAtCheckpointWrite();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    run.stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      watcher?.close();
      for (const timer of timers) clearTimeout(timer);
      run.exitCode = code;
      run.signal = signal;
      // A write seen just as the writer finished by itself does not count as a kill inside it.
      run.killedInCheckpointWrite &&= signal === 'SIGKILL';
      resolve(run);
    });
  });
}

function inspectWarehouse(): WarehouseInspection | undefined {
  return inspectDataDir(dataDir).find((w) => w.warehouseId === ID);
}

/** The newest snapshot row, read without decoding any snapshot (they grow to megabytes here). */
function newestSnapshot(): SnapshotRow | undefined {
  const { db } = warehousePaths(dataDir, ID);
  if (!fs.existsSync(db)) return undefined;
  const store = new SnapshotStore(db);
  try {
    return store.rows()[0];
  } finally {
    store.close();
  }
}

/** The acknowledged commands whose stored result differs from what the writer printed. */
function lostOrChanged(warehouse: DurableWarehouse, acks: Map<string, Ack>): string[] {
  const problems: string[] = [];
  for (const [key, ack] of acks) {
    const stored = warehouse.query({ type: 'command', key }) as Result<Result>;
    if (!stored.ok) problems.push(`${key}: acknowledged ${ack.outcome} but not found after recovery`);
    else if (outcomeOf(stored.value) !== ack.outcome || reservationOf(stored.value) !== ack.reservationId) {
      const now = `${outcomeOf(stored.value)} ${reservationOf(stored.value)}`;
      problems.push(`${key}: acknowledged ${ack.outcome} ${ack.reservationId}, recovered ${now}`);
    }
  }
  return problems.slice(0, 20);
}

/**
 * Opens the warehouse from the files as they are. The clock stands a minute before the kill, so no
 * reservation falls due and the runtime appends no expiry tick: every recovery of a round must start
 * from exactly the files the writer left.
 */
function recover(checkpoint: 'off' | 'inline', clockMs: number): DurableWarehouse {
  return DurableWarehouse.open({ dataDir, warehouseId: ID, checkpoint, assertInvariants: true, clock: () => clockMs });
}

async function crashRound(round: number): Promise<void> {
  const random = new Random(0xc0ffee + round);
  const plan = killPlanOf(round);
  const closePlan = closePlans[round % closePlans.length] ?? 'off';
  const before = newestSnapshot();
  const run = await runAndKill(round, plan, random);
  const tolerated = plan === 'checkpoint-write' && run.finished && run.exitCode === 0;
  if (run.signal !== 'SIGKILL' && !tolerated) {
    throw new Error(`writer ended by itself (code ${run.exitCode}):\n${run.stderr}`);
  }
  const afterKill = newestSnapshot();
  const clockMs = Date.now() - 60_000;

  const first = recover('off', clockMs);
  const usedSnapshotId = first.recovery.snapshot?.id;
  const recovered = stateBytes(first.runtime.warehouse.state);
  expect(first.recovery.damagedSnapshots).toEqual([]);
  // A killed process leaves at most a frame cut short, never a whole one failing its checksum.
  expect(first.recovery.wal.truncatedRecords).toBe(0);
  expect(lostOrChanged(first, run.acks)).toEqual([]);
  checkAll(first.runtime.warehouse.state);
  await first.close({ snapshot: false });

  const second = recover(closePlan === 'off' ? 'off' : 'inline', clockMs);
  expect(second.recovery.wal.truncatedBytes).toBe(0);
  expect(second.recovery.wal.lastSeq).toBe(first.recovery.wal.lastSeq);
  expectSameState(stateBytes(second.runtime.warehouse.state), recovered);
  await second.close({ snapshot: closePlan === 'inline+snapshot' });
  if (closePlan === 'inline+snapshot') {
    const third = recover('off', clockMs);
    expect(third.recovery.snapshot?.walSeq).toBe(second.runtime.lastSeq);
    expect(third.recovery.wal.replayed).toBe(0);
    expectSameState(stateBytes(third.runtime.warehouse.state), recovered);
    await third.close({ snapshot: false });
  }

  const verification = verifyWarehouse(dataDir, ID);
  expect(verification.damagedSnapshots).toEqual([]);
  expect(verification.ledgerComplete).toBe(true);
  expect(verification.mismatches).toEqual([]);
  stats.push({
    round,
    plan,
    acks: run.acks.size,
    replayed: first.recovery.wal.replayed,
    truncatedBytes: first.recovery.wal.truncatedBytes,
    recoveredFromSnapshot: first.recovery.snapshot !== undefined,
    killedInCheckpointWrite: run.killedInCheckpointWrite,
    writerSnapshots: (afterKill?.id ?? 0) - (before?.id ?? 0),
    recoveredFromWriterSnapshot:
      afterKill !== undefined && afterKill.id !== before?.id && usedSnapshotId === afterKill.id,
    snapshotSeq: newestSnapshot()?.walSeq ?? 0,
  });
}

function summary(): string {
  const acks = stats.map((s) => s.acks).sort((a, b) => a - b);
  const sum = (pick: (s: RoundStats) => number) => stats.reduce((total, s) => total + pick(s), 0);
  const final = inspectWarehouse();
  return (
    `crash: ${stats.length} rounds, ${sum((s) => s.acks)} acks (per round min ${acks[0]} / median ` +
    `${acks[Math.floor(acks.length / 2)]} / max ${acks.at(-1)}), ${sum((s) => s.replayed)} records replayed, ` +
    `${stats.filter((s) => s.truncatedBytes > 0).length} torn tails cut (${sum((s) => s.truncatedBytes)} bytes), ` +
    `${stats.filter((s) => s.killedInCheckpointWrite).length} kills inside a snapshot write, ` +
    `${sum((s) => Math.max(0, s.writerSnapshots))} snapshots committed by killed writers; final: snapshot seq ` +
    `${final?.snapshot?.walSeq ?? 0}, ${final?.walRecordsAfterSnapshot} WAL records after it, ${final?.walBytes} WAL bytes`
  );
}

describe('SIGKILL of a writer under load, recovered round after round on one data directory', () => {
  for (let round = 0; round < ROUNDS; round++) {
    it(
      `round ${round}: kill ${killPlanOf(round)}, close ${closePlans[round % closePlans.length]}`,
      () => crashRound(round),
      90_000,
    );
  }

  it('covered what it claims: kills inside snapshot writes, recoveries from snapshot + WAL', () => {
    expect(stats.map((s) => s.round)).toEqual(Array.from({ length: ROUNDS }, (_, i) => i));
    // Acknowledged work was checked after kills that landed inside a checkpoint's SQLite write.
    expect(stats.filter((s) => s.killedInCheckpointWrite).length).toBeGreaterThan(0);
    // Later rounds recovered from a snapshot written by an earlier round, then replayed WAL records,
    // and some from a snapshot the killed writer's own checkpoint worker had committed.
    expect(stats.some((s) => s.recoveredFromSnapshot && s.replayed > 0)).toBe(true);
    expect(stats.some((s) => s.recoveredFromWriterSnapshot)).toBe(true);
    expect(stats.reduce((total, s) => total + s.acks, 0)).toBeGreaterThan(0);
    // What inspect reports only grows: the newest snapshot never goes back.
    const seqs = stats.map((s) => s.snapshotSeq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(seqs.at(-1)).toBeGreaterThan(0);
    console.log(summary());
  });
});
