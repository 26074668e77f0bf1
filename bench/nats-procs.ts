/**
 * The processes the `nats` suite measures against, each in its own OS process as in a deployment:
 * the region process (`darkstore serve`, the real CLI with a generated config and a fresh data dir)
 * and a plain echo responder (the ceiling of NATS request/reply from Node). Both print one `READY`
 * line on stdout when they answer. Owns the children it spawns and stops them; never measures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RegionConfig } from '../service/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** How long a child may take to say READY (tsx compiles the sources on first start). */
const READY_TIMEOUT_MS = 60_000;
/** How long a graceful stop may take before the child is killed. */
const STOP_TIMEOUT_MS = 30_000;
/** Stderr kept for the error message when a child fails. */
const STDERR_KEPT_CHARS = 4_000;

export const BENCH_REGION = 'bench';
/** The warehouse the reserve rows load; the checkout row may choose among all of them. */
export const BENCH_WAREHOUSE = 'w1';
export const BENCH_SKUS = 5_000;
/** Units per SKU: the config's maximum; reservations expire after RESERVE_TTL_MS, so none runs short. */
export const BENCH_UNITS_PER_SKU = 1_000_000;

export interface Child {
  /** The child's pid, to read its CPU time. */
  pid: number;
  stop(): Promise<void>;
}

/**
 * Pickers on shift per store: the config's maximum. Nobody picks in the bench, so the checkout row's
 * orders stay in the pick queue for the whole run; this many pickers keep that queue far below the
 * bound at which a store counts as overloaded (8 orders per picker) and its promise within the SLA.
 */
const BENCH_PICKERS = 2_000;
/**
 * The stores' SLA in the bench. Nobody picks, so every checkout of a run (tens of thousands) waits in
 * the pick queue, and the promise of the next grows with it; at a 30-minute SLA most checkouts of the
 * latency row were refused (`sla_not_met`: cheap answers that flattered its p99). With four hours
 * every checkout is placed, which is what the row must time.
 */
const BENCH_SLA_MINUTES = 240;

/**
 * The region config of the bench: three stores of one city, the first with the 5,000-SKU catalog the
 * reserve rows use, the two others with the same catalog (same seed) so that a checkout has a choice.
 */
export function benchRegionConfig(): RegionConfig {
  const catalog = { seed: 7, skus: BENCH_SKUS, unitsPerSku: BENCH_UNITS_PER_SKU };
  const store = (id: string, lat: number, lon: number) => ({
    id,
    location: { lat, lon },
    radiusKm: 4,
    slaMinutes: BENCH_SLA_MINUTES,
    catalog,
    pickers: BENCH_PICKERS,
    couriers: 8,
  });
  return {
    region: BENCH_REGION,
    warehouses: [store(BENCH_WAREHOUSE, 52.52, 13.405), store('w2', 52.5, 13.36), store('w3', 52.54, 13.44)],
  };
}

/**
 * Spawns `node args...` and resolves once it prints READY; rejects with its stderr if it exits first.
 * `stopSignal` is how `stop()` ends it.
 */
async function spawnReady(
  what: string,
  args: string[],
  stopSignal: NodeJS.Signals,
  env: NodeJS.ProcessEnv = {},
): Promise<Child> {
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-STDERR_KEPT_CHARS);
  });
  await new Promise<void>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not start within ${READY_TIMEOUT_MS} ms: ${stderr}`));
    }, READY_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('READY')) {
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready: ${stderr}`));
    });
  });
  child.removeAllListeners('exit');
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${what} has no pid`);
  return {
    pid,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(stopSignal);
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Starts `darkstore serve` on the bench config with a fresh data dir; logs only warnings and errors.
 * `stop()` kills it: its data dir is thrown away, and a graceful stop (a snapshot of every store, with
 * the idempotency records of a whole run) would take seconds of CPU the next measurement should have.
 */
export function startRegionProcess(natsUrl: string, dir: string): Promise<Child> {
  const configFile = join(dir, 'region.json');
  writeFileSync(configFile, JSON.stringify(benchRegionConfig()));
  const args = ['bin/darkstore.js', 'serve', '--config', configFile, '--data', join(dir, 'data'), '--nats', natsUrl];
  return spawnReady('darkstore serve', args, 'SIGKILL', { LOG_LEVEL: 'warn' });
}

/** Starts the echo responder (bench/nats-echo.ts) on `subject`. */
export function startEchoProcess(natsUrl: string, subject: string): Promise<Child> {
  return spawnReady('echo responder', ['--import', 'tsx', 'bench/nats-echo.ts', natsUrl, subject], 'SIGTERM');
}
