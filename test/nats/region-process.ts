/**
 * A real region process for tests: the simulator's runner (sim/region-runner.ts) spawns
 * `darkstore serve` with a temporary config and data directory, kills it (SIGKILL, as a crash) and
 * starts it again on the same data directory. This file adds the tests' example region. Never a fake.
 */
import type { RegionProcessConfig, RegionWarehouseConfig } from '../../sim/index.ts';

export {
  type RegionProcess,
  type RegionProcessConfig,
  type RegionProcessOptions,
  type RegionWarehouseConfig,
  startRegionProcess,
} from '../../sim/index.ts';

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
