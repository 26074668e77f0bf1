/**
 * The region-wide services a region process runs beside its warehouses: each has a start and a
 * stop. This module wires them (discovery, metrics, event stream, directory, checkout, catalog);
 * each lives in its own module.
 */

import type { NotificationSender } from '../notifications/index.ts';
import type { NatsConnectOptions } from '../protocol/index.ts';
import { startCatalog } from './catalog.ts';
import { startCheckout } from './checkout.ts';
import { startDirectory } from './directory.ts';
import { Discovery, type RequestStats } from './discovery.ts';
import { ensureEventStream } from './event-stream.ts';
import { type RegionMetrics, serveMetrics } from './metrics.ts';
import { loggingSender, startNotificationConsumer } from './notification-consumer.ts';
import { startReadSide } from './read-side.ts';
import type { RegionHost } from './region.ts';

export interface RegionServiceOptions {
  /** Port of the Prometheus metrics endpoint (none when undefined). */
  metricsPort?: number | undefined;
  /** The metrics the host's hooks feed (served on metricsPort). */
  metrics?: RegionMetrics | undefined;
  /** The discovery counters the host's `onRequest` feeds (STATS reports zeros without them). */
  requestStats?: RequestStats | undefined;
  /** Where customer notifications go (push, SMS); by default they are logged. */
  notificationSender?: NotificationSender | undefined;
  /**
   * Run the catalog and the notification consumer in a worker thread with a connection of its own
   * (read-side.ts), off the warehouses' event loop: how `darkstore serve` runs them. Without it (or
   * with a `notificationSender`, which cannot cross threads) they run on this thread's connection.
   */
  readSide?: { connect: NatsConnectOptions; logLevel: string; pretty?: boolean } | undefined;
}

export interface RunningServices {
  /** The port the metrics endpoint listens on (the OS's choice for port 0); undefined without one. */
  metricsPort?: number;
  stop(): Promise<void>;
}

/** Starts the region-wide services of a region process; one that fails to start stops those started. */
export async function startRegionServices(host: RegionHost, options: RegionServiceOptions): Promise<RunningServices> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  let metricsPort: number | undefined;
  try {
    metricsPort = await startEach(host, options, stops);
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
  return metricsPort === undefined ? { stop: stopAll } : { metricsPort, stop: stopAll };
}

async function startEach(
  host: RegionHost,
  options: RegionServiceOptions,
  stops: (() => Promise<void>)[],
): Promise<number | undefined> {
  const discovery = Discovery.start(host, options.requestStats === undefined ? {} : { stats: options.requestStats });
  stops.push(() => discovery.stop());
  options.metrics?.watch(host);
  let metricsPort: number | undefined;
  if (options.metrics !== undefined && options.metricsPort !== undefined) {
    const endpoint = await serveMetrics(options.metrics, options.metricsPort);
    stops.push(() => endpoint.stop());
    metricsPort = endpoint.port;
  }
  // The directory first: the checkout (and the catalog) read the region's warehouses from it.
  const directory = await startDirectory(host);
  stops.push(() => directory.stop());
  const checkout = await startCheckout(host, directory);
  stops.push(() => checkout.stop());
  // The events stream before its consumers: notifications (sent from the stream, not in-process) and the catalog.
  const { nc, logger } = host.options;
  await ensureEventStream(nc);
  if (options.readSide !== undefined && options.notificationSender === undefined) {
    const readSide = await startReadSide(
      { ...options.readSide, region: host.region, warehouseIds: [...host.warehouses.keys()] },
      logger,
    );
    stops.push(() => readSide.stop());
  } else {
    const sender = options.notificationSender ?? loggingSender(logger);
    const notifications = await startNotificationConsumer(nc, host.region, sender, { logger });
    stops.push(() => notifications.stop());
    const catalog = await startCatalog(host, directory);
    stops.push(() => catalog.stop());
  }
  return metricsPort;
}
