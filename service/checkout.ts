/**
 * The region's checkout with fulfillment-center selection, on `checkoutSubject(region)` in the queue
 * group REGION_QUEUE, so any region process answers for every warehouse of the region. One checkout:
 * validate the request → the warehouses whose radius covers the address (the watched directory's
 * spatial index; no KV read) → ask each (in memory when this process hosts it, else over NATS:
 * warehouse-link.ts), in parallel and each within CHECKOUT_CANDIDATE_TIMEOUT_MS,
 * for the availability of every line, its checkout quote and whether this checkout already placed
 * the order there → judge and rank them (checkout-choice.ts) → `order.place` at the best, under the
 * idempotency key `placementKey(key, warehouseId)`; when its reservation loses a race
 * (INSUFFICIENT_STOCK) or the warehouse cannot take it, the next → the order, or
 * NO_FULFILLMENT_CENTER with the reason of every candidate.
 *
 * Idempotent across processes: every attempt of a checkout (its key) places where the checkout's
 * claim says (`checkout-claims.ts`, a KV entry taken before the first placement and moved only when
 * a placement certainly did not happen), under the same placement key, so a checkout sent again
 * answers the order it placed, instead of placing a second order elsewhere because stock or load
 * moved, or the first warehouse was slow or down. An order is never split between warehouses. A
 * placement whose outcome is unknown (no answer in time, UNAVAILABLE) stops the checkout with
 * UNAVAILABLE, and a retry with the same key finds out at the claimed warehouse.
 *
 * Owns the choice and the placement; never holds stock itself (the warehouses do).
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  type Availability,
  type CheckoutQuote,
  type CommandValue,
  type EngineError,
  type GeoPoint,
  haversineKm,
  limits,
  type OrderPlaceCommand,
  type QuantityLine,
  RETRY_AFTER_MS,
  type Result,
  unavailable,
  validateCommand,
  validationError,
} from '../engine/index.ts';
import { checkoutSubject, decodeRequest, encodeReply, errorReply, fitReply, REGION_QUEUE } from '../protocol/index.ts';
import {
  type CandidateReport,
  type CandidateSite,
  judgeCandidate,
  missingLines,
  placementRefusal,
  rankCandidates,
} from './checkout-choice.ts';
import { type CheckoutClaim, CheckoutClaims } from './checkout-claims.ts';
import type { KnownWarehouse, RegionDirectory } from './directory.ts';
import { outboxOf } from './outbox.ts';
import type { RegionHost } from './region.ts';
import type { SpatialMatch } from './spatial-index.ts';
import { type HostedEndpoint, type LinkReply, WarehouseLink } from './warehouse-link.ts';

/** Most candidate warehouses asked per checkout (the nearest that cover the address). */
export const CHECKOUT_CANDIDATES_MAX = 8;
/** How long a candidate has to answer the checkout's questions before it is skipped as unavailable. */
export const CHECKOUT_CANDIDATE_TIMEOUT_MS = 250;
/** How long a placement may take (a durable write) before the checkout answers UNAVAILABLE. */
export const CHECKOUT_PLACE_TIMEOUT_MS = 5_000;
/** When no warehouse covers the address, the nearest ones within this distance are reported. */
export const CHECKOUT_NEARBY_KM = 50;
export const CHECKOUT_NEARBY_MAX = 5;
/** How long the reservation holds when the request does not say (payment and picking get going). */
export const CHECKOUT_TTL_MS_DEFAULT = 10 * 60_000;
/** Checkouts one process answers at once; more are refused with UNAVAILABLE (backpressure). */
export const CHECKOUTS_IN_FLIGHT_MAX = 1_024;

/** A checkout request (msgpack on `checkoutSubject(region)`). */
export interface CheckoutRequest {
  key: string;
  orderId: string;
  customerId: string;
  address: GeoPoint;
  lines: QuantityLine[];
  paymentToken: string;
  allowSubstitutes?: boolean;
  ttlMs?: number;
}

export type OrderValue = Extract<CommandValue, { kind: 'order' }>;

/** A placed checkout: where, the order as the warehouse answered it, and every candidate's verdict. */
export interface CheckoutValue {
  kind: 'checkout';
  warehouseId: string;
  order: OrderValue;
  promisedAtMs: number;
  candidates: CandidateReport[];
}

export type CheckoutResult = Result<CheckoutValue>;

export interface CheckoutOptions {
  nc: NatsConnection;
  directory: RegionDirectory;
  logger: Logger;
  /** The warehouses this process hosts, asked in memory instead of over NATS (none by default). */
  hosted?: (warehouseId: string) => HostedEndpoint | undefined;
  /** Where each checkout places its order (`checkout-claims.ts`). */
  claims: CheckoutClaims;
  candidateTimeoutMs?: number;
  placeTimeoutMs?: number;
}

/** The idempotency key of a checkout's placement at one warehouse. */
export function placementKey(key: string, warehouseId: string): string {
  return `${key}:${warehouseId}`;
}

/** Validates a checkout request as the order it places (the placement key is checked later). */
function parseCheckout(input: unknown): { ok: true; value: OrderPlaceCommand } | { ok: false; error: EngineError } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, error: validationError('', 'must be an object') };
  }
  if ('type' in input) return { ok: false, error: validationError('type', 'is not a known field') };
  const validated = validateCommand({ ttlMs: CHECKOUT_TTL_MS_DEFAULT, ...input, type: 'order.place' });
  if (!validated.ok) return validated;
  return validated.value.type === 'order.place'
    ? { ok: true, value: validated.value }
    : { ok: false, error: validationError('', 'is not a checkout') };
}

/**
 * No candidate takes the order. `passing`: one that covers the address could not be asked and may
 * be back soon, so the refusal says when to ask again (`retryAfterMs`) instead of being final.
 */
function noFulfillmentCenter(orderId: string, candidates: CandidateReport[], passing: boolean): EngineError {
  const why =
    candidates.length === 0
      ? 'no warehouse of the region is near the address'
      : candidates.map((c) => `${c.warehouseId} ${c.reason}`).join(', ');
  const error: Extract<EngineError, { code: 'NO_FULFILLMENT_CENTER' }> = {
    code: 'NO_FULFILLMENT_CENTER',
    message: `no warehouse can fulfil order ${orderId}: ${why}`,
    candidates,
  };
  if (passing) error.retryAfterMs = RETRY_AFTER_MS.restarting;
  return error;
}

/** Why a candidate gave no answer, and whether that passes (see `Probe.passing`). */
interface NoAnswer {
  problem: string;
  passing: boolean;
}

/**
 * The value of an answer, or why there is none. NOT_FOUND is an answer (of undefined). Nobody serving
 * (a restart) or an UNAVAILABLE that says when to come back passes; no answer in time does not (an
 * overloaded warehouse: asking again soon would add to its load), nor does any other refusal
 * (UNAVAILABLE from a failed warehouse among them).
 */
function answerOf(reply: LinkReply): { value: unknown } | NoAnswer {
  // A request that reached nobody cannot have acted: that is the no-responders case.
  if (!reply.answered) return { problem: reply.message, passing: !reply.mayHaveActed };
  if (reply.result.ok) return { value: reply.result.value };
  const error = reply.result.error;
  if (error.code === 'NOT_FOUND') return { value: undefined };
  return { problem: error.message, passing: error.code === 'UNAVAILABLE' && error.retryAfterMs !== undefined };
}

/** What a candidate answered, judged, and whether this checkout already placed the order there. */
interface Probe {
  report: CandidateReport;
  placedBefore: boolean;
  /** Skipped for a reason that passes (down for a restart, nobody serving it, reopening). */
  passing: boolean;
}

export class CheckoutService {
  private subscription: Subscription | undefined;
  private inFlight = 0;
  private readonly candidateTimeoutMs: number;
  private readonly placeTimeoutMs: number;
  private readonly link: WarehouseLink;

  constructor(private readonly options: CheckoutOptions) {
    this.link = new WarehouseLink(options.nc, options.directory.region, options.hosted);
    this.candidateTimeoutMs = options.candidateTimeoutMs ?? CHECKOUT_CANDIDATE_TIMEOUT_MS;
    this.placeTimeoutMs = options.placeTimeoutMs ?? CHECKOUT_PLACE_TIMEOUT_MS;
  }

  private get region(): string {
    return this.options.directory.region;
  }

  /** Starts answering `checkoutSubject(region)` in the region's queue group. */
  static start(options: CheckoutOptions): CheckoutService {
    const service = new CheckoutService(options);
    service.subscription = options.nc.subscribe(checkoutSubject(service.region), {
      queue: REGION_QUEUE,
      callback: (error, msg) => {
        if (error === null) void service.answer(msg);
      },
    });
    return service;
  }

  /** Decodes, checks out and replies; never throws, whatever the body. */
  private async answer(msg: Msg): Promise<void> {
    const outbox = outboxOf(this.options.nc, this.options.logger);
    if (this.inFlight >= CHECKOUTS_IN_FLIGHT_MAX) {
      outbox.reply(
        msg,
        errorReply(
          unavailable(`more than ${CHECKOUTS_IN_FLIGHT_MAX} checkouts in flight`, RETRY_AFTER_MS.checkoutsBusy),
        ),
      );
      return;
    }
    const decoded = decodeRequest(msg.data);
    if (!decoded.ok) {
      outbox.reply(msg, errorReply(decoded.error));
      return;
    }
    this.inFlight++;
    try {
      const reply = encodeReply(await this.checkout(decoded.value));
      outbox.reply(msg, fitReply(reply, this.options.nc.info?.max_payload));
    } catch (error) {
      // A bug, not bad input: answer, log, keep serving.
      this.options.logger.error({ err: error }, 'checkout failed');
      outbox.reply(msg, errorReply(unavailable('internal error')));
    } finally {
      this.inFlight--;
    }
  }

  /** One checkout, from the decoded request to its result (also for in-process callers and tests). */
  async checkout(input: unknown): Promise<CheckoutResult> {
    const parsed = parseCheckout(input);
    if (!parsed.ok) return parsed;
    const order = parsed.value;
    const matches = this.options.directory.covering(order.address).slice(0, CHECKOUT_CANDIDATES_MAX);
    // No warehouse covers the address now: an earlier attempt's claim still answers, if there is one.
    if (matches.length === 0) return this.placeBest(order, this.outOfRange(order), [], false);
    const longest = Math.max(...matches.map((m) => m.item.id.length));
    if (order.key.length + 1 + longest > limits.ID_LENGTH_MAX) {
      return {
        ok: false,
        error: validationError('key', `must have at most ${limits.ID_LENGTH_MAX - 1 - longest} characters`),
      };
    }
    const probes = await Promise.all(matches.map((m) => this.probe(order, m)));
    const reports = probes.map((p) => p.report);
    const earlier = probes.find((p) => p.placedBefore);
    const ranked = earlier === undefined ? rankCandidates(reports) : [earlier.report];
    return this.placeBest(
      order,
      reports,
      ranked,
      probes.some((p) => p.passing),
    );
  }

  /** The nearest warehouses that do not reach the address, as out_of_range reports. */
  private outOfRange(order: OrderPlaceCommand): CandidateReport[] {
    return this.options.directory.near(order.address, CHECKOUT_NEARBY_KM, CHECKOUT_NEARBY_MAX).map((m) => ({
      warehouseId: m.item.id,
      reason: 'out_of_range',
      distanceKm: m.distanceKm,
      radiusKm: m.item.radiusKm,
    }));
  }

  /** Asks one candidate, in parallel: stock of every line, its quote, and an earlier placement. */
  private async probe(order: OrderPlaceCommand, match: SpatialMatch<KnownWarehouse>): Promise<Probe> {
    const w = match.item;
    const site: CandidateSite = {
      warehouseId: w.id,
      distanceKm: match.distanceKm,
      radiusKm: w.radiusKm,
      slaMinutes: w.slaMinutes,
    };
    const skipped = (detail: string, passing: boolean): Probe => ({
      report: { warehouseId: w.id, reason: 'unavailable', distanceKm: match.distanceKm, radiusKm: w.radiusKm, detail },
      placedBefore: false,
      passing,
    });
    const down = this.options.directory.downReason(w);
    // Down for a stop, a restart or a reopen passes; a warehouse that failed waits for an operator.
    if (down !== undefined) return skipped(down, w.failed !== true);
    // Stock and quote are advisory (the placement decides): read from memory, without waiting for
    // the warehouse's next group commit. Whether this order was placed there before must be durable.
    const timeoutMs = this.candidateTimeoutMs;
    const link = this.link;
    const [stock, quote, earlier] = await Promise.all([
      link.peek(w.id, { type: 'availability', skus: order.lines.map((l) => l.sku) }, timeoutMs),
      link.peek(w.id, { type: 'eta', address: order.address }, timeoutMs),
      link.read(w.id, { type: 'command', key: placementKey(order.key, w.id) }, timeoutMs),
    ]);
    const answers = [stock, quote, earlier].map(answerOf);
    const missing = answers.find((a): a is NoAnswer => 'problem' in a);
    if (missing !== undefined) return skipped(missing.problem, missing.passing);
    const [available, quoted, stored] = answers as { value: unknown }[];
    if (available?.value === undefined || quoted?.value === undefined) return skipped('no answer', false);
    const report = judgeCandidate(
      site,
      missingLines(order.lines, available.value as { items: Availability[] }),
      quoted.value as CheckoutQuote,
      order.allowSubstitutes === true,
    );
    const before = stored?.value as Result | undefined;
    return { report, placedBefore: before?.ok === true && before.value.kind === 'order', passing: false };
  }

  /**
   * Places the order at the ranked candidates in turn until one takes it, where the checkout's
   * claim says (`checkout-claims.ts`): this attempt claims its first choice unless an earlier
   * attempt of the same checkout claimed one, and then follows that. It moves the claim on only
   * when the placement there certainly did not happen: refused for good (the placement key makes
   * that refusal the answer to any attempt), or not delivered to a warehouse this attempt had just
   * claimed. An unknown outcome (no answer in time, the warehouse unreachable under an earlier
   * attempt's claim, or UNAVAILABLE: it may have failed after writing the order) answers
   * UNAVAILABLE, and a retry finds out where the claim says. `passing`: a candidate could not be
   * asked now and may be back soon, so a NO_FULFILLMENT_CENTER says when to ask again.
   */
  private async placeBest(
    order: OrderPlaceCommand,
    reports: CandidateReport[],
    ranked: CandidateReport[],
    passing: boolean,
  ): Promise<CheckoutResult> {
    const { region } = this;
    const claims = this.options.claims;
    /** The checkout must be sent again with its key; `retryAfterMs` unless the target failed for good. */
    const retry = (what: string, retryAfterMs: number | undefined = RETRY_AFTER_MS.restarting): CheckoutResult => ({
      ok: false,
      error: unavailable(`${what}; retry the checkout with the same key`, retryAfterMs),
    });
    const tried = new Set<string>();
    let claim: CheckoutClaim | undefined;
    try {
      if (ranked.length === 0) {
        // Nowhere to place it now: unless an earlier attempt claimed a warehouse, which answers.
        claim = await claims.get(region, order.key);
        if (claim === undefined) return { ok: false, error: noFulfillmentCenter(order.orderId, reports, passing) };
      }
      for (;;) {
        claim ??= await claims.take(region, order.key, (ranked[0] as CandidateReport).warehouseId);
        const target = claim.warehouseId;
        tried.add(target);
        let report = reports.find((r) => r.warehouseId === target);
        if (report === undefined) {
          // Claimed by an earlier attempt at a warehouse this one did not list (the directory moved).
          const known = this.options.directory.entries().find((w) => w.id === target);
          report = {
            warehouseId: target,
            reason: 'unavailable',
            distanceKm: known === undefined ? -1 : haversineKm(known.location, order.address),
            radiusKm: known?.radiusKm ?? -1,
            detail: 'claimed by an earlier attempt of this checkout',
          };
          reports.push(report);
        }
        const command = { ...order, key: placementKey(order.key, target) };
        const reply = await this.link.command(target, command, this.placeTimeoutMs);
        if (!reply.answered) {
          const what = `placing order ${order.orderId} at ${target} did not answer (${reply.message})`;
          if (reply.mayHaveActed || !claim.mine) return retry(what);
          report.reason = 'unavailable';
          report.detail = reply.message;
        } else {
          const result = reply.result as Result;
          if (result.ok && result.value.kind === 'order') {
            report.reason = 'chosen';
            const value = result.value;
            return {
              ok: true,
              value: {
                kind: 'checkout',
                warehouseId: target,
                order: value,
                promisedAtMs: value.promisedAtMs,
                candidates: reports,
              },
            };
          }
          const error = result.ok ? unavailable(`unexpected answer ${result.value.kind}`) : result.error;
          if (error.code === 'UNAVAILABLE') {
            report.reason = 'unavailable';
            report.detail = error.message;
            // The target's own hint: passing (reopening, a full queue), or none when it failed.
            return retry(`placing order ${order.orderId} at ${target}: ${error.message}`, error.retryAfterMs);
          }
          if (placementRefusal(report, error) === 'stop') return { ok: false, error };
        }
        const next = ranked.find((r) => !tried.has(r.warehouseId));
        if (next === undefined) {
          await claims.release(region, order.key, claim);
          return { ok: false, error: noFulfillmentCenter(order.orderId, reports, passing) };
        }
        claim = await claims.move(region, order.key, claim, next.warehouseId);
      }
    } catch (error) {
      // The claims bucket did not answer: where an earlier attempt placed the order is unknown.
      return retry(`checkout claims unavailable (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  /** Stops taking checkouts and waits (bounded) for those in flight. */
  async stop(): Promise<void> {
    await this.subscription?.drain().catch(() => undefined);
    for (let i = 0; i < 200 && this.inFlight > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The checkout of a region process, over its connection, the region's directory and the claims bucket. */
export async function startCheckout(host: RegionHost, directory: RegionDirectory): Promise<CheckoutService> {
  return CheckoutService.start({
    nc: host.options.nc,
    directory,
    logger: host.options.logger,
    hosted: (warehouseId) => host.endpoint(warehouseId),
    claims: await CheckoutClaims.open(host.options.nc),
  });
}
