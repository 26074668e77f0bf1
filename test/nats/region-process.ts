/**
 * A real region process for tests: `darkstore serve` spawned from bin/darkstore.js as a child
 * process with a temporary config file and data directory, ready once it prints `READY <region>`.
 * It can be stopped gracefully (SIGTERM), killed (SIGKILL, as a crash) and started again on the same
 * data directory, which is how recovery is tested end to end. Keeps the tail of the child's stderr
 * (JSON logs) for failure messages. Never a fake.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/darkstore.js', import.meta.url));
/** How much of the child's stderr is kept for messages (the tail). */
const STDERR_KEPT_CHARS = 16 * 1024;
const READY_TIMEOUT_MS = 20_000;

/** One warehouse of the region config (see service/config.ts); optional fields have defaults there. */
export interface RegionWarehouseConfig {
  id: string;
  location: { lat: number; lon: number };
  radiusKm: number;
  slaMinutes: number;
  catalog?: { seed: number; skus: number; unitsPerSku: number };
  pickers?: number;
  couriers?: number;
}

export interface RegionProcessConfig {
  region: string;
  warehouses: RegionWarehouseConfig[];
  payments?: { declineRate?: number };
}

export interface RegionProcessOptions {
  /** NATS server URL(s), comma separated. */
  natsUrl: string;
  config: RegionProcessConfig;
  /** Data directory; by default a new temporary one, removed by `cleanup()`. */
  dataDir?: string;
  /** More `darkstore serve` flags, e.g. `['--user', 'region', '--pass', 'secret']`. */
  args?: string[];
  /** Log level of the child (default `warn`, to keep test output quiet). */
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
  /** Starts the region again on the same config and data directory (after `kill` or `stop`). */
  restart(): Promise<RegionProcess>;
  /** Kills the child if it still runs and removes the temporary files this helper made. */
  cleanup(): Promise<void>;
}

/** The example region of the tests: berlin/mitte, 50 SKUs of 20 units, 2 pickers, 3 couriers. */
export function berlinConfig(overrides: Partial<RegionWarehouseConfig> = {}): RegionProcessConfig {
  return {
    region: 'berlin',
    warehouses: [
      {
        id: 'mitte',
        location: { lat: 52.52, lon: 13.405 },
        radiusKm: 3,
        slaMinutes: 20,
        catalog: { seed: 1, skus: 50, unitsPerSku: 20 },
        pickers: 2,
        couriers: 3,
        ...overrides,
      },
    ],
  };
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
      () => fail(new Error(`no READY ${region} within ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
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

/** Spawns `darkstore serve` and resolves once it answers on the region's subjects. */
export async function startRegionProcess(options: RegionProcessOptions): Promise<RegionProcess> {
  const madeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkstore-region-'));
  const dataDir = options.dataDir ?? path.join(madeDir, 'data');
  const configFile = path.join(madeDir, 'region.json');
  fs.writeFileSync(configFile, JSON.stringify(options.config));
  return spawnRegion(options, dataDir, configFile, madeDir);
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
