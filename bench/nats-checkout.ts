/**
 * `nats.checkout.p99`: the latency of a checkout with fulfillment-center selection at half of the
 * maximum checkout load. First a short closed loop (64 in flight) finds the maximum rate of placed
 * checkouts; then an open loop sends at half that rate on a fixed schedule and reports the p99 from
 * when each checkout was due. The checkout is the region's own (`darkstore.<region>.checkout`:
 * candidates asked for stock and a quote, the best chosen, the order placed there); when no region
 * process answers that subject, the client does the same from the parts that exist (an `eta` quote
 * from every store, the earliest promise chosen, a reservation there) and the row says so.
 * Measures only.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { CheckoutQuote, GeoPoint } from '../engine/index.ts';
import { decode, encode, type Result } from '../engine/index.ts';
import { checkoutSubject, commandSubject, querySubject, seededSku } from '../service/index.ts';
import { Random } from '../sim/index.ts';
import { fmt } from './measure.ts';
import { closedLoop, type LoadResult, type LoadSpec, openLoop } from './nats-load.ts';
import { BENCH_REGION, BENCH_SKUS, benchRegionConfig } from './nats-procs.ts';
import type { Row, SuiteContext } from './suite.ts';

const IN_FLIGHT = 64;
/** Share of the maximum checkout rate the latency is measured at. */
const LOAD_SHARE = 0.5;
const CHECKOUT_P99_MS_TARGET = 10;
const LINES_PER_CHECKOUT = 3;
/**
 * Hold of the client-side checkout's reservation. The service's checkouts keep its default hold (10
 * min): nobody picks in the bench, so their orders wait in the pick queue for the whole run, and the
 * bench's 2,000 pickers per store keep that queue far from overloaded and within the SLA.
 */
const CHECKOUT_TTL_MS = 60_000;
const REQUEST_TIMEOUT_MS = 30_000;
/** Customers live within this many degrees (about 2 km) of the city centre the stores surround. */
const CUSTOMER_SPREAD_DEG = 0.02;
const CENTRE: GeoPoint = { lat: 52.52, lon: 13.405 };
/** Refusals that mean a checkout could not be placed now (counted, not a bench failure). */
const REFUSALS = new Set(['NO_FULFILLMENT_CENTER', 'UNAVAILABLE', 'INSUFFICIENT_STOCK']);

interface Budget {
  warmupMs: number;
  timeMs: number;
}

type Send = (n: number) => Promise<Uint8Array>;

/** Whether a region process answers the checkout subject (a request with no responder fails fast). */
async function checkoutServed(nc: NatsConnection): Promise<boolean> {
  try {
    await nc.request(checkoutSubject(BENCH_REGION), encode({}), { timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/** 1 for a placed checkout, 0 for a refusal of the moment; throws on anything else (a bench bug). */
function placed(bytes: Uint8Array): number {
  const result = decode(bytes) as Result<unknown>;
  if (result.ok) return 1;
  if (REFUSALS.has(result.error.code)) return 0;
  throw new Error(`checkout refused: ${result.error.code}: ${result.error.message}`);
}

/** A basket and an address, drawn from one seeded stream. */
class Customers {
  private readonly random = new Random(0xc4ec);

  address(): GeoPoint {
    return {
      lat: CENTRE.lat + (this.random.next() - 0.5) * 2 * CUSTOMER_SPREAD_DEG,
      lon: CENTRE.lon + (this.random.next() - 0.5) * 2 * CUSTOMER_SPREAD_DEG,
    };
  }

  /** LINES_PER_CHECKOUT distinct SKUs (an order names each SKU once). */
  lines(): { sku: string; quantity: number }[] {
    const skus = new Set<string>();
    while (skus.size < LINES_PER_CHECKOUT) skus.add(seededSku(this.random.int(0, BENCH_SKUS - 1)));
    return [...skus].map((sku) => ({ sku, quantity: 1 }));
  }
}

/** The region's checkout service: one request per checkout. Keys count on across both loops. */
function serviceCheckout(nc: NatsConnection): Send {
  const customers = new Customers();
  let checkouts = 0;
  return () => {
    const n = checkouts++;
    const body = {
      key: `ck-${n}`,
      orderId: `o-${n}`,
      customerId: `cust-${n % 1_000}`,
      address: customers.address(),
      lines: customers.lines(),
      paymentToken: 'tok-bench',
    };
    return nc.request(checkoutSubject(BENCH_REGION), encode(body), { timeout: REQUEST_TIMEOUT_MS }).then((m) => m.data);
  };
}

/** The checkout done by the client from what exists: quotes from every store, the best, a reservation. */
function clientSideCheckout(nc: NatsConnection): Send {
  const customers = new Customers();
  const stores = benchRegionConfig().warehouses.map((w) => w.id);
  const request = (subject: string, body: unknown) =>
    nc.request(subject, encode(body), { timeout: REQUEST_TIMEOUT_MS }).then((m) => m.data);
  let checkouts = 0;
  return async () => {
    const n = checkouts++;
    const address = customers.address();
    const quotes = await Promise.all(
      stores.map((id) => request(querySubject(BENCH_REGION, id), { type: 'eta', address })),
    );
    let best = 0;
    let bestMs = Number.POSITIVE_INFINITY;
    quotes.forEach((bytes, i) => {
      const result = decode(bytes) as Result<CheckoutQuote>;
      if (!result.ok) throw new Error(`eta refused: ${result.error.code}: ${result.error.message}`);
      if (result.value.promisedInMs < bestMs) [best, bestMs] = [i, result.value.promisedInMs];
    });
    const command = { type: 'reserve', key: `c-${n}`, lines: customers.lines(), ttlMs: CHECKOUT_TTL_MS };
    return request(commandSubject(BENCH_REGION, stores[best] as string), command);
  };
}

function refusedText(l: LoadResult): string {
  const refused = l.requests - l.units;
  return refused === 0 ? '' : `, ${fmt(refused)} refused (no store could take them)`;
}

/** Finds the maximum checkout rate, then the latency at half of it; `idle` waits for the region to go idle. */
export async function checkoutRows(
  ctx: SuiteContext,
  nc: NatsConnection,
  b: Budget,
  idle: () => Promise<void>,
): Promise<Row[]> {
  const served = await checkoutServed(nc);
  const stores = benchRegionConfig().warehouses.length;
  const send = served ? serviceCheckout(nc) : clientSideCheckout(nc);
  const spec = (budget: Budget): LoadSpec<Uint8Array> => ({ ...budget, send, check: placed });
  const probe = ctx.quick ? { warmupMs: 200, timeMs: 500 } : { warmupMs: 1_000, timeMs: 2_000 };
  await idle();
  const max = await closedLoop(spec(probe), IN_FLIGHT);
  const rate = Math.max(1, Math.floor(max.unitsPerSec * LOAD_SHARE));
  ctx.log(`nats: checkout at ${fmt(rate)}/s (half of ${fmt(max.unitsPerSec)}/s)`);
  // What the saturated probe left behind (payment calls, follow-up commands, event consumers) first.
  await idle();
  const at = await openLoop(spec(b), rate);
  const what = served
    ? `darkstore.${BENCH_REGION}.checkout (the region's checkout: ${stores} candidate stores asked for stock, quote ` +
      `and an earlier placement, the best chosen, order.place there with payment authorization; default hold), `
    : `NOT the checkout service (darkstore.${BENCH_REGION}.checkout did not answer): a client-side checkout from ` +
      `what the region serves, an eta quote from each of ${stores} stores in parallel, the earliest promise ` +
      `chosen, a reservation there (ttlMs ${CHECKOUT_TTL_MS}), `;
  return [
    {
      id: 'nats.checkout.p99',
      value: at.p99Ms,
      unit: 'ms',
      target: { op: '<', value: CHECKOUT_P99_MS_TARGET },
      note:
        `${what}${LINES_PER_CHECKOUT} lines. Maximum ${fmt(max.unitsPerSec)} placed/s ` +
        `(${IN_FLIGHT} in flight, p99 ${fmt(max.p99Ms, 1)} ms${refusedText(max)}); at ${fmt(rate)}/s on a fixed ` +
        `schedule: ${fmt(at.requests)} checkouts${refusedText(at)}, p50 ${fmt(at.p50Ms, 2)} ms, p99 ` +
        `${fmt(at.p99Ms, 2)} ms, max ${fmt(at.maxMs, 1)} ms (from when each was due).`,
    },
  ];
}
