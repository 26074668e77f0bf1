/**
 * The `engine` suite: what one warehouse's single writer can do, side by side with its baselines in
 * the same run. In-memory reserve+commit through the core alone; durable commands through the
 * runtime with group commit, WAL replay and the snapshot stall (filled in with persistence/);
 * SQLite doing the same reservations and a raw fsync as references. Never changes engine state
 * other than the benchmark's own warehouses; file I/O only inside the runner's temp dirs.
 */
import { type Command, type ReserveCommand, type Result, Warehouse } from '../engine/index.ts';
import { fsyncAppendRows, sqliteReserveRows } from './baselines.ts';
import { durableRows, replayRows, snapshotStallRows } from './durable.ts';
import { fmt, measure } from './measure.ts';
import type { Row, Suite, SuiteContext } from './suite.ts';
import { Workload } from './workload.ts';

/** Reserve+commit pairs per tinybench call: 1,000 commands, so tinybench's per-call cost is noise. */
const PAIRS_PER_CALL = 500;
/**
 * Commands one benchmark warehouse holds before it is replaced by a freshly seeded one (outside
 * the timed window). Every command leaves an idempotency record for 24 h of command time, and a
 * lookup in a V8 Map costs ~80 ns at 10,000 entries but ~770 ns at 1,000,000 (cache misses), so
 * the retained state decides the number. 200,000 commands is several busy days of a dark store
 * (1–3k orders a day, ~10 commands each) inside one retention window; the `.retained1m` row
 * measures a warehouse holding a million records, as one would under this benchmark's own rate.
 */
const COMMANDS_PER_WAREHOUSE_MAX = 200_000;
const RETAINED_LARGE = 1_000_000;
/** Command time the benchmark clock advances per call: about real time at 1,000,000 commands/s. */
const MS_PER_CALL = 1;
const START_AT_MS = Date.UTC(2025, 0, 1);

export const RESERVE_INMEMORY_TARGET = 1_000_000;

/** Applies commands to a warehouse with the next sequence numbers at one time; returns the results. */
export function applyAll(warehouse: Warehouse, commands: readonly Command[], atMs: number): Result[] {
  return commands.map((command) => warehouse.apply({ seq: warehouse.state.lastSeq + 1, atMs, command }));
}

/** A new warehouse `W1` set up with the workload's catalogue and stock. */
export function seededWarehouse(setup: readonly Command[], atMs: number): Warehouse {
  const warehouse = new Warehouse('W1');
  for (const result of applyAll(warehouse, setup, atMs)) {
    if (!result.ok) throw new Error(`setup command failed: ${result.error.message}`);
  }
  warehouse.drainEvents();
  warehouse.drainLedger();
  return warehouse;
}

/** Drives reserve → commit pairs through the core, one tinybench call at a time. */
class InMemoryDriver {
  private readonly setup: Command[];
  private warehouse: Warehouse;
  private atMs = START_AT_MS;
  private keySeq = 0;
  private readonly reserves: ReserveCommand[] = [];
  private readonly commitKeys: string[] = [];
  warehouses = 1;

  constructor(
    private readonly workload: Workload,
    private readonly commandsPerWarehouse: number,
    prefill = 0,
  ) {
    this.setup = workload.setupCommands();
    this.warehouse = seededWarehouse(this.setup, this.atMs);
    while (this.warehouse.state.lastSeq < prefill) {
      this.prepare();
      this.run();
    }
  }

  /** Outside the timed window: recycles a full warehouse and builds the next call's commands. */
  prepare(): void {
    if (this.warehouse.state.lastSeq >= this.commandsPerWarehouse) {
      this.warehouse = seededWarehouse(this.setup, this.atMs);
      this.warehouses++;
    }
    for (let i = 0; i < PAIRS_PER_CALL; i++) {
      const n = ++this.keySeq;
      this.reserves[i] = this.workload.reserveCommand(`res-${n}`);
      this.commitKeys[i] = `com-${n}`;
    }
    this.atMs += MS_PER_CALL;
  }

  /** The timed part: apply each reservation, commit it, then drain what the runtime would publish. */
  run(): void {
    const warehouse = this.warehouse;
    const atMs = this.atMs;
    for (let i = 0; i < PAIRS_PER_CALL; i++) {
      const reserve = this.reserves[i] as ReserveCommand;
      const reserved = warehouse.apply({ seq: warehouse.state.lastSeq + 1, atMs, command: reserve });
      if (!reserved.ok || reserved.value.kind !== 'reserved') throw new Error(`reserve failed: ${describe(reserved)}`);
      const commit: Command = {
        type: 'commit',
        key: this.commitKeys[i] as string,
        reservationId: reserved.value.reservationId,
      };
      const committed = warehouse.apply({ seq: warehouse.state.lastSeq + 1, atMs, command: commit });
      if (!committed.ok) throw new Error(`commit failed: ${describe(committed)}`);
    }
    warehouse.drainEvents();
    warehouse.drainLedger();
  }

  /** Sizes of the current warehouse's retained maps, for the note. */
  retained(): string {
    const s = this.warehouse.state;
    return `${fmt(s.idempotency.size)} idempotency records, ${fmt(s.tombstones.size)} tombstones`;
  }
}

function describe(result: Result): string {
  return result.ok ? result.value.kind : result.error.message;
}

/**
 * `engine.reserve.inmemory` and `engine.reserve_commit.pairs`: the core alone (no validation, no
 * log), one warehouse, reserve one line then commit it. Both commands count as one op each.
 */
async function measureInMemory(ctx: SuiteContext, id: string, driver: InMemoryDriver, recycle: number) {
  const m = await measure(id, () => driver.run(), {
    opsPerCall: 2 * PAIRS_PER_CALL,
    timeMs: ctx.quick ? 300 : 3_000,
    warmupMs: ctx.quick ? 100 : 500,
    beforeEach: () => driver.prepare(),
  });
  const note =
    `Warehouse.apply on stamped, pre-validated commands; ${fmt(2 * PAIRS_PER_CALL)} commands per tinybench call ` +
    `(${fmt(m.calls)} calls, slowest ${fmt(m.callMaxMs, 2)} ms); mean ${fmt(m.opMeanUs * 1_000)} ns/command; ` +
    `GC paused the thread ${fmt((100 * m.gcMs) / m.wallMs)}% of the run; ` +
    `warehouse replaced every ${fmt(recycle)} commands (${driver.warehouses} used, last held ${driver.retained()}).`;
  return { m, note };
}

export async function inMemoryRows(ctx: SuiteContext, workload: Workload): Promise<Row[]> {
  workload.checkReserveCommands(1_000);
  const day = await measureInMemory(
    ctx,
    'engine.reserve.inmemory',
    new InMemoryDriver(workload, COMMANDS_PER_WAREHOUSE_MAX),
    COMMANDS_PER_WAREHOUSE_MAX,
  );
  const largeRecycle = RETAINED_LARGE * 3;
  const prefill = ctx.quick ? 20_000 : RETAINED_LARGE;
  const large = await measureInMemory(
    ctx,
    'engine.reserve.inmemory.retained1m',
    new InMemoryDriver(workload, largeRecycle, prefill),
    largeRecycle,
  );
  return [
    {
      id: 'engine.reserve.inmemory',
      value: day.m.opsPerSec,
      unit: 'ops/s',
      baseline: 'baseline.sqlite.reserve',
      target: { op: '>=', value: RESERVE_INMEMORY_TARGET },
      note: day.note,
    },
    { id: 'engine.reserve_commit.pairs', value: day.m.opsPerSec / 2, unit: 'pairs/s' },
    {
      id: 'engine.reserve.inmemory.retained1m',
      value: large.m.opsPerSec,
      unit: 'ops/s',
      baseline: 'engine.reserve.inmemory',
      note: `the same after ${fmt(prefill)} commands first: ${large.note}`,
    },
  ];
}

export const engineSuite: Suite = {
  name: 'engine',
  async run(ctx) {
    const rows: Row[] = [];
    const steps: [string, (workload: Workload) => Promise<Row[]>][] = [
      ['in-memory reserve+commit', (w) => inMemoryRows(ctx, w)],
      ['durable commands', (w) => durableRows(ctx, w)],
      ['WAL replay', (w) => replayRows(ctx, w)],
      ['snapshot stall', (w) => snapshotStallRows(ctx, w)],
      ['SQLite reservations', (w) => sqliteReserveRows(ctx, w)],
      ['fsync append', () => fsyncAppendRows(ctx)],
    ];
    for (const [label, step] of steps) {
      ctx.log(`engine: ${label}`);
      // Each step gets its own workload from the same seed: every system sees the same pick stream.
      rows.push(...(await step(new Workload())));
    }
    return rows;
  },
};
