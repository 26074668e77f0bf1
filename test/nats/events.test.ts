/**
 * The events stream and its consumers, against a real nats-server and a real region host: the stream
 * captures committed events packed by type and drops a republication under the same message id; a
 * second region with a warehouse of the same id gets all its events in too; restarted, it republishes
 * none of what the stream holds, and after a crash that kept events from the stream exactly those,
 * once, before anything new of their type; an event consumer handles every event of a message even
 * when one fails and gives up only that one; a durable
 * availability follower that is stopped, restarted and fed duplicates (republished under new ids)
 * ends with exactly the engine's availability, as does a fresh one replaying the whole stream, and
 * updates applied in any order with repeats converge; a resync alone brings an empty view there; the
 * notification consumer sends from the stream once per (order, type), and again after a failed send.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeliverPolicy, jetstream, jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, encode, type Result } from '../../engine/index.ts';
import type { Notification, NotificationSender } from '../../notifications/index.ts';
import { warehousePaths } from '../../persistence/index.ts';
import {
  availabilitySubject,
  commandSubject,
  decodeEventMessage,
  EVENTS_DUPLICATE_WINDOW_MS,
  EVENTS_MAX_AGE_MS,
  EVENTS_MAX_BYTES,
  EVENTS_STREAM,
  EVENTS_SUBJECTS,
  type EventConsumer,
  type EventConsumerOptions,
  type EventEnvelope,
  ensureEventStream,
  eventMessageId,
  eventSubject,
  followAvailability,
  queryChanges,
  querySubject,
  type RegionConfig,
  RegionHost,
  readAckedMark,
  startEventConsumer,
  startNotificationConsumer,
  type VersionedAvailability,
  VersionedView,
  writeAckedMark,
} from '../../service/index.ts';
import { Random } from '../../sim/index.ts';
import { type NatsServer, startNatsServer } from './nats-server.ts';

const REGION = 'ev';
const W = 'W1';
const STORE = { lat: 52.52, lon: 13.405 };
const SKUS = 20;

const config: RegionConfig = {
  region: REGION,
  warehouses: [
    {
      id: W,
      location: STORE,
      radiusKm: 3,
      slaMinutes: 30,
      catalog: { seed: 3, skus: SKUS, unitsPerSku: 10 },
      pickers: 1,
      couriers: 1,
    },
  ],
};

let server: NatsServer;
let nc: NatsConnection;
let host: RegionHost;
let dataDir: string;
let commands = 0;

async function command(body: Record<string, unknown>): Promise<Result<unknown>> {
  const reply = await nc.request(commandSubject(REGION, W), encode({ key: `t-${++commands}`, ...body }), {
    timeout: 5_000,
  });
  return decode(reply.data) as Result<unknown>;
}

/** Changes stock on random SKUs: receipts, damage and counts, so availability goes up and down. */
async function mutate(random: Random, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const sku = `sku-${String(random.int(0, SKUS - 1)).padStart(5, '0')}`;
    const roll = random.next();
    if (roll < 0.4) await command({ type: 'adjust', sku, delta: -1, reason: 'damage' });
    else if (roll < 0.8) await command({ type: 'adjust', sku, delta: random.int(1, 3), reason: 'found' });
    else await command({ type: 'count', sku, counted: random.int(0, 12) });
  }
}

/** The engine's availability per SKU, from the `changes` query. */
async function engineAvailability(): Promise<Map<string, number>> {
  const answer = await queryChanges(nc, REGION, W, 0);
  if (!answer.ok) throw new Error(answer.error.message);
  return new Map(answer.value.items.map((i) => [i.sku, i.available]));
}

function viewAvailability(view: VersionedView, skus: Iterable<string>): Map<string, number | undefined> {
  return new Map([...skus].map((sku) => [sku, view.get(sku)?.available]));
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the view holds exactly the engine's availability (same SKUs, same numbers). */
async function expectConverged(view: VersionedView): Promise<void> {
  let engine = new Map<string, number>();
  await waitFor(async () => {
    engine = await engineAvailability();
    return view.size === engine.size && [...engine].every(([sku, available]) => view.get(sku)?.available === available);
  }).catch(() => undefined);
  expect(viewAvailability(view, engine.keys())).toEqual(engine);
  expect(view.size).toBe(engine.size);
}

/** The stream's messages of one subject, oldest first. */
function storedMessages(subject: string): Promise<StoredMsg[]> {
  return storedWhere((s) => s === subject);
}

/** The events a stored message carries (it must be an event message). */
function eventsIn(m: StoredMsg): EventEnvelope[] {
  const envelopes = decodeEventMessage(m.data);
  if (envelopes === undefined) throw new Error(`malformed event message on ${m.subject}`);
  return envelopes;
}

/** Every event the messages carry, in order. */
const eventsOf = (messages: StoredMsg[]): EventEnvelope[] => messages.flatMap(eventsIn);

/** The stream's messages whose subject matches, oldest first. */
async function storedWhere(match: (subject: string) => boolean): Promise<StoredMsg[]> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(EVENTS_STREAM);
  const out: StoredMsg[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(EVENTS_STREAM, { seq });
    if (m !== null && match(m.subject)) out.push(m);
  }
  return out;
}

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  // Before the region starts, so that the stream holds every event from the first one.
  await ensureEventStream(nc);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkstore-events-'));
  host = await RegionHost.start({ nc, config, dataDir, logger: pino({ level: 'silent' }), checkpoint: 'inline' });
});

afterAll(async () => {
  await host?.stop();
  await nc?.drain();
  await server?.stop();
  if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('events stream', () => {
  it('is a bounded, deduplicating file stream, and ensuring it again changes nothing', async () => {
    const info = await ensureEventStream(nc);
    expect(info.config.subjects).toEqual([EVENTS_SUBJECTS]);
    expect(info.config.storage).toBe('file');
    expect(info.config.discard).toBe('old');
    expect(info.config.duplicate_window).toBe(nanos(EVENTS_DUPLICATE_WINDOW_MS));
    expect(info.config.max_age).toBe(nanos(EVENTS_MAX_AGE_MS));
    expect(info.config.max_bytes).toBe(EVENTS_MAX_BYTES);
  });

  it('captures committed events packed by type, and drops a republication under the same message id', async () => {
    const subject = availabilitySubject(REGION, W);
    await waitFor(async () => eventsOf(await storedMessages(subject)).length >= SKUS);
    // The seeding receipts commit in batches: their events share messages.
    const stored = await storedMessages(subject);
    expect(stored.length).toBeLessThan(eventsOf(stored).length);
    const jsm = await jetstreamManager(nc);
    const last = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: subject });
    if (last === null) throw new Error('no availability event stored');
    const msgId = last.header.get('Nats-Msg-Id');
    expect(msgId).toMatch(/^ev:W1:\d+:\d+$/);
    const envelopes = eventsIn(last);
    for (const envelope of envelopes) {
      expect(envelope.warehouseId).toBe(W);
      expect(envelope.event.type).toBe('availability.changed');
    }
    const first = envelopes[0] as EventEnvelope;
    expect(msgId).toBe(eventMessageId(REGION, W, first.seq, first.index));
    const before = (await jsm.streams.info(EVENTS_STREAM)).state.messages;
    const ack = await jetstream(nc).publish(subject, last.data, { msgID: msgId });
    expect(ack.duplicate).toBe(true);
    expect((await jsm.streams.info(EVENTS_STREAM)).state.messages).toBe(before);
  });
});

describe('event message ids across regions', () => {
  /** A second region on the same NATS whose warehouse has the same id (and seed) as the first's. */
  const OTHER = 'ev-other';
  const otherConfig: RegionConfig = { ...config, region: OTHER };
  const isOther = (subject: string) => subject.startsWith(`darkstore.${OTHER}.`);
  let otherNc: NatsConnection;
  let otherDir: string;
  let other: RegionHost | undefined;
  /** Events the second region committed (and published), across its restarts. */
  let published = 0;

  // No checkpoints: a restart recovers from the WAL alone and republishes every event it replays.
  const startOther = (logger = pino({ level: 'silent' })) =>
    RegionHost.start({
      nc: otherNc,
      config: otherConfig,
      dataDir: otherDir,
      logger,
      checkpoint: 'off',
      onCommitted: (_warehouseId, _commands, _durationMs, events) => {
        published += events.length;
      },
    });

  beforeAll(async () => {
    otherNc = await connect({ servers: server.url });
    otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkstore-events-other-'));
  });

  afterAll(async () => {
    await other?.stop();
    await otherNc?.drain();
    if (otherDir !== undefined) fs.rmSync(otherDir, { recursive: true, force: true });
  });

  const seqIndex = (e: EventEnvelope) => `${e.seq}:${e.index}`;

  it('two regions with a warehouse of the same id both get every event into the stream', async () => {
    other = await startOther();
    expect(published).toBeGreaterThan(0);
    // On failure, say how many arrived rather than that the wait timed out.
    await waitFor(async () => eventsOf(await storedWhere(isOther)).length >= published).catch(() => undefined);
    const stored = await storedWhere(isOther);
    expect(eventsOf(stored).length).toBe(published);
    // The same warehouse, seq and index as events of the first region, inside the duplicate window:
    // only the region tells them apart.
    const first = new Set(eventsOf(await storedWhere((s) => s.startsWith(`darkstore.${REGION}.`))).map(seqIndex));
    expect(eventsOf(stored).every((e) => first.has(seqIndex(e)))).toBe(true);
    for (const m of stored) {
      const head = eventsIn(m)[0] as EventEnvelope;
      expect(m.header.get('Nats-Msg-Id')).toBe(eventMessageId(OTHER, W, head.seq, head.index));
    }
  });

  /** Each stored event once: (seq, index) → how many times the stream holds it. */
  const copies = (events: EventEnvelope[]) => {
    const counts = new Map<string, number>();
    for (const e of events) counts.set(seqIndex(e), (counts.get(seqIndex(e)) ?? 0) + 1);
    return counts;
  };

  it('a restarted region republishes none of the replayed events the stream holds', async () => {
    await other?.stop();
    const before = eventsOf(await storedWhere(isOther));
    expect(before.length).toBe(published);
    other = await startOther();
    const recovery = other.warehouses.get(W)?.host?.warehouse.recovery;
    // Every command came back from the WAL, and every event it produced again was stored already.
    expect(recovery?.snapshot).toBeUndefined();
    expect(recovery?.wal.replayed).toBeGreaterThan(0);
    // A new event after the restart, published on the same connection after any republication: once
    // it is stored, the stream has seen them all.
    const reply = await otherNc.request(
      commandSubject(OTHER, W),
      encode({ key: 'other-after-restart', type: 'adjust', sku: 'sku-00000', delta: 1, reason: 'found' }),
      { timeout: 5_000 },
    );
    expect((decode(reply.data) as Result<unknown>).ok).toBe(true);
    await waitFor(async () => eventsOf(await storedWhere(isOther)).length >= published);
    const after = await storedWhere(isOther);
    expect(eventsOf(after).length).toBe(published);
    expect([...copies(eventsOf(after)).values()].every((n) => n === 1)).toBe(true);
    expect(after.filter((m) => m.header.get('Darkstore-Replayed') === 'true')).toEqual([]);
    // And a republication by hand under a stored id is refused.
    const last = after[after.length - 1] as StoredMsg;
    const ack = await jetstream(nc).publish(last.subject, last.data, { msgID: last.header.get('Nats-Msg-Id') });
    expect(ack.duplicate).toBe(true);
  });

  it('events a crash kept from the stream are republished after the restart, once each, marked replayed', async () => {
    const running = other as RegionHost;
    const warehouse = running.warehouses.get(W)?.host?.warehouse;
    if (warehouse === undefined) throw new Error('warehouse not open');
    const stored = published;
    // The connection drops: these commands commit to the WAL but their events never leave.
    await otherNc.close();
    for (const [i, sku] of ['sku-00001', 'sku-00002', 'sku-00003'].entries()) {
      const result = await warehouse.submit({ key: `lost-${i}`, type: 'adjust', sku, delta: -1, reason: 'damage' });
      expect(result.ok).toBe(true);
    }
    // A hold that runs out while the region is down: the restarted warehouse expires it at once,
    // and those live events must follow the republished ones.
    const hold = await warehouse.submit({
      key: 'lost-hold',
      type: 'reserve',
      lines: [{ sku: 'sku-00004', quantity: 1 }],
      ttlMs: 1_000,
    });
    expect(hold.ok).toBe(true);
    const lost = published - stored;
    expect(lost).toBeGreaterThan(0);
    await running.stop();
    expect(eventsOf(await storedWhere(isOther)).length).toBe(stored);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const beforeRestart = published;
    otherNc = await connect({ servers: server.url });
    other = await startOther();
    await waitFor(() => published > beforeRestart);
    await waitFor(async () => eventsOf(await storedWhere(isOther)).length >= published).catch(() => undefined);
    const after = await storedWhere(isOther);
    expect(eventsOf(after).length).toBe(published);
    expect([...copies(eventsOf(after)).values()].every((n) => n === 1)).toBe(true);
    const replayed = after.filter((m) => m.header.get('Darkstore-Replayed') === 'true');
    expect(eventsOf(replayed).length).toBe(lost);
    // Per type, the stream holds the warehouse's events in commit order.
    const lastByType = new Map<string, EventEnvelope>();
    for (const e of eventsOf(after)) {
      const last = lastByType.get(e.event.type);
      if (last !== undefined) expect(e.seq > last.seq || (e.seq === last.seq && e.index > last.index)).toBe(true);
      lastByType.set(e.event.type, e);
    }
    expect(lastByType.get('reservation.expired')).toBeDefined();
  });

  it('a mark past the recovered log is not its own: removed at once, and everything replayed goes out', async () => {
    await other?.stop();
    const dir = warehousePaths(otherDir, W).dir;
    const stopped = readAckedMark(dir, OTHER, W);
    expect(stopped).toBeGreaterThan(0);
    // As if the log had started over (or been cut back) beside an older, higher mark.
    writeAckedMark(dir, OTHER, W, 1_000_000);
    const lines: { msg?: string; replayedEvents?: number; republished?: number }[] = [];
    other = await startOther(pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }));
    expect(readAckedMark(dir, OTHER, W) ?? 0).toBeLessThan(1_000_000);
    expect(lines.some((l) => l.msg === 'acknowledged mark past the log: removed')).toBe(true);
    const republished = lines.find((l) => l.msg === 'replayed events republished');
    expect(republished?.replayedEvents).toBeGreaterThan(0);
    expect(republished?.republished).toBe(republished?.replayedEvents);
    // The mark comes back from the publisher, at most where the log is.
    await other.stop();
    const recovered = other.warehouses.get(W)?.host?.warehouse.runtime.lastSeq ?? 0;
    expect(readAckedMark(dir, OTHER, W)).toBeGreaterThanOrEqual(stopped as number);
    expect(readAckedMark(dir, OTHER, W)).toBeLessThanOrEqual(recovered);
    other = await startOther();
  });
});

describe('availability followers', () => {
  it('a durable follower stopped, restarted and fed duplicates ends with the engine availability', async () => {
    const random = new Random(7);
    const view = new VersionedView(W);
    // Events only, no resync: what the view ends with comes from the stream alone.
    const options = {
      region: REGION,
      view,
      durable: 'test_durable_view',
      deliver: 'all' as const,
      resyncOnStart: false,
      resyncIntervalMs: 0,
      ackWaitMs: 2_000,
    };
    let follower = await followAvailability(nc, options);
    await mutate(random, 30);
    await expectConverged(view);
    await follower.stop();

    await mutate(random, 30);
    const engine = await engineAvailability();
    // Stopped: the view missed those changes.
    expect(viewAvailability(view, engine.keys())).not.toEqual(engine);
    // Duplicates under new message ids (the stream keeps them): the latest 40 events, newest first.
    const js = jetstream(nc);
    const stored = await storedMessages(availabilitySubject(REGION, W));
    for (const m of stored.slice(-40).reverse()) {
      await js.publish(m.subject, m.data, { msgID: `dup-${m.seq}` });
    }
    follower = await followAvailability(nc, options);
    await expectConverged(view);
    // Every duplicate is delivered after the event it repeats (or its newer version): all ignored.
    await waitFor(() => view.stats.ignored >= 40);
    expect(view.stats.resyncs).toBe(0);
    await follower.stop();

    // A new follower replaying the whole stream (duplicates and all) ends in the same place.
    const replayed = new VersionedView(W);
    const replay = await followAvailability(nc, { ...options, view: replayed, durable: 'test_replay_view' });
    await expectConverged(replayed);
    await replay.stop();
  });

  it('updates applied in any order, with repeats, converge', async () => {
    const updates: VersionedAvailability[] = [];
    for (const { event } of eventsOf(await storedMessages(availabilitySubject(REGION, W)))) {
      if (event.type === 'availability.changed') updates.push(event);
    }
    expect(updates.length).toBeGreaterThan(SKUS);
    const engine = await engineAvailability();
    const random = new Random(11);
    for (let round = 0; round < 5; round++) {
      const shuffled = [...updates, ...updates.slice(0, random.int(1, updates.length))];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = random.int(0, i);
        [shuffled[i], shuffled[j]] = [shuffled[j] as VersionedAvailability, shuffled[i] as VersionedAvailability];
      }
      const view = new VersionedView(W);
      for (const u of shuffled) view.apply(u);
      expect(viewAvailability(view, engine.keys())).toEqual(engine);
    }
  });

  it('keeps the newest version, and refuses new SKUs past its bound', () => {
    const view = new VersionedView(W, 2);
    expect(view.apply({ sku: 'a', available: 5, version: 9 })).toBe(true);
    expect(view.apply({ sku: 'a', available: 7, version: 3 })).toBe(false);
    expect(view.apply({ sku: 'a', available: 5, version: 9 })).toBe(false);
    expect(view.get('a')).toEqual({ sku: 'a', available: 5, version: 9 });
    expect(view.apply({ sku: 'b', available: 1, version: 4 })).toBe(true);
    expect(view.apply({ sku: 'c', available: 1, version: 5 })).toBe(false);
    expect(view.stats).toMatchObject({ applied: 2, ignored: 2, refused: 1 });
    // Events alone say nothing of how old the rest of the view is: only a resync does.
    expect(view.stalenessMs(10)).toBeUndefined();
    // A resync whose version is behind the watermark means the warehouse started over: refused.
    expect(view.resync({ items: [{ sku: 'a', available: 2, version: 12 }], version: 12 }, 20)).toBe(true);
    expect(view.apply({ sku: 'b', available: 3, version: 13 })).toBe(true);
    expect(view.stalenessMs(121)).toBe(101);
    expect(view.resync({ items: [], version: 4 }, 30)).toBe(false);
    expect(view.get('a')?.available).toBe(2);
    // A first page of a paged resync moves the watermark, but the view is as fresh as its ask only
    // once the last page is in.
    expect(view.resync({ items: [{ sku: 'b', available: 4, version: 14 }], version: 14 }, 500, false)).toBe(true);
    expect(view.stalenessMs(600)).toBe(580);
    expect(view.resync({ items: [], version: 15 }, 500)).toBe(true);
    expect(view.stalenessMs(600)).toBe(100);
  });

  it('counts a paged resync fresh only once its last page is in: a failed second page leaves it stale', async () => {
    const responder = await connect({ servers: server.url });
    const pages: number[] = [];
    responder.subscribe(querySubject('ev-paged', 'W1'), {
      callback: (_e, msg) => {
        const { sinceVersion } = decode(msg.data) as { sinceVersion: number };
        pages.push(sinceVersion);
        const first = { ok: true, value: { items: [{ sku: 'a', available: 1, version: 3 }], version: 3, more: true } };
        const refused = { ok: false, error: { code: 'UNAVAILABLE', message: 'unavailable: busy', reason: 'busy' } };
        msg.respond(encode(sinceVersion === 0 ? first : refused));
      },
    });
    await responder.flush();
    const view = new VersionedView('W1');
    const follower = await followAvailability(nc, { region: 'ev-paged', view, resyncIntervalMs: 0 });
    try {
      expect(pages).toEqual([0, 3]);
      expect(view.get('a')).toEqual({ sku: 'a', available: 1, version: 3 });
      // Only changes up to version 3 are in: the view must not claim to be as fresh as its ask.
      expect(view.stalenessMs(Date.now())).toBeUndefined();
    } finally {
      await follower.stop();
      await responder.close();
    }
  });

  it('an ephemeral follower resyncs an empty view at start, keeps it current, and outlives its consumer', async () => {
    const view = new VersionedView(W);
    const follower = await followAvailability(nc, { region: REGION, view, resyncIntervalMs: 0 });
    expect(view.stats.resyncs).toBe(1);
    await expectConverged(view);
    await mutate(new Random(5), 10);
    await expectConverged(view);

    // The consumer disappears (deleted, or expired while this process was away): the follower
    // creates it again and resyncs over what it missed meanwhile.
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete(EVENTS_STREAM, follower.consumerName as string);
    await mutate(new Random(6), 10);
    await waitFor(() => (follower.consumerStats?.restarts ?? 0) >= 1 && view.stats.resyncs >= 2);
    await expectConverged(view);
    await follower.stop();
  });
});

/** A sender that refuses the first push of each confirmation, and keeps what it accepted. */
class FlakySender implements NotificationSender {
  readonly sent: string[] = [];
  readonly refused = new Set<string>();
  async push(n: Notification): Promise<boolean> {
    if (n.type === 'confirmed' && !this.refused.has(n.orderId)) {
      this.refused.add(n.orderId);
      return false;
    }
    this.sent.push(`${n.orderId} ${n.type}`);
    return true;
  }
  async sms(n: Notification): Promise<boolean> {
    return this.push(n);
  }
}

/** An availability change of `sku` at `version`, as a warehouse publishes it. */
function changed(sku: string, version = 1) {
  return { type: 'availability.changed', sku, available: 1, version };
}

/** The SKU and version of a change handed to a consumer. */
function changeOf(event: unknown): { sku: string; version: number } {
  return event as { sku: string; version: number };
}

type Entry = { seq: number; index: number; event: ReturnType<typeof changed> };

/**
 * Runs `test` with a durable consumer of the availability events of `region`'s W1 (from the new
 * ones on), given a way to publish one event message there; the consumer stops after.
 */
async function withConsumer(
  region: string,
  options: Omit<EventConsumerOptions, 'durable' | 'filterSubject' | 'deliver'>,
  test: (consumer: EventConsumer, publish: (events: Entry[]) => Promise<void>) => Promise<void>,
): Promise<void> {
  const subject = availabilitySubject(region, 'W1');
  const consumer = await startEventConsumer(nc, { ...options, durable: true, filterSubject: subject, deliver: 'new' });
  const js = jetstream(nc);
  try {
    await test(consumer, async (events) => {
      await js.publish(subject, encode({ warehouseId: 'W1', events }));
    });
  } finally {
    await consumer.stop();
  }
}

describe('event consumer', () => {
  it('handles every event of a message even when one fails, sends it back, and gives up only the failing one', async () => {
    const seen: string[] = [];
    const handle: EventConsumerOptions['handle'] = ({ event }, delivery) => {
      const { sku } = changeOf(event);
      seen.push(`${delivery.deliveryCount}:${sku}`);
      if (sku === 'poison') throw new Error('poison');
    };
    const options = { name: 'test_partial_failure', deliveriesMax: 2, retryDelayMs: 100, handle };
    await withConsumer('ev-consumer', options, async (consumer, publish) => {
      await publish(['good-1', 'poison', 'good-2'].map((sku, i) => ({ seq: i + 1, index: 0, event: changed(sku) })));
      await waitFor(() => consumer.stats.abandoned > 0);
      expect(seen).toEqual(['1:good-1', '1:poison', '1:good-2', '2:good-1', '2:poison', '2:good-2']);
      expect(consumer.stats).toMatchObject({ handled: 4, failed: 1, abandoned: 1, malformed: 0 });
      // Terminated: no third delivery.
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(seen).toHaveLength(6);
    });
  });
});

describe('event consumer, made again', () => {
  it('a consumer of new events made again delivers what was stored while it was gone, not only what follows', async () => {
    const seen: string[] = [];
    const handle: EventConsumerOptions['handle'] = ({ event }) => {
      seen.push(changeOf(event).sku);
    };
    await withConsumer('ev-again', { name: 'test_made_again', handle }, async (consumer, publish) => {
      await publish([{ seq: 1, index: 0, event: changed('before') }]);
      await waitFor(() => seen.includes('before'));
      // Deleted (as with its stream, or by a reader): what is stored before it is made again is its to deliver.
      const jsm = await jetstreamManager(nc);
      await jsm.consumers.delete(EVENTS_STREAM, 'test_made_again');
      await publish([{ seq: 2, index: 0, event: changed('while-gone-1') }]);
      await publish([{ seq: 3, index: 0, event: changed('while-gone-2') }]);
      await waitFor(() => consumer.stats.restarts > 0);
      await publish([{ seq: 4, index: 0, event: changed('after') }]);
      await waitFor(() => seen.includes('after'));
      // Before the change it started at new events and never sent the two stored meanwhile.
      expect(seen).toEqual(expect.arrayContaining(['while-gone-1', 'while-gone-2']));
      expect(seen.indexOf('while-gone-1')).toBeLessThan(seen.indexOf('after'));
    });
  });
});

describe('event consumer, many messages at once', () => {
  it('hands the events of one key to the handler in stream order (sequenceBy), other keys at once', async () => {
    const handled: string[] = [];
    const options: Parameters<typeof withConsumer>[1] = {
      name: 'test_sequence_by',
      concurrency: 16,
      sequenceBy: ({ event }) => changeOf(event).sku,
      handle: async ({ event }) => {
        const { sku, version } = changeOf(event);
        // s0's first event is slow: without turns its later ones overtake it.
        if (sku === 's0' && version === 1) await new Promise((resolve) => setTimeout(resolve, 300));
        handled.push(`${sku}@${version}`);
      },
    };
    await withConsumer('ev-sequence', options, async (_consumer, publish) => {
      // Nine messages (commits): s0…s3 at version 1, then 2, then one message with all four at 3.
      let seq = 0;
      const entry = (sku: string, version: number) => ({ seq: ++seq, index: 0, event: changed(sku, version) });
      const skus = ['s0', 's1', 's2', 's3'];
      for (const version of [1, 2]) for (const sku of skus) await publish([entry(sku, version)]);
      await publish(skus.map((sku) => entry(sku, 3)));
      await waitFor(() => handled.length === 12);
      for (const sku of skus) {
        expect(handled.filter((h) => h.startsWith(`${sku}@`))).toEqual([1, 2, 3].map((v) => `${sku}@${v}`));
      }
      // Only s0 waited for its slow first event: the other keys went on meanwhile.
      expect(handled.indexOf('s0@1')).toBeGreaterThan(handled.indexOf('s3@2'));
    });
  });

  it('gives an event whose key cannot be told no turn, and goes on with the rest', async () => {
    const handled: string[] = [];
    const options: Parameters<typeof withConsumer>[1] = {
      name: 'test_sequence_throws',
      concurrency: 4,
      sequenceBy: ({ event }) => {
        const { sku } = changeOf(event);
        if (sku === 'bad') throw new Error('no key');
        return sku;
      },
      handle: ({ event }) => {
        const { sku, version } = changeOf(event);
        handled.push(`${sku}@${version}`);
      },
    };
    await withConsumer('ev-sequence-throws', options, async (consumer, publish) => {
      await publish([
        { seq: 1, index: 0, event: changed('s0', 1) },
        { seq: 1, index: 1, event: changed('bad', 1) },
      ]);
      await publish([{ seq: 2, index: 0, event: changed('s0', 2) }]);
      await waitFor(() => handled.length === 3);
      expect(handled.filter((h) => h.startsWith('s0'))).toEqual(['s0@1', 's0@2']);
      expect(handled).toContain('bad@1');
      expect(consumer.stats).toMatchObject({ handled: 3, failed: 0 });
    });
  });
});

describe('event consumer, failing for a while', () => {
  it('backs off: the delay before each delivery again doubles, up to its bound', async () => {
    const at: number[] = [];
    const handle = () => {
      at.push(performance.now());
      throw new Error('the sender is down');
    };
    const options = { name: 'test_backoff', deliveriesMax: 5, retryDelayMs: 100, retryDelayMaxMs: 400, handle };
    await withConsumer('ev-backoff', options, async (consumer, publish) => {
      await publish([{ seq: 1, index: 0, event: changed('down') }]);
      await waitFor(() => consumer.stats.abandoned > 0);
      const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
      // 100, 200, 400, then the bound (400): never shorter than asked (a fixed delay gives 100 each).
      expect(gaps).toHaveLength(4);
      for (const [i, least] of [100, 200, 400, 400].entries()) expect(gaps[i]).toBeGreaterThanOrEqual(least - 20);
    });
  });
});

describe('event consumer, slow handler', () => {
  it('keeps a message it is still handling from coming again past the ack wait', async () => {
    const deliveries: number[] = [];
    const handle: EventConsumerOptions['handle'] = async (_envelope, delivery) => {
      deliveries.push(delivery.deliveryCount);
      await new Promise((resolve) => setTimeout(resolve, 2_200));
    };
    await withConsumer(
      'ev-slow',
      { name: 'test_slow_handler', ackWaitMs: 1_000, handle },
      async (consumer, publish) => {
        await publish([{ seq: 1, index: 0, event: changed('slow') }]);
        await waitFor(() => consumer.stats.handled === 1);
        // Past twice the ack wait, the server never delivered it again.
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(deliveries).toEqual([1]);
      },
    );
  });
});

describe('notification consumer', () => {
  it('sends from the stream once per (order, type), and again after a failed send', async () => {
    const sender = new FlakySender();
    const running = await startNotificationConsumer(nc, REGION, sender, { namePrefix: 'test', retryDelayMs: 200 });
    const placed = await command({
      type: 'order.place',
      orderId: 'o1',
      customerId: 'c1',
      address: { lat: 52.521, lon: 13.406 },
      lines: [{ sku: 'sku-00001', quantity: 1 }],
      paymentToken: 'tok-1',
      ttlMs: 60_000,
    });
    expect(placed.ok).toBe(true);
    // The payment hold comes back through the effect executor; then the order joins the pick queue.
    await waitFor(() => sender.sent.includes('o1 confirmed'));
    expect(sender.refused.has('o1')).toBe(true);

    // The pick.queued event again under a new message id: delivered, not sent twice.
    const [queued] = await storedMessages(eventSubject(REGION, W, 'pick.queued'));
    if (queued === undefined) throw new Error('pick.queued not stored');
    const handled = running.consumers.reduce((n, c) => n + c.stats.handled, 0);
    await jetstream(nc).publish(queued.subject, queued.data, { msgID: 'dup-pick-queued' });
    await waitFor(() => running.consumers.reduce((n, c) => n + c.stats.handled, 0) > handled);
    expect(sender.sent.filter((s) => s === 'o1 confirmed')).toHaveLength(1);

    const reply = await nc.request(querySubject(REGION, W), encode({ type: 'order', orderId: 'o1' }));
    const order = decode(reply.data) as Result<{ state: string }>;
    if (!order.ok) throw new Error(order.error.message);
    const cancelled = await command({
      type: 'order.event',
      orderId: 'o1',
      eventId: 'cancel-1',
      expectedState: order.value.state,
      event: 'order.cancel',
      reason: 'customer',
    });
    expect(cancelled.ok).toBe(true);
    await waitFor(() => sender.sent.includes('o1 cancelled'));
    expect(running.notifier.stats.duplicates).toBeGreaterThanOrEqual(1);
    await running.stop();

    // The consumers are durable: they stay for the next start.
    const jsm = await jetstreamManager(nc);
    const info = await jsm.consumers.info(EVENTS_STREAM, 'test_ev_order');
    expect(info.config.durable_name).toBe('test_ev_order');
    expect(info.config.deliver_policy).toBe(DeliverPolicy.New);
  });
});
