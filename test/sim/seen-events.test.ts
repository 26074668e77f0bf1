/**
 * The simulator's memory of events handed on (sim/seen-events.ts): a repeat is recognised, a late
 * original is not mistaken for one, and the memory stays bounded, forgetting the oldest first.
 */
import { describe, expect, it } from 'vitest';
import { SeenEvents } from '../../sim/seen-events.ts';

describe('seen events', () => {
  it('knows what it saw by (seq, index), and nothing else', () => {
    const seen = new SeenEvents(10);
    seen.add(5, 0);
    seen.add(5, 1);
    seen.add(7, 0);
    expect([seen.has(5, 0), seen.has(5, 1), seen.has(7, 0)]).toEqual([true, true, true]);
    expect([seen.has(6, 0), seen.has(5, 2), seen.has(0, 5)]).toEqual([false, false, false]);
  });

  it('keeps a command with more than 65,536 events apart from the next command (a large expiry tick)', () => {
    const seen = new SeenEvents(10);
    seen.add(5, 70_000);
    expect(seen.has(5, 70_000)).toBe(true);
    expect(seen.has(6, 70_000 - 65_536)).toBe(false);
  });

  it('forgets the oldest past its bound', () => {
    const seen = new SeenEvents(1_000);
    for (let seq = 1; seq <= 20_000; seq++) seen.add(seq, 0);
    expect(seen.has(19_001, 0)).toBe(true);
    expect(seen.has(20_000, 0)).toBe(true);
    expect(seen.has(19_000, 0)).toBe(false);
    expect(seen.has(1, 0)).toBe(false);
  });
});
