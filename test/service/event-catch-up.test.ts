/**
 * When a warehouse that gave up publishing is reopened (`CatchUpSchedule`): at the first check after
 * it gave up; again only after a wait that doubles while it keeps giving up, up to the bound; and
 * from the start again once it stayed caught up through a check. And a warehouse being reopened is
 * not serving.
 */
import { describe, expect, it } from 'vitest';
import { CATCH_UP_DELAY_MAX_MS, CatchUpSchedule, type HostedWarehouse, notServing } from '../../service/index.ts';

describe('catch-up schedule', () => {
  it('catches a warehouse up at once, then waits twice as long each time it gives up again', () => {
    const schedule = new CatchUpSchedule(1_000);
    expect(schedule.due(['W1', 'W2'], 0)).toEqual(['W1', 'W2']);
    schedule.started('W1', 0);
    // W1 gave up again at once: it waits 1 s, then 2 s, 4 s…; W2 was not caught up and stays due.
    expect(schedule.due(['W1', 'W2'], 999)).toEqual(['W2']);
    expect(schedule.due(['W1'], 1_000)).toEqual(['W1']);
    schedule.started('W1', 1_000);
    expect(schedule.due(['W1'], 2_999)).toEqual([]);
    expect(schedule.due(['W1'], 3_000)).toEqual(['W1']);
    schedule.started('W1', 3_000);
    expect(schedule.due(['W1'], 6_999)).toEqual([]);
    expect(schedule.due(['W1'], 7_000)).toEqual(['W1']);
  });

  it('never waits longer than the bound', () => {
    const schedule = new CatchUpSchedule(1_000);
    let now = 0;
    for (let i = 0; i < 30; i++) {
      expect(schedule.due(['W1'], now)).toEqual(['W1']);
      schedule.started('W1', now);
      now += CATCH_UP_DELAY_MAX_MS;
    }
    expect(schedule.due(['W1'], now - 1)).toEqual([]);
  });

  it('starts over for a warehouse that stayed caught up through a check', () => {
    const schedule = new CatchUpSchedule(1_000);
    schedule.started('W1', 0);
    schedule.started('W1', 1_000); // next wait 2 s
    expect(schedule.due([], 2_000)).toEqual([]); // caught up at this check
    expect(schedule.due(['W1'], 2_001)).toEqual(['W1']);
    schedule.started('W1', 2_001);
    expect(schedule.due(['W1'], 3_000)).toEqual([]);
    expect(schedule.due(['W1'], 3_001)).toEqual(['W1']);
  });
});

describe('a warehouse being reopened', () => {
  it('is not serving: the directory, catalog, discovery and metrics say why', () => {
    const entry = { id: 'W1' } as HostedWarehouse['entry'];
    const host = {} as NonNullable<HostedWarehouse['host']>;
    expect(notServing({ entry, inFlight: 0, host })).toBeUndefined();
    expect(notServing({ entry, inFlight: 0, host, reopening: true })).toMatch(/reopening/);
    expect(notServing({ entry, inFlight: 0 })).toBe('not open');
    expect(notServing({ entry, inFlight: 0, host, reopening: true, failure: 'disk full' })).toBe('disk full');
  });
});
