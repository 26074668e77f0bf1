/**
 * Which warehouse a checkout (by its key) went to place its order: one claim per key in the
 * JetStream KV bucket CHECKOUT_CLAIMS_BUCKET, taken (a create, which only one attempt wins) before
 * the first placement and moved (compare-and-set on its revision) only once a placement there is
 * known not to have happened. Every attempt of the checkout, whatever its probes saw (a warehouse
 * slow to answer, one counted down, the earlier reservation showing in stock), places where the
 * claim says, under the same placement key, so an order is never placed at two warehouses. Claims
 * expire after CHECKOUT_CLAIM_TTL_MS; later, a retry falls back on asking each candidate whether it
 * holds the order. Left open: a claim taken by an attempt that found its warehouse unreachable ("no
 * responders") is moved on by it, and another attempt that read the claim just before could still
 * reach that warehouse as it comes back (a window of one request); a claim on a warehouse taken out
 * of the region answers UNAVAILABLE until it expires. Sizing: one entry per checkout for an hour
 * (~100 bytes each). Owns the bucket and its keys; never talks to a warehouse.
 */
import { jetstream } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeUntrusted, encode } from '../engine/index.ts';
import { CHECKOUT_CLAIMS_BUCKET } from '../protocol/index.ts';

/** How long a claim lives: longer than a client retries a checkout. */
export const CHECKOUT_CLAIM_TTL_MS = 60 * 60_000;
/** How long one claims request may take (the checkout answers UNAVAILABLE past it). */
export const CHECKOUT_CLAIM_TIMEOUT_MS = 2_000;

/** Where a checkout places its order, at the bucket revision that says so. */
export interface CheckoutClaim {
  warehouseId: string;
  revision: number;
  /** Taken or moved by this attempt (not read from an earlier one). */
  mine: boolean;
}

/** The bucket key of a checkout: its region, then its key in base64url (any string is a valid key). */
export function claimKey(region: string, checkoutKey: string): string {
  return `${region}.${Buffer.from(checkoutKey, 'utf8').toString('base64url') || '_'}`;
}

export class CheckoutClaims {
  private constructor(private readonly kv: KV) {}

  /** Opens (or creates) the bucket: file storage, one value per key, CHECKOUT_CLAIM_TTL_MS. */
  static async open(nc: NatsConnection): Promise<CheckoutClaims> {
    const kv = await new Kvm(jetstream(nc, { timeout: CHECKOUT_CLAIM_TIMEOUT_MS })).create(CHECKOUT_CLAIMS_BUCKET, {
      history: 1,
      ttl: CHECKOUT_CLAIM_TTL_MS,
      storage: 'file',
    });
    return new CheckoutClaims(kv);
  }

  /** The claim of a checkout, if one lives. */
  async get(region: string, checkoutKey: string): Promise<CheckoutClaim | undefined> {
    const entry = await this.kv.get(claimKey(region, checkoutKey));
    if (entry === null || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    const value = decodeUntrusted(entry.value) as { warehouseId?: unknown } | undefined;
    if (typeof value?.warehouseId !== 'string') return undefined;
    return { warehouseId: value.warehouseId, revision: entry.revision, mine: false };
  }

  /** Claims the checkout for `warehouseId` unless an attempt already did: the claim that holds. */
  async take(region: string, checkoutKey: string, warehouseId: string): Promise<CheckoutClaim> {
    try {
      const revision = await this.kv.create(claimKey(region, checkoutKey), encode({ warehouseId }));
      return { warehouseId, revision, mine: true };
    } catch (error) {
      return this.heldOr(region, checkoutKey, error);
    }
  }

  /**
   * Moves a claim to `warehouseId`, from the revision it was read at: the claim that holds (another
   * attempt's, when it moved first).
   */
  async move(region: string, checkoutKey: string, from: CheckoutClaim, warehouseId: string): Promise<CheckoutClaim> {
    try {
      const revision = await this.kv.update(claimKey(region, checkoutKey), encode({ warehouseId }), from.revision);
      return { warehouseId, revision, mine: true };
    } catch (error) {
      return this.heldOr(region, checkoutKey, error);
    }
  }

  /** After a write refused (another attempt wrote first): the claim that holds, or the error. */
  private async heldOr(region: string, checkoutKey: string, error: unknown): Promise<CheckoutClaim> {
    const held = await this.get(region, checkoutKey);
    if (held === undefined) throw error;
    return held;
  }

  /** Ends a claim no placement came of (every candidate refused), unless another attempt moved it. */
  async release(region: string, checkoutKey: string, claim: CheckoutClaim): Promise<void> {
    await this.kv.delete(claimKey(region, checkoutKey), { previousSeq: claim.revision }).catch(() => undefined);
  }
}
