/**
 * The catalog read model of a region: answers `catalogSubject(region)` (queue group REGION_QUEUE,
 * msgpack request/reply, see catalog-query.ts) from a versioned view per warehouse of the region,
 * so browsing never reaches the single writers. Each view follows its warehouse's availability feed
 * through an ephemeral consumer of this process (every process keeps every view) and resyncs from
 * the warehouse's `changes` query at start and every CATALOG_RESYNC_INTERVAL_MS, which bounds the
 * staleness each answer states. The warehouses come from the region directory (every process's,
 * with their place, radius and whether they are up) or, without one, from this process's config;
 * the set followed is reconciled at every resync interval. Owns the views; never writes to a
 * warehouse.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { type GeoPoint, haversineKm } from '../engine/index.ts';
import { catalogSubject, decodeRequest, encodeReply, errorReply, REGION_QUEUE } from '../protocol/index.ts';
import { AvailabilityFollower } from './availability-follower.ts';
import { answerCatalog, CATALOG_CANDIDATES_MAX, type CatalogSite, parseCatalogRequest } from './catalog-query.ts';
import type { RegionDirectory } from './directory.ts';
import { notServing, type RegionHost } from './region.ts';
import { VersionedView } from './versioned-view.ts';

/** How often the views resync and the set of warehouses followed is reconciled. */
export const CATALOG_RESYNC_INTERVAL_MS = 10_000;
/** Warehouses farther than this are not reported as candidates of a refused address. */
export const CATALOG_NEARBY_KM = 50;

/** Where the catalog learns the region's warehouses. */
export interface CatalogWarehouses {
  /**
   * The warehouses to follow now: those up. A view of a warehouse that is down could not be served
   * anyway, and its resyncs would only add failed queries; it is dropped and rebuilt once it is back.
   */
  ids(): string[];
  /** The warehouses near a point, nearest first: the covering ones, then others within CATALOG_NEARBY_KM. */
  sites(point: GeoPoint): CatalogSite[];
}

/** The region directory's warehouses: every process's, up or down as announced. */
export function directoryWarehouses(directory: RegionDirectory): CatalogWarehouses {
  return {
    ids: () =>
      directory
        .entries()
        .filter((w) => directory.downReason(w) === undefined)
        .map((w) => w.id),
    sites: (point) => {
      const sites = new Map<string, CatalogSite>();
      const matches = [
        ...directory.covering(point),
        ...directory.near(point, CATALOG_NEARBY_KM, CATALOG_CANDIDATES_MAX),
      ];
      for (const { item, distanceKm } of matches) {
        if (sites.has(item.id)) continue;
        const site: CatalogSite = { warehouseId: item.id, distanceKm, radiusKm: item.radiusKm };
        const down = directory.downReason(item);
        sites.set(item.id, down === undefined ? site : { ...site, downReason: down });
      }
      return [...sites.values()];
    },
  };
}

/** This process's warehouses from its config (a region served by one process needs no directory). */
export function configWarehouses(host: RegionHost): CatalogWarehouses {
  return {
    ids: () =>
      host.options.config.warehouses
        .filter((w) => {
          const hosted = host.warehouses.get(w.id);
          return hosted !== undefined && notServing(hosted) === undefined;
        })
        .map((w) => w.id),
    sites: (point) => {
      const sites: CatalogSite[] = [];
      for (const { id, location, radiusKm } of host.options.config.warehouses) {
        const distanceKm = haversineKm(point, location);
        if (distanceKm > Math.max(radiusKm, CATALOG_NEARBY_KM)) continue;
        const hosted = host.warehouses.get(id);
        const down = hosted === undefined ? 'not open' : notServing(hosted);
        sites.push(
          down === undefined
            ? { warehouseId: id, distanceKm, radiusKm }
            : { warehouseId: id, distanceKm, radiusKm, downReason: down },
        );
      }
      // Covering first, each group nearest first.
      const covers = (s: CatalogSite) => (s.distanceKm <= s.radiusKm ? 0 : 1);
      return sites.sort((a, b) => covers(a) - covers(b) || a.distanceKm - b.distanceKm);
    },
  };
}

export interface CatalogOptions {
  nc: NatsConnection;
  region: string;
  warehouses: CatalogWarehouses;
  logger?: Logger;
  clock?: () => number;
  resyncIntervalMs?: number;
}

export class Catalog {
  private readonly followers = new Map<string, AvailabilityFollower>();
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> | undefined;
  private stopped = false;
  private readonly clock: () => number;

  private constructor(private readonly options: CatalogOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** Follows the region's warehouses (first resync tried), then answers catalog queries. */
  static async start(options: CatalogOptions): Promise<Catalog> {
    const catalog = new Catalog(options);
    await catalog.reconcile();
    catalog.subscription = options.nc.subscribe(catalogSubject(options.region), {
      queue: REGION_QUEUE,
      callback: (error, msg) => {
        if (error === null) msg.respond(catalog.answer(msg.data));
      },
    });
    catalog.timer = setInterval(() => void catalog.reconcile(), options.resyncIntervalMs ?? CATALOG_RESYNC_INTERVAL_MS);
    catalog.timer.unref();
    return catalog;
  }

  /** The view of a warehouse, if followed. */
  view(warehouseId: string): VersionedView | undefined {
    return this.followers.get(warehouseId)?.view;
  }

  /** Answers one request body; never throws, whatever the body. */
  answer(body: Uint8Array): Uint8Array {
    const decoded = decodeRequest(body);
    if (!decoded.ok) return errorReply(decoded.error);
    const request = parseCatalogRequest(decoded.value);
    if (!request.ok) return errorReply(request.error);
    const sites = this.options.warehouses.sites(request.value.address);
    const result = answerCatalog(request.value, sites, (id) => this.view(id), this.clock());
    return encodeReply(result);
  }

  /** Starts following new warehouses and stops following those that left; one pass at a time. */
  reconcile(): Promise<void> {
    if (this.reconciling === undefined) {
      this.reconciling = this.reconcileNow().finally(() => {
        this.reconciling = undefined;
      });
    }
    return this.reconciling;
  }

  private async reconcileNow(): Promise<void> {
    const wanted = new Set(this.options.warehouses.ids());
    const leaving = [...this.followers.entries()].filter(([id]) => !wanted.has(id));
    for (const [id] of leaving) this.followers.delete(id);
    await Promise.all(leaving.map(([, follower]) => follower.stop()));
    const joining = [...wanted].filter((id) => !this.followers.has(id));
    await Promise.all(joining.map((id) => this.follow(id)));
  }

  private async follow(warehouseId: string): Promise<void> {
    const { nc, region, logger } = this.options;
    try {
      const follower = await AvailabilityFollower.start(nc, {
        region,
        view: new VersionedView(warehouseId),
        clock: this.clock,
        resyncIntervalMs: this.options.resyncIntervalMs ?? CATALOG_RESYNC_INTERVAL_MS,
        ...(logger === undefined ? {} : { logger }),
      });
      if (this.stopped) await follower.stop();
      else this.followers.set(warehouseId, follower);
    } catch (error) {
      // Tried again at the next reconciliation.
      logger?.warn({ warehouseId, err: error }, 'catalog cannot follow warehouse');
    }
  }

  /** Stops answering and following. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.subscription?.drain().catch(() => undefined);
    await this.reconciling;
    const followers = [...this.followers.values()];
    this.followers.clear();
    await Promise.all(followers.map((f) => f.stop()));
  }
}

/**
 * Starts the catalog of a region process: over the region directory when given (every process's
 * warehouses), else over this process's config.
 */
export function startCatalog(host: RegionHost, directory?: RegionDirectory): Promise<Catalog> {
  const { nc, logger } = host.options;
  return Catalog.start({
    nc,
    region: host.region,
    logger,
    warehouses: directory === undefined ? configWarehouses(host) : directoryWarehouses(directory),
  });
}
