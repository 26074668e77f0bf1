/**
 * Connecting to NATS with the deployment's security: user/password, token, an NKey seed or a
 * `.creds` file (JWT + seed), and TLS (CA, client certificate and key), passed through to nats.js.
 * Shared by the region process, the typed client and the tests. Reads the credential files given.
 */
import * as fs from 'node:fs';
import {
  connect,
  credsAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
  nkeyAuthenticator,
} from '@nats-io/transport-node';

export interface NatsAuthOptions {
  user?: string;
  pass?: string;
  token?: string;
  /** Path of a file holding an NKey seed (`SU...`). */
  nkeySeedFile?: string;
  /** Path of a `.creds` file (user JWT and seed). */
  credsFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

/** How often a connection pings the server; two unanswered pings and it counts as broken. */
export const PING_INTERVAL_MS = 15_000;

export interface NatsConnectOptions extends NatsAuthOptions {
  servers: string | string[];
  name?: string;
  /** Milliseconds to wait for the first connection. */
  timeoutMs?: number;
}

/** nats.js options for these settings (no connection made). */
export function natsOptions(options: NatsConnectOptions): NodeConnectionOptions {
  // noAsyncTraces: nats.js would otherwise build a stack-traced error per request in case it fails,
  // a measurable cost per request on a busy engine or client.
  const o: NodeConnectionOptions = {
    servers: options.servers,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    // A peer that went silent (a partition, a dead machine) is noticed within ~45 s, not after
    // nats.js's default 4-6 minutes: the region then publishes its unacknowledged events again at
    // once, inside the stream's duplicate window.
    pingInterval: PING_INTERVAL_MS,
    maxPingOut: 2,
    noAsyncTraces: true,
  };
  if (options.name !== undefined) o.name = options.name;
  if (options.timeoutMs !== undefined) o.timeout = options.timeoutMs;
  if (options.user !== undefined) o.user = options.user;
  if (options.pass !== undefined) o.pass = options.pass;
  if (options.token !== undefined) o.token = options.token;
  if (options.nkeySeedFile !== undefined) {
    o.authenticator = nkeyAuthenticator(new TextEncoder().encode(fs.readFileSync(options.nkeySeedFile, 'utf8').trim()));
  } else if (options.credsFile !== undefined) {
    o.authenticator = credsAuthenticator(fs.readFileSync(options.credsFile));
  }
  if (options.tls !== undefined) {
    const tls: NonNullable<NodeConnectionOptions['tls']> = {};
    if (options.tls.caFile !== undefined) tls.caFile = options.tls.caFile;
    if (options.tls.certFile !== undefined) tls.certFile = options.tls.certFile;
    if (options.tls.keyFile !== undefined) tls.keyFile = options.tls.keyFile;
    o.tls = tls;
  }
  return o;
}

export function connectNats(options: NatsConnectOptions): Promise<NatsConnection> {
  return connect(natsOptions(options));
}
