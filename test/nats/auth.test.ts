/**
 * NATS security end to end: a nats-server with users (and one with a token), the region process
 * started with its credentials serving, clients with credentials served, clients without them (or
 * with wrong ones) refused at connect with a typed error, and a user whose permissions do not reach
 * the command subject getting a typed permission error while its queries still work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DarkstoreClient, PermissionDeniedError, UnauthorizedError } from '../../client/index.ts';
import { commandSubject, querySubject } from '../../service/index.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';
import { berlinConfig, type RegionProcess, startRegionProcess } from './region-process.ts';

const REGION = { user: 'region', pass: 'region-secret' };
const APP = { user: 'checkout', pass: 'checkout-secret' };
/** May ask queries of any warehouse, but not send commands. */
const VIEWER = {
  user: 'viewer',
  pass: 'viewer-secret',
  permissions: { publish: [querySubject('*', '*')], subscribe: ['_INBOX.>'] },
};

let nats: NatsServer;
let region: RegionProcess;

beforeAll(async () => {
  nats = await startNatsServer({ users: [REGION, APP, VIEWER] });
  region = await startRegionProcess({
    natsUrl: nats.url,
    config: berlinConfig(),
    args: ['--user', REGION.user, '--pass', REGION.pass],
  });
});

afterAll(async () => {
  await region?.cleanup();
  await nats?.stop();
});

async function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error,
  );
}

describe('NATS authentication and permissions', () => {
  it('serves a client with credentials through a region started with its own', async () => {
    const client = await DarkstoreClient.connect({ servers: nats.url, ...APP });
    try {
      const mitte = client.warehouse('berlin', 'mitte');
      const held = await mitte.reserve({ lines: [{ sku: 'sku-00002', quantity: 1 }], ttlMs: 60_000 });
      expect((await mitte.reservation(held.reservationId)).lines).toMatchObject([{ sku: 'sku-00002', quantity: 1 }]);
    } finally {
      await client.close();
    }
  });

  it('refuses a client without credentials, or with a wrong password, at connect', async () => {
    const anonymous = await refusal(DarkstoreClient.connect({ servers: nats.url, timeoutMs: 2_000 }));
    expect(anonymous).toBeInstanceOf(UnauthorizedError);
    expect(anonymous).toMatchObject({ code: 'UNAUTHORIZED', retryable: false });
    const wrong = await refusal(DarkstoreClient.connect({ servers: nats.url, user: APP.user, pass: 'guess' }));
    expect(wrong).toBeInstanceOf(UnauthorizedError);
  });

  it('gives a user without publish permission on the command subject a typed error, not a hang', async () => {
    const client = await DarkstoreClient.connect({ servers: nats.url, user: VIEWER.user, pass: VIEWER.pass });
    try {
      const mitte = client.warehouse('berlin', 'mitte');
      const before = await mitte.availability(['sku-00004']);
      const started = Date.now();
      const denied = await refusal(mitte.reserve({ lines: [{ sku: 'sku-00004', quantity: 1 }], ttlMs: 60_000 }));
      expect(denied).toBeInstanceOf(PermissionDeniedError);
      expect(denied).toMatchObject({ code: 'PERMISSION_DENIED', subject: commandSubject('berlin', 'mitte') });
      // Not retried, and not left to time out.
      expect(Date.now() - started).toBeLessThan(client.policy.timeoutMs);
      expect(await mitte.availability(['sku-00004'])).toEqual(before);
    } finally {
      await client.close();
    }
  });

  it('does not start a region without credentials', async () => {
    await expect(startRegionProcess({ natsUrl: nats.url, config: berlinConfig() })).rejects.toThrow(/Authorization/i);
  });

  it('serves through a token-protected server when the region and the client carry the token', async () => {
    const secured = await startNatsServer({ token: 'region-token' });
    const tokenRegion = await startRegionProcess({
      natsUrl: secured.url,
      config: berlinConfig(),
      args: ['--token', 'region-token'],
    });
    try {
      const client = await DarkstoreClient.connect({ servers: secured.url, token: 'region-token' });
      const quote = await client.warehouse('berlin', 'mitte').eta({ lat: 52.53, lon: 13.405 });
      expect(quote.pickersOnShift).toBe(2);
      await client.close();
      const without = await refusal(DarkstoreClient.connect({ servers: secured.url }));
      expect(without).toBeInstanceOf(UnauthorizedError);
    } finally {
      await tokenRegion.cleanup();
      await secured.stop();
    }
  });
});
