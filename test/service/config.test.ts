/**
 * The region config's payment provider section: decline rate, latency, wall-clock outage windows
 * and the circuit breaker's pause, parsed strictly with the offending path in the refusal.
 */
import { describe, expect, it } from 'vitest';
import { PAYMENT_OUTAGES_MAX, parseRegionConfig } from '../../service/config.ts';

const warehouse = { id: 'w1', location: { lat: 52.5, lon: 13.4 }, radiusKm: 3, slaMinutes: 20 };

function withPayments(payments: unknown) {
  return parseRegionConfig({ region: 'r', warehouses: [warehouse], payments });
}

describe('region config: payments', () => {
  it('reads the simulated provider: decline rate, latency, outages and the breaker pause', () => {
    const config = withPayments({
      declineRate: 0.1,
      latencyMs: { min: 2, max: 20 },
      outages: [{ fromMs: 1_000, toMs: 2_000 }],
      breakerOpenMs: 250,
    });
    expect(config.payments).toEqual({
      declineRate: 0.1,
      latencyMs: { min: 2, max: 20 },
      outages: [{ fromMs: 1_000, toMs: 2_000 }],
      breakerOpenMs: 250,
    });
    expect(withPayments({}).payments).toEqual({ declineRate: 0 });
    expect(parseRegionConfig({ region: 'r', warehouses: [warehouse] }).payments).toBeUndefined();
  });

  it('refuses windows that end before they start, latency upside down and too many windows', () => {
    expect(() => withPayments({ outages: [{ fromMs: 2_000, toMs: 1_000 }] })).toThrow(/payments\.outages\[0\]\.toMs/);
    expect(() => withPayments({ latencyMs: { min: 20, max: 2 } })).toThrow(/payments\.latencyMs\.max/);
    expect(() => withPayments({ outages: {} })).toThrow(/payments\.outages/);
    const many = Array.from({ length: PAYMENT_OUTAGES_MAX + 1 }, () => ({ fromMs: 0, toMs: 1 }));
    expect(() => withPayments({ outages: many })).toThrow(/at most/);
    expect(() => withPayments({ breakerOpenMs: 0 })).toThrow(/payments\.breakerOpenMs/);
  });
});
