/**
 * `darkstore serve`: the region process. Reads the region config, connects to NATS (with the
 * deployment's credentials and TLS), recovers every warehouse, then answers on the region's
 * subjects until SIGTERM or SIGINT, when it stops taking requests, drains, snapshots and closes.
 * It answers NATS service discovery (`$SRV.PING|INFO|STATS`) and, with --metrics-port, serves
 * Prometheus metrics on `GET /metrics`.
 * Logs are JSON (pino) on stderr, human-readable with --pretty. Prints one `READY <region>` line on
 * stdout once it answers, for scripts and tests. A signal during the start stops it gracefully once
 * it is up; a start that fails (no JetStream, a bad config) closes what it opened and exits 3.
 */
import * as fs from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import {
  connectNats,
  type NatsConnectOptions,
  parseRegionConfig,
  RegionHost,
  RegionMetrics,
  RequestStats,
  type RunningServices,
  startRegionServices,
} from '../service/index.ts';
import { integerFlag, type ParsedArgs, UsageError } from './args.ts';

export const SERVE_FLAGS = [
  'nats',
  'data',
  'config',
  'metrics-port',
  'user',
  'pass',
  'token',
  'nkey-seed',
  'creds',
  'tls-ca',
  'tls-cert',
  'tls-key',
  'checkpoint',
];

function logger(prettyLogs: boolean): Logger {
  const options = { name: 'darkstore', level: process.env.LOG_LEVEL ?? 'info' };
  return prettyLogs
    ? pino(options, pretty({ destination: 2, colorize: process.stderr.isTTY }))
    : pino(options, pino.destination(2));
}

function natsSettings(args: ParsedArgs): NatsConnectOptions {
  const flag = (name: string) => {
    const v = args.flags.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const settings: NatsConnectOptions = {
    servers: (flag('nats') ?? 'nats://127.0.0.1:4222').split(','),
    name: 'darkstore-region',
  };
  const user = flag('user');
  if (user !== undefined) settings.user = user;
  const pass = flag('pass');
  if (pass !== undefined) settings.pass = pass;
  const token = flag('token');
  if (token !== undefined) settings.token = token;
  const nkey = flag('nkey-seed');
  if (nkey !== undefined) settings.nkeySeedFile = nkey;
  const creds = flag('creds');
  if (creds !== undefined) settings.credsFile = creds;
  const ca = flag('tls-ca');
  const cert = flag('tls-cert');
  const key = flag('tls-key');
  if (ca !== undefined || cert !== undefined || key !== undefined) {
    settings.tls = {};
    if (ca !== undefined) settings.tls.caFile = ca;
    if (cert !== undefined) settings.tls.certFile = cert;
    if (key !== undefined) settings.tls.keyFile = key;
  }
  return settings;
}

/** The checkpointer asked for: worker (the default), inline or off; anything else is a usage error. */
function checkpointOf(args: ParsedArgs): 'worker' | 'inline' | 'off' {
  const value = args.flags.get('checkpoint');
  if (value === undefined) return 'worker';
  if (value === 'worker' || value === 'inline' || value === 'off') return value;
  throw new UsageError('--checkpoint must be worker, inline or off');
}

/**
 * Drains the connection, then closes it for good: draining fails while NATS is unreachable, and a
 * connection left reconnecting would keep the process alive after everything else stopped.
 */
async function closeConnection(nc: NatsConnection): Promise<void> {
  await nc.drain().catch(() => undefined);
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}

export async function runServe(args: ParsedArgs): Promise<number> {
  const configFile = args.flags.get('config');
  const dataDir = args.flags.get('data');
  if (typeof configFile !== 'string') throw new UsageError('--config FILE is required');
  if (typeof dataDir !== 'string') throw new UsageError('--data DIR is required');
  const prettyLogs = args.flags.get('pretty') === true;
  const log = logger(prettyLogs);
  const config = parseRegionConfig(JSON.parse(fs.readFileSync(configFile, 'utf8')));
  const metricsPort = integerFlag(args, 'metrics-port', 0, 65_535);
  const checkpoint = checkpointOf(args);
  // Listen from the start: a signal during recovery stops the process gracefully once it is up,
  // instead of killing it half-way.
  const stopSignal = new Promise<string>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      resolve(signal);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  const settings = natsSettings(args);
  const nc = await connectNats(settings);
  // Metrics are collected only when they are served; discovery's counters always are.
  const metrics = metricsPort === undefined ? undefined : new RegionMetrics(config.region);
  const requestStats = new RequestStats();
  let host: RegionHost | undefined;
  let services: RunningServices;
  try {
    host = await RegionHost.start({
      nc,
      config,
      dataDir,
      logger: log,
      checkpoint,
      ...(metrics === undefined ? {} : { onCommitted: metrics.onCommitted, onSync: metrics.onSync }),
      onRequest: (sample) => {
        metrics?.onRequest(sample);
        requestStats.record(sample);
      },
    });
    services = await startRegionServices(host, {
      metricsPort,
      metrics,
      requestStats,
      readSide: { connect: settings, logLevel: log.level, pretty: prettyLogs },
    });
  } catch (error) {
    // A region that cannot start must not linger: close what opened, and the connection.
    await host?.stop().catch(() => undefined);
    await closeConnection(nc);
    throw error;
  }
  if (services.metricsPort !== undefined) log.info({ metricsPort: services.metricsPort }, 'metrics on GET /metrics');
  const failed = [...host.warehouses.values()].filter((h) => h.failure !== undefined).map((h) => h.entry.id);
  log.info({ region: config.region, warehouses: config.warehouses.map((w) => w.id), failed }, 'region ready');
  process.stdout.write(`READY ${config.region}\n`);
  await stopSignal;
  await services.stop();
  await host.stop();
  await closeConnection(nc);
  log.info('stopped');
  log.flush();
  return 0;
}
