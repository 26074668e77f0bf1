/**
 * Region processes owned by the caller: `darkstore serve` spawned from bin/darkstore.js as a child
 * process with a config file and a data directory, ready once it prints `READY <region>`. It can be
 * stopped gracefully (SIGTERM), killed (SIGKILL, as a crash) and started again on the same config
 * and data directory, which is how the simulator's region kill and the tests' recovery checks run
 * end to end. Keeps the tail of the child's stderr (JSON logs) for failure messages.
 *
 * Owns the child processes and the temporary files it made; never talks NATS itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RegionConfig, WarehouseConfigEntry } from '../service/config.ts';

const BIN = fileURLToPath(new URL('../bin/darkstore.js', import.meta.url));
/** How much of the child's stderr is kept for messages (the tail). */
const STDERR_KEPT_CHARS = 16 * 1024;
/** How long a start (recovery and seeding included) may take before it counts as failed. */
export const REGION_READY_TIMEOUT_MS = 30_000;

/** One warehouse of the region config as written (see service/config.ts; left-out fields have defaults there). */
export type RegionWarehouseConfig = Omit<WarehouseConfigEntry, 'catalog' | 'pickers' | 'couriers'> &
  Partial<Pick<WarehouseConfigEntry, 'catalog' | 'pickers' | 'couriers'>>;

/** The region config file as written (JSON): `darkstore serve --config FILE`. */
export type RegionProcessConfig = Omit<RegionConfig, 'warehouses'> & { warehouses: RegionWarehouseConfig[] };

export interface RegionProcessOptions {
  /** NATS server URL(s), comma separated. */
  natsUrl: string;
  config: RegionProcessConfig;
  /** Data directory; by default a new temporary one, removed by `cleanup()`. */
  dataDir?: string;
  /** More `darkstore serve` flags, e.g. `['--user', 'region', '--pass', 'secret']`. */
  args?: string[];
  /** Log level of the child (default `warn`, to keep the output quiet). */
  logLevel?: string;
}

export interface RegionProcess {
  region: string;
  dataDir: string;
  configFile: string;
  pid: number;
  /** The tail of what the child wrote on stderr. */
  stderr(): string;
  /** Whether the child is still running. */
  running(): boolean;
  /** Sends a signal (default SIGKILL: a crash) and resolves with the exit code or signal once it exited. */
  kill(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals | null>;
  /** Graceful shutdown (SIGTERM): resolves with the exit code once it exited. */
  stop(): Promise<number | NodeJS.Signals | null>;
  /** Starts the region again on the same config and data directory (killing it first if it still runs). */
  restart(): Promise<RegionProcess>;
  /** Kills the child if it still runs and removes the temporary files this module made. */
  cleanup(): Promise<void>;
}

function exited(child: ChildProcess): Promise<number | NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
}

/** Waits for the `READY <region>` line; rejects with the stderr tail if the child exits or stalls. */
function ready(child: ChildProcess, region: string, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => fail(new Error(`no READY ${region} within ${REGION_READY_TIMEOUT_MS} ms`)),
      REGION_READY_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.split('\n').includes(`READY ${region}`)) done();
    };
    const onExit = (code: number | null, signal: string | null) => fail(new Error(`exited with ${code ?? signal}`));
    const done = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.stdout?.resume();
      resolve();
    };
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      reject(new Error(`darkstore serve: ${error.message}\n${stderr()}`));
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * Writes the config to a new temporary directory, spawns `darkstore serve` and resolves once it
 * answers on the region's subjects (it printed `READY <region>`).
 */
export async function startRegionProcess(options: RegionProcessOptions): Promise<RegionProcess> {
  const madeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkstore-region-'));
  const dataDir = options.dataDir ?? path.join(madeDir, 'data');
  const configFile = path.join(madeDir, 'region.json');
  fs.writeFileSync(configFile, JSON.stringify(options.config));
  try {
    return await spawnRegion(options, dataDir, configFile, madeDir);
  } catch (error) {
    fs.rmSync(madeDir, { recursive: true, force: true });
    throw error;
  }
}

async function spawnRegion(
  options: RegionProcessOptions,
  dataDir: string,
  configFile: string,
  madeDir: string,
): Promise<RegionProcess> {
  const args = [BIN, 'serve', '--config', configFile, '--data', dataDir, '--nats', options.natsUrl];
  const child = spawn(process.execPath, [...args, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: options.logLevel ?? 'warn' },
  });
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-STDERR_KEPT_CHARS);
  });
  const stderr = () => stderrTail;
  const region = options.config.region;
  try {
    await ready(child, region, stderr);
  } catch (error) {
    child.kill('SIGKILL');
    await exited(child);
    throw error;
  }
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited(child);
  };
  return {
    region,
    dataDir,
    configFile,
    pid: child.pid ?? -1,
    stderr,
    running: () => child.exitCode === null && child.signalCode === null,
    kill,
    stop: () => kill('SIGTERM'),
    restart: async () => {
      await kill();
      return spawnRegion(options, dataDir, configFile, madeDir);
    },
    cleanup: async () => {
      await kill();
      fs.rmSync(madeDir, { recursive: true, force: true });
    },
  };
}
