/**
 * The PostgreSQL baseline measured with pgbench, PostgreSQL's own C load generator (as the brief's
 * reference numbers were): the same conditional UPDATE, as many connections, prepared. node-postgres
 * spends client CPU that pgbench does not, so pgbench shows what the server itself reaches on this
 * machine, the stronger baseline. Runs a program and parses its report; never throws.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Client threads pgbench runs its connections on: one per core of the 2-core reference machine. */
export const PGBENCH_THREADS = 2;

export interface PgbenchTarget {
  /** Directory of pgbench (the server's bin dir), and a libpq connection string or URI. */
  binDir: string | undefined;
  connection: string;
  table: string;
}

export type PgbenchResult = { ok: true; txPerSec: number; latencyMeanMs: number } | { ok: false; reason: string };

/**
 * Runs pgbench for `seconds` with `clients` connections: one-row conditional UPDATEs on a uniformly
 * chosen SKU of `skus`, or always on the first (hot). The script file goes to `dir`.
 */
export function runPgbench(
  target: PgbenchTarget,
  dir: string,
  hot: boolean,
  clients: number,
  skus: number,
  seconds: number,
): PgbenchResult {
  const program = [target.binDir, '/usr/bin'].map((d) => (d === undefined ? '' : join(d, 'pgbench'))).find(existsSync);
  if (program === undefined) return { ok: false, reason: 'pgbench is not installed' };
  const sku = hot ? `'sku-00000'` : `'sku-' || lpad(:i::text, 5, '0')`;
  const script = join(dir, hot ? 'hot.sql' : 'uniform.sql');
  writeFileSync(
    script,
    `${hot ? '' : `\\set i random(0, ${skus - 1})\n`}UPDATE ${target.table} SET reserved = reserved + 1 ` +
      `WHERE sku = ${sku} AND on_hand - reserved >= 1;\n`,
  );
  const args = ['-n', '-M', 'prepared', '-c', String(clients), '-j', String(PGBENCH_THREADS)];
  const run = spawnSync(program, [...args, '-T', String(seconds), '-f', script, target.connection], {
    encoding: 'utf8',
  });
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(run.stdout ?? '')?.[1];
  const latency = /latency average = ([\d.]+) ms/.exec(run.stdout ?? '')?.[1];
  if (run.status !== 0 || tps === undefined || latency === undefined) {
    const why = (run.stderr ?? run.error?.message ?? '').trim().split('\n').slice(-2).join(' ');
    return { ok: false, reason: `pgbench failed (${run.status ?? 'not run'}): ${why}` };
  }
  return { ok: true, txPerSec: Number(tps), latencyMeanMs: Number(latency) };
}
