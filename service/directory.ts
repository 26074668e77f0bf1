/**
 * The region directory: every warehouse of the region, whichever process hosts it. Each region
 * process announces the warehouses it hosts (place, delivery radius, SLA, up or down) in the
 * JetStream KV bucket DIRECTORY_BUCKET under `directoryKey(region, id)`, again every
 * DIRECTORY_HEARTBEAT_MS, and marks them down when it stops gracefully. Every process watches the
 * region's keys and keeps the view in memory with a spatial index over it, so the checkout's hot
 * path never reads KV.
 *
 * Staleness, bounded: a change announced (a new warehouse, one marked down at a graceful stop, one
 * that failed, seen at the next heartbeat) reaches every watcher within the watch's delivery time
 * (milliseconds). A process that dies without stopping stops heartbeating: watchers count its
 * warehouses down once they have not heard of them for DIRECTORY_STALE_MS (a watcher that started
 * after the crash sees the last announcement, kept at most DIRECTORY_STALE_MS by the bucket's TTL,
 * so at most twice that), and forget them after DIRECTORY_FORGET_MS. Staleness is measured on each
 * watcher's own clock from when it received an announcement, never by comparing clocks of machines.
 *
 * A process refuses to start when another live process announces one of its warehouses (one that
 * announces again within two heartbeats: a crashed one does not, and its restart goes on),
 * and says so at error when two started at once announce one (two single writers of one warehouse).
 *
 * Owns the announcements of its own process's warehouses and the watched view; never talks to a
 * warehouse.
 */
import * as os from 'node:os';
import { type KV, Kvm, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { decodeUntrusted, encode, type GeoPoint } from '../engine/index.ts';
import { DIRECTORY_BUCKET, directoryKey } from '../protocol/index.ts';
import { notServing, type RegionHost } from './region.ts';
import { SpatialIndex, type SpatialMatch } from './spatial-index.ts';

/** How often a region process announces its warehouses again. */
export const DIRECTORY_HEARTBEAT_MS = 2_000;
/** A warehouse not announced for this long counts as down (its process died). */
export const DIRECTORY_STALE_MS = 3 * DIRECTORY_HEARTBEAT_MS;
/** A warehouse not announced for this long leaves the view. */
export const DIRECTORY_FORGET_MS = 60_000;
/** Most warehouses one directory view holds; announcements beyond are ignored (and logged). */
export const DIRECTORY_ENTRIES_MAX = 4_096;
/** How long `start` waits for the watch to deliver the bucket's current content. */
const DIRECTORY_READY_TIMEOUT_MS = 5_000;

/** A warehouse as its hosting process announces it. */
export interface DirectoryEntry {
  region: string;
  warehouseId: string;
  location: GeoPoint;
  radiusKm: number;
  slaMinutes: number;
  /** Open and answering (false when it failed or its process stopped). */
  up: boolean;
  /** Why it is down, when it is. */
  reason?: string;
  /** It failed (a corrupt log, a full disk): down until an operator acts, not merely stopped or reopening. */
  failed?: boolean;
  /** The process that announced it (host name, pid and a random part). */
  hostId: string;
}

/** A warehouse in the view: its announcement and when this process last received it. */
export interface KnownWarehouse extends DirectoryEntry {
  id: string;
  /** This process's clock when the latest announcement arrived. */
  seenAtMs: number;
}

export interface DirectoryOptions {
  nc: NatsConnection;
  region: string;
  logger: Logger;
  /** The warehouses this process hosts, as they are now (called at start and at every heartbeat). */
  announce: () => Omit<DirectoryEntry, 'hostId' | 'region'>[];
  clock?: () => number;
}

/** Decodes an announcement; undefined when it is not one (a foreign writer, a corrupt value). */
function entryOf(value: Uint8Array): DirectoryEntry | undefined {
  try {
    const e = decodeUntrusted(value) as Partial<DirectoryEntry> | null;
    if (typeof e !== 'object' || e === null) return undefined;
    const { location } = e;
    const ok =
      typeof e.region === 'string' &&
      typeof e.warehouseId === 'string' &&
      typeof location === 'object' &&
      location !== null &&
      Number.isFinite(location.lat) &&
      Number.isFinite(location.lon) &&
      Number.isFinite(e.radiusKm) &&
      Number.isFinite(e.slaMinutes) &&
      typeof e.up === 'boolean' &&
      typeof e.hostId === 'string';
    return ok ? (e as DirectoryEntry) : undefined;
  } catch {
    return undefined;
  }
}

export class RegionDirectory {
  private readonly known = new Map<string, KnownWarehouse>();
  private index = new SpatialIndex<KnownWarehouse>([]);
  private indexStale = false;
  /** The revision of this process's latest announcement of each of its warehouses. */
  private readonly revisions = new Map<string, number>();
  private readonly hostId = `${os.hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  private readonly clock: () => number;
  private heartbeat: NodeJS.Timeout | undefined;
  /** The heartbeat's announcement under way (a stop waits for it, so it cannot undo the mark-down). */
  private beating: Promise<void> | undefined;
  private watcher: { stop(): void } | undefined;
  private stopped = false;
  /** When a warehouse of this process was last said to be announced by another too. */
  private readonly warnedTwiceAtMs = new Map<string, number>();

  private constructor(
    private readonly options: DirectoryOptions,
    private readonly kv: KV,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  /** Opens (or creates) the bucket, announces this process's warehouses and loads the region's view. */
  static async start(options: DirectoryOptions): Promise<RegionDirectory> {
    const kv = await new Kvm(options.nc).create(DIRECTORY_BUCKET, {
      history: 1,
      ttl: DIRECTORY_STALE_MS,
      storage: 'memory',
    });
    const directory = new RegionDirectory(options, kv);
    await directory.refuseHostedElsewhere();
    await directory.announceAll();
    await directory.watch();
    directory.heartbeat = setInterval(() => void directory.beat(), DIRECTORY_HEARTBEAT_MS);
    directory.heartbeat.unref();
    return directory;
  }

  get region(): string {
    return this.options.region;
  }

  /** Warehouses whose delivery radius covers `point`, nearest first (up or not: see `downReason`). */
  covering(point: GeoPoint): SpatialMatch<KnownWarehouse>[] {
    return this.currentIndex().covering(point);
  }

  /** Warehouses at most `distanceKm` from `point`, nearest first, at most `limit`. */
  near(point: GeoPoint, distanceKm: number, limit: number): SpatialMatch<KnownWarehouse>[] {
    return this.currentIndex().within(point, distanceKm, limit);
  }

  /** Every warehouse in the view. */
  entries(): KnownWarehouse[] {
    return [...this.known.values()];
  }

  /** Why a warehouse cannot take orders now (down, or not heard of lately), or undefined when it can. */
  downReason(w: KnownWarehouse): string | undefined {
    if (!w.up) return w.reason ?? 'down';
    const silentMs = this.clock() - w.seenAtMs;
    return silentMs > DIRECTORY_STALE_MS ? `not announced for ${Math.round(silentMs / 1_000)} s` : undefined;
  }

  private currentIndex(): SpatialIndex<KnownWarehouse> {
    if (this.indexStale) {
      this.index = new SpatialIndex([...this.known.values()]);
      this.indexStale = false;
    }
    return this.index;
  }

  /**
   * Refuses to start when another live process announces one of this process's warehouses: two
   * single writers of one warehouse would each apply every command to a log of its own. An entry up
   * under another host may be a process that just crashed (this one is its restart): it is live only
   * if it announces again within two heartbeats (4 s), which the start waits for.
   */
  private async refuseHostedElsewhere(): Promise<void> {
    const { region } = this.options;
    const others = async () => {
      const found = new Map<string, { hostId: string; revision: number }>();
      await Promise.all(
        this.options.announce().map(async (w) => {
          const stored = await this.kv.get(directoryKey(region, w.warehouseId));
          if (stored === null || stored.operation !== 'PUT') return;
          const entry = entryOf(stored.value);
          if (entry?.up === true && entry.hostId !== this.hostId) {
            found.set(w.warehouseId, { hostId: entry.hostId, revision: stored.revision });
          }
        }),
      );
      return found;
    };
    const before = await others();
    if (before.size === 0) return;
    await new Promise((resolve) => setTimeout(resolve, DIRECTORY_HEARTBEAT_MS * 2));
    for (const [warehouseId, now] of await others()) {
      if (before.get(warehouseId)?.revision === now.revision) continue;
      throw new Error(`warehouse ${warehouseId} of region ${region} is hosted by another process (${now.hostId})`);
    }
  }

  /** Announces every warehouse of this process as it is now. */
  private async announceAll(): Promise<void> {
    const { region } = this.options;
    await Promise.all(
      this.options.announce().map(async (w) => {
        const key = directoryKey(region, w.warehouseId);
        this.revisions.set(key, await this.kv.put(key, encode({ ...w, region, hostId: this.hostId })));
      }),
    );
  }

  /** Marks this process's warehouses down, each only if its latest announcement is still ours. */
  private async markDown(): Promise<void> {
    const { region } = this.options;
    await Promise.all(
      this.options.announce().map(async (w) => {
        const key = directoryKey(region, w.warehouseId);
        const revision = this.revisions.get(key);
        if (revision === undefined) return;
        // A conditional write: if another process announced the warehouse since, it hosts it now.
        const entry: DirectoryEntry = { ...w, region, hostId: this.hostId, up: false, reason: 'stopped' };
        await this.kv.update(key, encode(entry), revision).catch(() => undefined);
      }),
    );
  }

  private async beat(): Promise<void> {
    if (this.stopped || this.beating !== undefined) return;
    this.beating = this.announceAll().finally(() => {
      this.beating = undefined;
    });
    try {
      await this.beating;
    } catch (error) {
      this.options.logger.warn({ err: error }, 'directory announcement failed');
    }
    const nowMs = this.clock();
    for (const [id, w] of this.known) {
      if (nowMs - w.seenAtMs > DIRECTORY_FORGET_MS) this.forget(id);
    }
  }

  private forget(id: string): void {
    if (this.known.delete(id)) this.indexStale = true;
  }

  /** Applies one watched change to the view. */
  private apply(e: KvWatchEntry): void {
    const id = e.key.slice(this.options.region.length + 1);
    if (e.operation !== 'PUT') {
      this.forget(id);
      return;
    }
    const entry = entryOf(e.value);
    if (entry === undefined || entry.region !== this.options.region || entry.warehouseId !== id) {
      this.options.logger.warn({ key: e.key }, 'directory entry ignored: not an announcement');
      return;
    }
    if (entry.up && entry.hostId !== this.hostId && this.hosts(id)) this.warnHostedTwice(id, entry.hostId);
    const before = this.known.get(id);
    if (before === undefined && this.known.size >= DIRECTORY_ENTRIES_MAX) {
      this.options.logger.warn({ key: e.key, max: DIRECTORY_ENTRIES_MAX }, 'directory full: entry ignored');
      return;
    }
    const seenAtMs = this.clock();
    if (
      before !== undefined &&
      before.location.lat === entry.location.lat &&
      before.location.lon === entry.location.lon &&
      before.radiusKm === entry.radiusKm
    ) {
      // Same place and radius (every heartbeat): the record the index holds is updated in place.
      before.slaMinutes = entry.slaMinutes;
      before.up = entry.up;
      before.hostId = entry.hostId;
      before.seenAtMs = seenAtMs;
      if (entry.reason === undefined) delete before.reason;
      else before.reason = entry.reason;
      return;
    }
    const known: KnownWarehouse = {
      id,
      region: entry.region,
      warehouseId: id,
      location: { lat: entry.location.lat, lon: entry.location.lon },
      radiusKm: entry.radiusKm,
      slaMinutes: entry.slaMinutes,
      up: entry.up,
      hostId: entry.hostId,
      seenAtMs,
    };
    if (entry.reason !== undefined) known.reason = entry.reason;
    // Only `true` counts: an entry from a writer that does not say so is not taken as failed.
    if (entry.failed === true) known.failed = true;
    this.known.set(id, known);
    this.indexStale = true;
  }

  private hosts(warehouseId: string): boolean {
    return this.options.announce().some((w) => w.warehouseId === warehouseId);
  }

  /** Two processes started at once both host a warehouse: said at error, once a minute at most. */
  private warnHostedTwice(warehouseId: string, otherHostId: string): void {
    const nowMs = this.clock();
    if (nowMs - (this.warnedTwiceAtMs.get(warehouseId) ?? Number.NEGATIVE_INFINITY) < DIRECTORY_FORGET_MS) return;
    this.warnedTwiceAtMs.set(warehouseId, nowMs);
    this.options.logger.error(
      { warehouseId, hostId: this.hostId, otherHostId },
      'warehouse announced by two processes: each applies every command to a log of its own; stop one',
    );
  }

  /** Starts the watch and waits (bounded) until it has delivered this process's own announcements. */
  private async watch(): Promise<void> {
    const iterator = await this.kv.watch({ key: `${this.options.region}.*` });
    this.watcher = iterator;
    const own = new Map(this.revisions);
    let ready: () => void = () => undefined;
    const loaded = new Promise<void>((resolve) => {
      ready = resolve;
    });
    if (own.size === 0) ready();
    void (async () => {
      try {
        for await (const e of iterator) {
          this.apply(e);
          if (own.get(e.key) !== undefined && e.revision >= (own.get(e.key) ?? 0)) {
            own.delete(e.key);
            if (own.size === 0) ready();
          }
        }
      } catch (error) {
        if (!this.stopped) this.options.logger.error({ err: error }, 'directory watch ended');
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.options.logger.warn({ missing: [...own.keys()] }, 'directory view not complete at start');
        resolve();
      }, DIRECTORY_READY_TIMEOUT_MS);
    });
    await Promise.race([loaded, timeout]);
    clearTimeout(timer);
  }

  /** Marks this process's warehouses down (if still ours), then stops announcing and watching. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.heartbeat);
    await this.beating?.catch(() => undefined);
    try {
      await this.markDown();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'directory: could not mark warehouses down');
    }
    this.watcher?.stop();
  }
}

/** The directory of a region process: announces what `host` serves, watches the rest of the region. */
export function startDirectory(host: RegionHost): Promise<RegionDirectory> {
  const { nc, logger } = host.options;
  return RegionDirectory.start({
    nc,
    region: host.region,
    logger,
    announce: () =>
      [...host.warehouses.values()].map((h) => {
        const failure = notServing(h);
        const { id, location, radiusKm, slaMinutes } = h.entry;
        const entry = { warehouseId: id, location, radiusKm, slaMinutes, up: failure === undefined };
        if (failure === undefined) return entry;
        return h.failure === undefined ? { ...entry, reason: failure } : { ...entry, reason: failure, failed: true };
      }),
  });
}
