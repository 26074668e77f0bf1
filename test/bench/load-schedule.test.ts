/**
 * The open loop's schedule (bench/nats-load.ts): a request is sent as soon as it is due, never an
 * interval later, so an open loop's latencies do not carry its send interval.
 */
import { describe, expect, it } from 'vitest';
import { dueBy } from '../../bench/nats-load.ts';

describe('open loop schedule', () => {
  it('counts request n as due from n / rate on', () => {
    // 150/s: request n is due at n × 6.67 ms.
    expect(dueBy(0, 150)).toBe(1);
    expect(dueBy(6.6, 150)).toBe(1);
    expect(dueBy(6.7, 150)).toBe(2);
    expect(dueBy(1_000, 150)).toBe(151);
    // 1,000/s: one a millisecond, the first at once.
    expect(dueBy(0.5, 1_000)).toBe(1);
    expect(dueBy(2, 1_000)).toBe(3);
  });
});
