/**
 * What the region sends again after a broken connection (service/event-resend.ts): the messages
 * published from the window before the break on, nothing older, nothing aged out while away, and a
 * byte bound that gives up the oldest and says so.
 */
import { describe, expect, it } from 'vitest';
import { RecentEventMessages } from '../../service/index.ts';

const message = (atMs: number, bytes = 10) => ({
  atMs,
  subject: `s.${atMs}`,
  body: new Uint8Array(bytes),
  id: `id-${atMs}`,
  replayed: false,
});

describe('recent event messages', () => {
  it('sends again what was published from the window before the break on, oldest first', () => {
    const recent = new RecentEventMessages(60_000, 1_000_000);
    for (const at of [0, 30_000, 50_000, 90_000]) recent.record(message(at));
    recent.disconnected(100_000);
    // Away for ten minutes: nothing ages out meanwhile.
    recent.record(message(400_000));
    recent.disconnected(500_000);
    expect(recent.reconnected(700_000).map((m) => m.id)).toEqual(['id-50000', 'id-90000', 'id-400000']);
    expect(recent.givenUp).toBe(0);
  });

  it('sends them again after a second break soon after, marked as sent again', () => {
    const recent = new RecentEventMessages(60_000, 1_000_000);
    for (const at of [0, 10_000, 20_000]) recent.record(message(at));
    recent.disconnected(30_000);
    const first = recent.reconnected(75_000);
    expect(first.map((m) => m.id)).toEqual(['id-0', 'id-10000', 'id-20000']);
    expect(first.every((m) => m.replayed)).toBe(true);
    recent.disconnected(76_000);
    expect(recent.reconnected(77_000).map((m) => m.id)).toEqual(['id-0', 'id-10000', 'id-20000']);
    // Once the window has passed since they were sent again, they age out.
    recent.record(message(140_000));
    expect(recent.size).toBe(1);
  });

  it('forgets messages older than the window while connected', () => {
    const recent = new RecentEventMessages(60_000, 1_000_000);
    recent.record(message(0));
    recent.record(message(70_000));
    expect(recent.size).toBe(1);
    // Quiet for a while: reading ages them out too.
    recent.age(200_000);
    expect(recent.size).toBe(0);
    expect(recent.oldestAtMs).toBeUndefined();
    recent.record(message(70_000));
    expect(recent.reconnected(80_000).map((m) => m.id)).toEqual(['id-70000']);
  });

  it('keeps at most its byte bound, and counts what it gave up while disconnected', () => {
    const recent = new RecentEventMessages(60_000, 100);
    for (let i = 0; i < 5; i++) recent.record(message(i, 30));
    expect(recent.size).toBe(3);
    expect(recent.givenUp).toBe(0);
    recent.disconnected(10);
    recent.record(message(11, 30));
    recent.record(message(12, 30));
    expect(recent.givenUp).toBe(2);
    expect(recent.reconnected(20).map((m) => m.id)).toEqual(['id-4', 'id-11', 'id-12']);
  });
});
