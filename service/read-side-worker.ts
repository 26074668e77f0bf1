/**
 * Worker-thread entry of a region process's read side (read-side.ts starts it): the catalog, which
 * follows the region's availability feed, and the notification consumer, over a NATS connection of
 * their own. Posts `{ ready: true }` once both run (or `{ error }`), stops on `{ stop: true }` and
 * posts `{ stopped: true }`. Logs as the process does (pino on stderr, at its level, pretty with
 * --pretty), each line with `thread: "read-side"`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import pretty from 'pino-pretty';
import { connectNats, type NatsConnectOptions } from '../protocol/index.ts';
import { Catalog, directoryWarehouses } from './catalog.ts';
import { RegionDirectory } from './directory.ts';
import { loggingSender, startNotificationConsumer } from './notification-consumer.ts';

export interface ReadSideInit {
  connect: NatsConnectOptions;
  region: string;
  /** The warehouses the process hosts: the catalog starts once the directory shows them. */
  warehouseIds: string[];
  logLevel: string;
  /** Human-readable logs (pino-pretty), as the process's own with --pretty. */
  pretty?: boolean;
}

/** How long the read side waits for the directory to show the process's own warehouses. */
const DIRECTORY_WAIT_MS = 5_000;
const DIRECTORY_POLL_MS = 25;

const port = parentPort;
if (port === null) throw new Error('read-side-worker must run in a worker thread');
const init = workerData as ReadSideInit;
const logOptions = { name: 'darkstore', level: init.logLevel };
const logger = (
  init.pretty === true
    ? pino(logOptions, pretty({ destination: 2, colorize: process.stderr.isTTY }))
    : pino(logOptions, pino.destination(2))
).child({ thread: 'read-side' });

async function start() {
  const nc = await connectNats({ ...init.connect, name: `${init.connect.name ?? 'darkstore-region'}-read-side` });
  // Watch only: the warehouses are announced by the process's main thread, which hosts them.
  const directory = await RegionDirectory.start({ nc, region: init.region, logger, announce: () => [] });
  const deadline = Date.now() + DIRECTORY_WAIT_MS;
  const known = () => new Set(directory.entries().map((w) => w.id));
  while (!init.warehouseIds.every((id) => known().has(id)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, DIRECTORY_POLL_MS));
  }
  const notifications = await startNotificationConsumer(nc, init.region, loggingSender(logger), { logger });
  const catalog = await Catalog.start({
    nc,
    region: init.region,
    logger,
    warehouses: directoryWarehouses(directory),
  });
  return async () => {
    try {
      await catalog.stop();
      await notifications.stop();
      await directory.stop();
    } finally {
      // A drain that fails (NATS unreachable) leaves the connection reconnecting forever: close it.
      await nc.drain().catch(() => undefined);
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
    }
  };
}

const running = start();
running.then(
  () => port.postMessage({ ready: true }),
  (error: unknown) => port.postMessage({ error: String((error as Error).stack ?? error) }),
);
port.on('message', (message: { stop?: boolean }) => {
  if (message.stop !== true) return;
  void running
    .then((stop) => stop())
    .catch((error: unknown) => logger.warn({ err: error }, 'read side stop failed'))
    .finally(() => {
      logger.flush();
      port.postMessage({ stopped: true });
      port.close();
    });
});
