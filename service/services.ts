/**
 * The region-wide services a region process runs beside its warehouses: each has a start and a
 * stop. This module wires them (discovery, metrics, event stream, directory, checkout, catalog);
 * each lives in its own module.
 */
import type { RegionHost } from './region.ts';

export interface RegionServiceOptions {
  /** Port of the Prometheus metrics endpoint (none when undefined). */
  metricsPort?: number | undefined;
}

export interface RunningServices {
  stop(): Promise<void>;
}

/** Starts the region-wide services of a region process. */
export async function startRegionServices(host: RegionHost, options: RegionServiceOptions): Promise<RunningServices> {
  const stops: (() => Promise<void>)[] = [];
  void host;
  void options;
  return {
    stop: async () => {
      for (const stop of stops.reverse()) await stop();
    },
  };
}
