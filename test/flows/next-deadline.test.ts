/**
 * The next deadline a warehouse reports is a real one: a courier heard from keeps pushing its silence
 * deadline away, a committed reservation has no expiry, and neither wakes the warehouse in vain; a
 * deadline that is real still fires at its time.
 */
import { describe, expect, it } from 'vitest';
import { COURIER_SILENCE_MS } from '../../engine/limits.ts';
import { Floor, STORE } from './floor.ts';

describe('next deadline', () => {
  it('follows a courier heard from, and reports the silence only when it is due', () => {
    const f = Floor.open({ couriers: ['c1'] });
    const checkedInMs = f.atMs;
    expect(f.warehouse.nextDeadlineMs()).toBe(checkedInMs + COURIER_SILENCE_MS);
    for (let i = 0; i < 40; i++) {
      f.atMs += 30_000;
      expect(f.ping('c1', STORE).ok).toBe(true);
      // Always the real deadline: five minutes after the last ping, never the stale one.
      expect(f.warehouse.nextDeadlineMs()).toBe(f.atMs + COURIER_SILENCE_MS);
    }
    const lastHeardMs = f.atMs;
    f.atMs = lastHeardMs + COURIER_SILENCE_MS;
    f.send({ type: 'tick' });
    expect(f.courierState('c1')).toBe('offline');
    expect(f.warehouse.nextDeadlineMs()).toBeUndefined();
    f.replayMatches();
  });

  it('forgets the expiry of a reservation committed or extended, and expires one that is due', () => {
    const f = Floor.open({ couriers: [] });
    const hold = (key: string) =>
      f.ok({ type: 'reserve', key, lines: [{ sku: 'milk', quantity: 1 }], ttlMs: 60_000 }) as {
        reservationId: string;
      };
    const committed = hold(f.key());
    const extended = hold(f.key());
    f.atMs += 1_000;
    const expiring = hold(f.key());
    expect(f.warehouse.nextDeadlineMs()).toBe(f.atMs - 1_000 + 60_000);
    f.ok({ type: 'commit', key: f.key(), reservationId: committed.reservationId });
    f.ok({ type: 'extend', key: f.key(), reservationId: extended.reservationId, ttlMs: 120_000 });
    // The first two no longer expire at 60 s: the next deadline is the third's.
    expect(f.warehouse.nextDeadlineMs()).toBe(f.atMs + 60_000);
    f.atMs += 60_000;
    f.send({ type: 'tick' });
    expect(f.events('reservation.expired').map((e) => e.reservationId)).toEqual([expiring.reservationId]);
    expect(f.warehouse.nextDeadlineMs()).toBe(f.atMs - 60_000 + 120_000);
    f.replayMatches();
  });
});
