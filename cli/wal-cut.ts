/**
 * `darkstore wal-cut DIR [--warehouse ID] [--yes] [--json]`: the operator's way out of a warehouse
 * that will not start because a record of its WAL is damaged (`persistence/wal-cut.ts`). Without
 * --yes it only says, per warehouse, what a cut at the first damaged frame would take; with --yes it
 * cuts, keeping everything it takes in `DIR/<warehouse>/wal-cut-<time>/`. Exit 1 when a WAL has
 * damage a cut at a frame does not repair.
 */
import * as path from 'node:path';
import {
  cutWal,
  inspectDataDir,
  listWarehouses,
  planWalCut,
  type WalCutPlan,
  WalCutRefused,
  warehousePaths,
} from '../persistence/index.ts';
import { type ParsedArgs, UsageError } from './args.ts';

interface WarehouseCut {
  warehouseId: string;
  /** Undefined when no frame is damaged. */
  plan?: WalCutPlan;
  /** The newest snapshot's seq: cut records at or below it are in the snapshot. */
  snapshotSeq: number;
  refused?: string;
  /** With --yes: where what was cut was kept. */
  keptIn?: string[];
}

export function runWalCut(args: ParsedArgs): number {
  const dataDir = args.positionals[0];
  if (dataDir === undefined) throw new UsageError('a data directory is required');
  const only = args.flags.get('warehouse');
  if (only === true) throw new UsageError('--warehouse needs an id');
  const ids = listWarehouses(dataDir).filter((id) => only === undefined || id === only);
  if (only !== undefined && ids.length === 0) throw new UsageError(`no warehouse ${only} in ${dataDir}`);
  const snapshots = new Map(inspectDataDir(dataDir).map((w) => [w.warehouseId, w.snapshot?.walSeq ?? 0]));
  const cuts = ids.map((warehouseId): WarehouseCut => {
    const paths = warehousePaths(dataDir, warehouseId);
    const cut: WarehouseCut = { warehouseId, snapshotSeq: snapshots.get(warehouseId) ?? 0 };
    try {
      // From the snapshot recovery starts at: what lies wholly below it is not read, so not cut.
      const plan = planWalCut(paths.wal, cut.snapshotSeq);
      if (plan === undefined) return cut;
      cut.plan = plan;
      if (args.flags.has('yes')) cut.keptIn = cutWal(plan, path.join(paths.dir, `wal-cut-${Date.now()}`));
    } catch (error) {
      if (!(error instanceof WalCutRefused)) throw error;
      cut.refused = error.message;
    }
    return cut;
  });
  if (args.flags.has('json')) process.stdout.write(`${JSON.stringify(cuts)}\n`);
  else for (const cut of cuts) process.stdout.write(`${describe(cut, args.flags.has('yes'))}\n`);
  return cuts.some((c) => c.refused !== undefined) ? 1 : 0;
}

function describe(cut: WarehouseCut, yes: boolean): string {
  const { warehouseId, plan, refused } = cut;
  if (refused !== undefined) return `${warehouseId}: not cut: ${refused}`;
  if (plan === undefined) return `${warehouseId}: no damaged record, nothing to cut`;
  const lost =
    plan.keptThroughSeq >= cut.snapshotSeq
      ? plan.recordsCut
      : Math.max(0, plan.recordsCut - (cut.snapshotSeq - plan.keptThroughSeq));
  const what =
    `damaged record at byte ${plan.offset} of ${plan.file}: keeps records through seq ${plan.keptThroughSeq}, ` +
    `cuts ${plan.bytesCut} bytes and ${plan.segmentsCut.length} later segment(s) holding ${plan.recordsCut} valid ` +
    `record(s), about ${lost} of them after the newest snapshot (seq ${cut.snapshotSeq}): acknowledged commands lost`;
  if (!yes) return `${warehouseId}: would cut: ${what}. Run again with --yes to cut.`;
  return `${warehouseId}: cut: ${what}. Kept in ${path.dirname(cut.keptIn?.[0] ?? '')}.`;
}
