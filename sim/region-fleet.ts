/**
 * The region processes of a simulation over NATS: the city's warehouses split over one or more
 * `darkstore serve` processes of one region (dealt in turn, so that each process hosts stores all
 * over the city), each with its own config file and data directory. Starts them all, kills one
 * (SIGKILL, a crash) and starts it again on its data, and stops them at the end. The payment
 * provider of the config is the scenario's, with its latency and its circuit breaker's pause scaled
 * by the run's speed and its outage as wall-clock windows.
 *
 * Owns the processes (through the region runner); never talks NATS itself.
 */
import * as path from 'node:path';
import { OPEN_MS } from '../payments/index.ts';
import type { PaymentOutageWindow } from '../service/config.ts';
import type { City } from './city.ts';
import { type RegionProcess, type RegionProcessConfig, startRegionProcess } from './region-runner.ts';
import type { RegionKillRecord } from './report-types.ts';
import type { Scenario } from './scenario.ts';

export interface RegionFleetOptions {
  natsUrl: string;
  region: string;
  city: City;
  scenario: Scenario;
  /** Region processes to split the city over (at most one per warehouse). */
  processes: number;
  /** Simulated seconds per wall second (scales the payment provider's latency). */
  speed: number;
  /** Wall-clock windows in which the simulated payment provider is down. */
  paymentOutages: PaymentOutageWindow[];
  /** A directory to keep each process's data in (`<dir>/p<n>`); temporary ones otherwise. */
  dataDir?: string;
  /** Log level of the region processes (default `warn`). */
  logLevel?: string;
}

/** The region configs: warehouse i goes to process i mod processes. */
export function regionConfigs(options: RegionFleetOptions): RegionProcessConfig[] {
  const { city, scenario, speed } = options;
  const count = Math.max(1, Math.min(options.processes, city.warehouses.length));
  const latency = scenario.payments.latencyMs;
  const min = Math.round(latency.min / speed);
  const configs: RegionProcessConfig[] = [];
  for (let p = 0; p < count; p++) {
    configs.push({
      region: options.region,
      warehouses: city.warehouses.filter((_, i) => i % count === p).map((w) => w.entry),
      payments: {
        declineRate: scenario.payments.declineRate,
        latencyMs: { min, max: Math.max(min, Math.round(latency.max / speed)) },
        outages: options.paymentOutages,
        // The breaker's pause is a stretch of simulated time too.
        breakerOpenMs: Math.max(1, Math.round(OPEN_MS / speed)),
      },
    });
  }
  return configs;
}

export class RegionFleet {
  readonly kills: RegionKillRecord[] = [];

  private constructor(
    private readonly procs: RegionProcess[],
    readonly configs: RegionProcessConfig[],
    private readonly keepData: boolean,
  ) {}

  /** Starts every process at once; stops those that started if one fails. */
  static async start(options: RegionFleetOptions): Promise<RegionFleet> {
    const configs = regionConfigs(options);
    const started = await Promise.allSettled(
      configs.map((config, p) =>
        startRegionProcess({
          natsUrl: options.natsUrl,
          config,
          ...(options.dataDir === undefined ? {} : { dataDir: path.join(options.dataDir, `p${p}`) }),
          ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
        }),
      ),
    );
    const procs = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(procs.map((p) => p.cleanup()));
      throw failed.reason;
    }
    return new RegionFleet(procs, configs, options.dataDir !== undefined);
  }

  get size(): number {
    return this.procs.length;
  }

  pid(p: number): number {
    return this.proc(p).pid;
  }

  private proc(p: number): RegionProcess {
    const proc = this.procs[p];
    if (proc === undefined) throw new Error(`no region process ${p}`);
    return proc;
  }

  /** Kills process `p` with SIGKILL (a crash: no drain, no snapshot); resolves once it exited. */
  async kill(p: number): Promise<void> {
    await this.proc(p).kill('SIGKILL');
  }

  /**
   * Starts process `p` again on its config and data (recovery: newest snapshot + WAL replay) and
   * records the kill: `killedAtMinute` and `readyAtMinute` are the caller's simulated clock.
   */
  async restart(p: number, killed: { atMinute: number; wallMs: number }, nowMinute: () => number): Promise<void> {
    const before = this.proc(p);
    const after = await before.restart();
    this.procs[p] = after;
    this.kills.push({
      process: p,
      warehouses: (this.configs[p]?.warehouses ?? []).map((w) => w.id),
      killedAtMinute: killed.atMinute,
      readyAtMinute: nowMinute(),
      pidBefore: before.pid,
      pidAfter: after.pid,
      downSeconds: Math.round((Date.now() - killed.wallMs) / 10) / 100,
      acceptedAfter: 0,
      deliveredAfter: 0,
    });
  }

  /**
   * Stops every process: gracefully (drain, snapshot) when its data is kept, else killed and its
   * temporary files removed.
   */
  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(async (proc) => {
        if (this.keepData) await proc.stop();
        await proc.cleanup();
      }),
    );
  }
}
