/**
 * The partitioned run: the city split in two halves played by two threads that meet over the
 * partition link at checkouts whose candidates lie in both. It must be the same simulation as the
 * whole city in one thread: the same report, field for field (the delivery map, a bounded sample,
 * and the wall time aside), however the threads happen to be scheduled.
 */
import { describe, expect, it } from 'vitest';
import { SpatialIndex } from '../../service/spatial-index.ts';
import { buildCity, runEmbedded, runEmbeddedInThreads, type SimReport, scenarioFor } from '../../sim/index.ts';
import { Metrics } from '../../sim/metrics.ts';
import { splitCity } from '../../sim/partition.ts';

/** The report without what depends on the machine or on how the map's sample was pooled. */
function comparable(report: SimReport): Partial<SimReport> {
  const { wallSeconds: _w, commandsPerSecond: _c, map: _m, ...rest } = report;
  return rest;
}

describe('partitioned simulation', () => {
  it('splits a city into two halves of equal size, the same way every time', () => {
    for (const warehouses of [2, 5, 10]) {
      const city = buildCity(scenarioFor({ seed: 1, warehouses }));
      const owners = splitCity(city);
      expect(owners).toEqual(splitCity(buildCity(scenarioFor({ seed: 1, warehouses }))));
      const first = owners.filter((o) => o === 0).length;
      expect(first).toBe(Math.ceil(warehouses / 2));
      expect(owners.length - first).toBe(Math.floor(warehouses / 2));
    }
    expect(splitCity(buildCity(scenarioFor({ seed: 1, warehouses: 1 })))).toEqual([0]);
  });

  it('cuts the default city across few shared customers (far fewer than a split by store number)', () => {
    const city = buildCity(scenarioFor({ seed: 1, warehouses: 10 }));
    const index = new SpatialIndex(
      city.warehouses.map((w) => ({ id: w.entry.id, location: w.entry.location, radiusKm: w.entry.radiusKm })),
    );
    // Customers at a grid of points over the city: how many are covered by stores of both halves.
    const crossing = (owners: readonly number[]) => {
      let shared = 0;
      for (let lat = 52.4; lat <= 52.62; lat += 0.002) {
        for (let lon = 13.28; lon <= 13.52; lon += 0.003) {
          const parts = new Set(index.covering({ lat, lon }).map((m) => owners[Number(m.item.id.slice(1)) - 1]));
          if (parts.size === 2) shared++;
        }
      }
      return shared;
    };
    const split = crossing(splitCity(city));
    const byNumber = crossing(city.warehouses.map((_, i) => (i < 5 ? 0 : 1)));
    expect(split).toBeGreaterThan(0);
    expect(split).toBeLessThan(byNumber / 2);
  });

  it('gives the report of the whole city in one thread, fault scenarios included', async () => {
    for (const choice of [
      { seed: 3, warehouses: 10, hours: 5 },
      { seed: 4, warehouses: 5, hours: 20, name: 'payment-outage' },
      { seed: 5, warehouses: 4, hours: 21, name: 'courier-offline' },
    ] as const) {
      const whole = runEmbedded(choice);
      const split = await runEmbeddedInThreads(choice, {}, 2);
      expect(comparable(split)).toEqual(comparable(whole));
      expect(split.oversoldUnits).toBe(0);
      expect(split.acknowledgedLost).toBe(0);
      expect(split.orders.accepted).toBeGreaterThan(50);
      expect(split.map.deliveries.length).toBeGreaterThan(0);
    }
  });

  it('sums the measurements of long runs (hundreds of thousands of durations)', () => {
    const part = new Metrics(0);
    for (let i = 0; i < 200_000; i++) part.pickPack(i);
    const whole = new Metrics(0);
    whole.absorb(structuredClone(part));
    whole.absorb(structuredClone(part));
    const report = whole.toReport({
      scenario: 'default',
      seed: 1,
      mode: 'embedded',
      warehouses: 1,
      hours: 1,
      acknowledgedLost: 0,
      faults: [],
      commands: 0,
      wallSeconds: 1,
      open: 0,
      openPastSla: 0,
      sites: [],
    });
    expect(report.pickPackMinutes.p50).toBeCloseTo(100_000 / 60_000, 2);
  });

  it('rejects a scenario it does not know, as a failed run', async () => {
    const run = runEmbeddedInThreads({ name: 'no-such-scenario', hours: 1 }, {}, 2);
    expect(run).toBeInstanceOf(Promise);
    await expect(run).rejects.toThrow(/unknown scenario no-such-scenario/);
  });

  it('runs in one thread when asked to, with the same report', async () => {
    const choice = { seed: 3, warehouses: 3, hours: 3 };
    const one = await runEmbeddedInThreads(choice, {}, 1);
    expect(comparable(one)).toEqual(comparable(runEmbedded(choice)));
  });
});
