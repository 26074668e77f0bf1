/**
 * The catalog query: what a shopper at an address can buy now. The request `{ address: { lat, lon },
 * skus?, limit?, after? }` is answered from the versioned views the catalog keeps, by the warehouse
 * that would serve the address: the nearest whose delivery radius covers it and whose view is synced
 * and fresh (the next covering one otherwise). Without `skus` the answer lists the SKUs with stock
 * (available > 0) in id order, at most `limit`, with `next` to continue from; with `skus`, those of
 * them the warehouse carries, whatever their stock. Every answer states the view's staleness. No
 * warehouse to serve the address is NO_FULFILLMENT_CENTER with the reason per candidate. Pure: no
 * I/O, time comes in as an argument.
 */
import { type EngineError, type GeoPoint, limits, type Result, validationError } from '../engine/index.ts';
import type { VersionedAvailability, VersionedView } from './versioned-view.ts';

/** Items listed when the request does not say. */
export const CATALOG_ITEMS_DEFAULT = 100;
/** Most items one answer lists. */
export const CATALOG_ITEMS_MAX = 1_000;
/** Most SKUs one request may name. */
export const CATALOG_SKUS_MAX = 1_000;
/** A view older than this is not shown to shoppers (its warehouse has not been heard of since). */
export const CATALOG_STALENESS_MAX_MS = 60_000;
/** Most candidates a refusal reports. */
export const CATALOG_CANDIDATES_MAX = 8;

export interface CatalogRequest {
  address: GeoPoint;
  skus?: string[];
  limit?: number;
  /** List the SKUs after this id (the `next` of the previous answer). */
  after?: string;
}

export interface CatalogReply {
  warehouseId: string;
  items: VersionedAvailability[];
  /** How old the view may be: time since its last complete resync was asked (events alone do not count). */
  stalenessMs: number;
  /** More items follow: ask again with `after: next`. */
  next?: string;
}

/** A warehouse near an address, as the catalog's source of warehouses sees it. */
export interface CatalogSite {
  warehouseId: string;
  distanceKm: number;
  radiusKm: number;
  /** Why it cannot take orders now, when it cannot. */
  downReason?: string;
}

export type CatalogCandidateReason = 'out_of_range' | 'unavailable' | 'not_synced' | 'stale';

/** A candidate that could not serve the address and why. */
export interface CatalogCandidate {
  warehouseId: string;
  reason: CatalogCandidateReason;
  distanceKm: number;
  radiusKm: number;
  detail?: string;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; error: EngineError };

function invalid(path: string, message: string): Parsed<never> {
  return { ok: false, error: validationError(path, message) };
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= limits.ID_LENGTH_MAX;
}

/** Validates a catalog request. Bad input is a VALIDATION_ERROR with the path; never throws. */
export function parseCatalogRequest(input: unknown): Parsed<CatalogRequest> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return invalid('', 'must be an object');
  const o = input as Record<string, unknown>;
  const address = o.address as Record<string, unknown> | null | undefined;
  if (typeof address !== 'object' || address === null) return invalid('address', 'must be { lat, lon }');
  const { lat, lon } = address;
  if (typeof lat !== 'number' || !(lat >= -90 && lat <= 90)) return invalid('address.lat', 'must be -90 to 90');
  if (typeof lon !== 'number' || !(lon >= -180 && lon <= 180)) return invalid('address.lon', 'must be -180 to 180');
  const request: CatalogRequest = { address: { lat, lon } };
  if (o.skus !== undefined) {
    if (!Array.isArray(o.skus) || o.skus.length === 0 || o.skus.length > CATALOG_SKUS_MAX) {
      return invalid('skus', `must list 1 to ${CATALOG_SKUS_MAX} SKUs`);
    }
    const bad = o.skus.findIndex((s) => !isId(s));
    if (bad >= 0) return invalid(`skus[${bad}]`, `must be 1 to ${limits.ID_LENGTH_MAX} characters`);
    request.skus = o.skus as string[];
  }
  if (o.limit !== undefined) {
    if (!Number.isInteger(o.limit) || (o.limit as number) < 1 || (o.limit as number) > CATALOG_ITEMS_MAX) {
      return invalid('limit', `must be an integer from 1 to ${CATALOG_ITEMS_MAX}`);
    }
    request.limit = o.limit as number;
  }
  if (o.after !== undefined) {
    if (!isId(o.after)) return invalid('after', `must be 1 to ${limits.ID_LENGTH_MAX} characters`);
    request.after = o.after;
  }
  return { ok: true, value: request };
}

/** Why a site cannot serve from its view now, or undefined when it can. */
function refusal(site: CatalogSite, view: VersionedView | undefined, nowMs: number): CatalogCandidate | undefined {
  const { warehouseId, distanceKm, radiusKm } = site;
  const candidate = (reason: CatalogCandidateReason, detail?: string): CatalogCandidate =>
    detail === undefined
      ? { warehouseId, reason, distanceKm, radiusKm }
      : { warehouseId, reason, distanceKm, radiusKm, detail };
  if (distanceKm > radiusKm) return candidate('out_of_range');
  if (site.downReason !== undefined) return candidate('unavailable', site.downReason);
  const stalenessMs = view?.stalenessMs(nowMs);
  if (view === undefined || stalenessMs === undefined || view.stats.resyncs === 0) return candidate('not_synced');
  if (stalenessMs > CATALOG_STALENESS_MAX_MS) return candidate('stale', `view ${Math.round(stalenessMs)} ms old`);
  return undefined;
}

function items(request: CatalogRequest, view: VersionedView): { items: VersionedAvailability[]; next?: string } {
  const limit = request.limit ?? CATALOG_ITEMS_DEFAULT;
  if (request.skus === undefined) return view.list(limit, request.after, (item) => item.available > 0);
  // The SKUs asked for, in SKU order from after `after`: a page ends where the next begins.
  const after = request.after;
  const wanted = [...new Set(request.skus)].filter((sku) => after === undefined || sku > after).sort();
  const listed: VersionedAvailability[] = [];
  for (const sku of wanted) {
    const item = view.get(sku);
    if (item === undefined) continue;
    if (listed.length === limit)
      return { items: listed, next: (listed[listed.length - 1] as VersionedAvailability).sku };
    listed.push(item);
  }
  return { items: listed };
}

/**
 * Answers a catalog request from the views, given the sites near the address nearest first (covering
 * or not). Never reaches a warehouse.
 */
export function answerCatalog(
  request: CatalogRequest,
  sites: readonly CatalogSite[],
  viewOf: (warehouseId: string) => VersionedView | undefined,
  nowMs: number,
): Result<CatalogReply> {
  const candidates: CatalogCandidate[] = [];
  for (const site of sites) {
    const view = viewOf(site.warehouseId);
    const refused = refusal(site, view, nowMs);
    if (refused === undefined && view !== undefined) {
      const stalenessMs = view.stalenessMs(nowMs) ?? 0;
      return { ok: true, value: { warehouseId: site.warehouseId, stalenessMs, ...items(request, view) } };
    }
    if (refused !== undefined && candidates.length < CATALOG_CANDIDATES_MAX) candidates.push(refused);
  }
  const why =
    candidates.length === 0
      ? 'no warehouse of the region is near the address'
      : candidates
          .map((c) => `${c.warehouseId} ${c.reason}${c.detail === undefined ? '' : ` (${c.detail})`}`)
          .join(', ');
  return {
    ok: false,
    error: {
      code: 'NO_FULFILLMENT_CENTER',
      message: `no warehouse serves ${request.address.lat},${request.address.lon}: ${why}`,
      candidates,
    },
  };
}
