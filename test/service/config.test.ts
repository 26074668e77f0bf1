/**
 * The region config, parsed strictly with the offending path in the refusal: the payment provider
 * section (decline rate, latency, wall-clock outage windows, the circuit breaker's pause), whole
 * numbers for counts, and no field it does not know.
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

describe('region config: warehouses', () => {
  const parse = (w: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    parseRegionConfig({ region: 'r', warehouses: [{ ...warehouse, ...w }], ...extra });

  it('refuses a fraction where a count belongs', () => {
    expect(() => parse({ pickers: 1.5 })).toThrow(/warehouses\[0\]\.pickers: must be a whole number/);
    expect(() => parse({ couriers: 2.5 })).toThrow(/warehouses\[0\]\.couriers/);
    expect(() => parse({ catalog: { seed: 1, skus: 2.5, unitsPerSku: 5 } })).toThrow(/catalog\.skus/);
    expect(() => parse({ catalog: { seed: 1, skus: 5, unitsPerSku: 2.5 } })).toThrow(/catalog\.unitsPerSku/);
    expect(() => parse({ catalog: { seed: 0.5, skus: 5, unitsPerSku: 5 } })).toThrow(/catalog\.seed/);
    expect(parse({ pickers: 3, couriers: 0 }).warehouses[0]).toMatchObject({ pickers: 3, couriers: 0 });
  });

  it('refuses a field it does not know, by its path (a typo would fall back to a default)', () => {
    expect(() => parse({ courier: 10 })).toThrow(/warehouses\[0\]\.courier: is not a config field/);
    expect(() => parse({}, { payment: { declineRate: 0.5 } })).toThrow(/^config payment: is not a config field/);
    expect(() => parse({ location: { lat: 52.5, lon: 13.4, alt: 30 } })).toThrow(/location\.alt/);
    expect(() => parse({ catalog: { seed: 1, skus: 5, unitsPerSku: 5, units: 3 } })).toThrow(/catalog\.units:/);
    expect(() => withPayments({ latencyMs: { min: 1, max: 2, p99: 3 } })).toThrow(/payments\.latencyMs\.p99/);
    expect(() => withPayments({ outages: [{ fromMs: 1, toMs: 2, why: 'x' }] })).toThrow(/outages\[0\]\.why/);
  });
});
