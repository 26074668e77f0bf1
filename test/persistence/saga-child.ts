/**
 * The child process of the saga crash test: one warehouse host (durable warehouse + effect executor)
 * on a real data directory, paying through a journaled provider that survives kills, and a floor
 * driver that takes orders through the sagas of saga-plan.ts. The driver reads each order's state
 * and does its next step, so a restarted child carries on with the orders a killed child left,
 * under the same command keys. Run as
 *
 *   node --import tsx saga-child.ts DIR JOURNAL --round N --orders N [--final] [--checkpoint worker|inline]
 *
 * It prints one line per fact the parent needs, each only once it is true:
 *   READY · RESUMED <order> <operation> (a payment owed at recovery, run again) ·
 *   ACK <key> <ok|code> (the command is durable) · STEP <order> <placed|cancelled|delivered|refund-asked> ·
 *   CALL <operation> <order> <called|answered> [<ok|declined> <first|repeat>] (from the provider) ·
 *   ESCALATION <order> <text> (a payment the provider refused) · ROUND-DONE (this round's orders are
 *   through; the child then waits to be killed) · DONE <rejected outcomes> (with --final, then it exits).
 */
import * as path from 'node:path';
import { openWarehouseHost, type WarehouseHost } from '../../effects/index.ts';
import type { OrderRecord, Result } from '../../engine/index.ts';
import { CircuitBreaker, ResilientGateway } from '../../payments/index.ts';
import { Random } from '../../sim/index.ts';
import { DECLINE_SUFFIX, JournaledPaymentProvider } from './journaled-provider.ts';
import {
  COURIERS,
  FINAL_STATE_OF,
  HOME,
  kindOf,
  linesOf,
  PICKER,
  roundOrders,
  SKUS,
  STORE,
  WAREHOUSE_ID,
} from './saga-plan.ts';

/** Orders placed at once (group-committed together, authorized concurrently). */
const BURST = 3;
/** Longest wait for the next commit before the driver looks again. */
const POLL_MS = 25;
/** Most steps one order may take before the driver gives up on it (a bug, not a slow provider). */
const STEPS_MAX = 400;
/** Most passes of the final round over unfinished orders before it reports what it has. */
const FINAL_PASSES_MAX = 200;
const FINAL_STATES = new Set(['delivered', 'cancelled', 'refunded', 'partially_fulfilled']);

type OrderView = OrderRecord & { state: string };
type Command = Record<string, unknown> & { key: string };

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function parseArgs(argv: string[]) {
  const [dataDir, journal, ...rest] = argv;
  if (dataDir === undefined || journal === undefined) throw new Error('usage: saga-child DIR JOURNAL [options]');
  const flag = (name: string) => {
    const i = rest.indexOf(name);
    return i < 0 ? undefined : rest[i + 1];
  };
  return {
    dataDir,
    journal: path.resolve(journal),
    round: Number(flag('--round') ?? 0),
    orders: Number(flag('--orders') ?? 6),
    final: rest.includes('--final'),
    checkpoint: flag('--checkpoint') === 'worker' ? ('worker' as const) : ('inline' as const),
  };
}

/** The floor's side of the sagas: every command a picker, a courier, a customer or ops sends. */
class Driver {
  private wake: (() => void)[] = [];

  constructor(private readonly host: WarehouseHost) {}

  /** Called on every committed batch: whoever waits for a change looks again. */
  committed(): void {
    const waiting = this.wake;
    this.wake = [];
    for (const resolve of waiting) resolve();
  }

  /** Resolves at the next commit, or after POLL_MS when nothing commits. */
  nextCommit(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, POLL_MS);
      this.wake.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Submits a command and prints its ACK once it is durable; a refusal is a bug of this driver. */
  async must(command: Command): Promise<Result> {
    const result = await this.host.warehouse.submit(command);
    say(`ACK ${command.key} ${result.ok ? 'ok' : result.error.code}`);
    if (!result.ok) throw new Error(`${command.key} refused: ${result.error.code} ${result.error.message}`);
    return result;
  }

  view(orderId: string): OrderView | undefined {
    const r = this.host.warehouse.query({ type: 'order', orderId }) as Result<OrderView>;
    return r.ok ? r.value : undefined;
  }

  /** The store: idempotent keys make running it again on every start harmless. */
  async setUp(): Promise<void> {
    await this.must({ type: 'warehouse.configure', key: 'setup:configure', location: STORE });
    for (const [i, [sku, priceCents]] of SKUS.entries()) {
      const location = { zone: 'A', aisle: i + 1, bay: 1, level: 1 };
      const upsert = { sku, ownerId: 'owner-1', name: `item ${sku}`, priceCents, location, safetyStock: 0 };
      await this.must({ type: 'sku.upsert', key: `setup:sku:${sku}`, ...upsert, substitutes: [] });
      const lines = [{ sku, quantity: 5_000 }];
      await this.must({ type: 'receipt', key: `setup:receipt:${sku}`, receiptId: `rc-${sku}`, lines });
    }
    await this.must({ type: 'picker.check_in', key: 'setup:picker', pickerId: PICKER });
    for (const courierId of COURIERS) {
      await this.must({ type: 'courier.check_in', key: `setup:courier:${courierId}`, courierId, position: STORE });
    }
  }

  async place(orderId: string): Promise<void> {
    const paymentToken = `tok-${orderId}${kindOf(orderId) === 'decline' ? DECLINE_SUFFIX : ''}`;
    await this.must({
      type: 'order.place',
      key: `place:${orderId}`,
      orderId,
      customerId: `cust-${orderId}`,
      address: HOME,
      lines: linesOf(orderId),
      paymentToken,
      ttlMs: 600_000,
    });
    say(`STEP ${orderId} placed`);
    // Cancelled while the hold is still being placed: the authorization lands late and is voided.
    if (kindOf(orderId) === 'cancel-early') await this.event(orderId, 'cancel', 'reserved', 'order.cancel');
  }

  /** An order event under a key (and event id) made of the step and the order: the same in every process. */
  async event(orderId: string, step: string, expectedState: string, event: string, facts = {}): Promise<void> {
    const key = `${step}:${orderId}`;
    await this.must({ type: 'order.event', key, eventId: key, orderId, expectedState, event, ...facts });
    if (event === 'order.cancel') say(`STEP ${orderId} cancelled`);
  }

  /** The picker takes the oldest task (whichever order it is), scans every line in full and packs it. */
  async pickAndPack(): Promise<void> {
    type Floor = { pickers: { pickerId: string; orderId?: string }[]; pickQueue: string[] };
    const floor = this.host.warehouse.query({ type: 'fulfillment' }) as Result<Floor>;
    if (!floor.ok) throw new Error('no floor view');
    let orderId = floor.value.pickers.find((p) => p.pickerId === PICKER)?.orderId;
    if (orderId === undefined) {
      orderId = floor.value.pickQueue[0];
      if (orderId === undefined) return;
      await this.must({ type: 'pick.take', key: `take:${orderId}`, pickerId: PICKER });
    }
    const o = this.view(orderId);
    if (o?.pick === undefined || o.state !== 'picking') return;
    for (const { sku, quantity, picked } of o.pick.lines) {
      if (picked >= quantity) continue;
      const scan = { scanId: `scan:${orderId}:${sku}`, sku, quantity: quantity - picked };
      await this.event(orderId, `scan-${sku}`, 'picking', 'pick.scanned', scan);
    }
    await this.event(orderId, 'pack', 'picking', 'pack.completed', { bagCount: 1, stagingSlot: 'S-1' });
  }

  /** Does an order's next step; false once it stands where its saga ends. */
  async step(orderId: string): Promise<boolean> {
    const kind = kindOf(orderId);
    const o = this.view(orderId);
    if (o === undefined) {
      await this.place(orderId);
      return true;
    }
    const { state } = o;
    if (FINAL_STATES.has(state) && !(kind === 'refund' && state === 'delivered')) return false;
    const cancelNow =
      kind === 'cancel-early' || (kind === 'cancel-packed' && ['packed', 'courier_assigned'].includes(state));
    if (cancelNow) await this.event(orderId, 'cancel', state, 'order.cancel', { reason: 'customer' });
    else if (String(o.lifecycle.value) === 'reserved.authorizing' || state === 'packed') await this.nextCommit();
    else if (state === 'reserved' || state === 'picking') await this.pickAndPack();
    else if (state === 'courier_assigned') {
      const courierId = o.courierId as string;
      await this.event(orderId, `accept-${courierId}`, state, 'courier.accepted', { courierId });
      await this.event(orderId, 'pickup', state, 'courier.picked_up', { courierId });
    } else if (state === 'out_for_delivery') {
      await this.event(orderId, 'deliver', state, 'delivery.completed', { courierId: o.courierId, position: HOME });
      say(`STEP ${orderId} delivered`);
    } else if (o.payment.pending.includes('capture')) {
      // Ops refund a delivered order once its capture is through (a refund while the capture is
      // still owed drops the capture: see payment-outage.test.ts).
      await this.nextCommit();
    } else {
      await this.event(orderId, 'refund', state, 'payment.refunded', { reason: 'damaged goods' });
      say(`STEP ${orderId} refund-asked`);
    }
    return true;
  }

  async drive(orderId: string): Promise<void> {
    for (let n = 0; n < STEPS_MAX; n++) if (!(await this.step(orderId))) return;
    throw new Error(`order ${orderId} stuck in ${this.view(orderId)?.state}`);
  }

  /** Orders not yet where their saga ends, or with a payment still owed. */
  unfinished(): string[] {
    return [...this.host.warehouse.runtime.warehouse.state.orders.values()]
      .filter((o) => o.payment.pending.length > 0 || this.view(o.orderId)?.state !== FINAL_STATE_OF[kindOf(o.orderId)])
      .map((o) => o.orderId);
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const provider = new JournaledPaymentProvider({
    file: args.journal,
    seed: process.pid,
    latencyMs: { min: 2, max: 12 },
    onCall: ({ operation, orderId, phase, outcome, repeat }) => {
      const answer =
        outcome === undefined ? '' : ` ${outcome.ok ? 'ok' : outcome.reason} ${repeat ? 'repeat' : 'first'}`;
      say(`CALL ${operation} ${orderId} ${phase}${answer}`);
    },
  });
  const random = new Random(process.pid);
  const gateway = new ResilientGateway(provider, {
    breaker: new CircuitBreaker(Date.now),
    random: () => random.next(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });
  let driver: Driver | undefined;
  const host = openWarehouseHost({
    dataDir: args.dataDir,
    warehouseId: WAREHOUSE_ID,
    gateway,
    checkpoint: args.checkpoint,
    checkpointEveryCommands: 40,
    checkpointIntervalMs: 0,
    retryDelayMs: 50,
    assertInvariants: true,
    onCommitted: (batch) => {
      for (const e of batch.events) {
        if (e.type === 'escalation.raised' && e.kind === 'payment_refused') say(`ESCALATION ${e.orderId} ${e.detail}`);
      }
      driver?.committed();
    },
  });
  say('READY');
  for (const op of host.executor.tracked()) say(`RESUMED ${op.orderId} ${op.operation}`);
  driver = new Driver(host);
  await driver.setUp();

  // Orders earlier children left unfinished first, then this round's, placed a burst at a time.
  for (const orderId of driver.unfinished()) await driver.drive(orderId);
  const mine = args.final ? [] : roundOrders(args.round, args.orders);
  for (let i = 0; i < mine.length; i += BURST) {
    const burst = mine.slice(i, i + BURST);
    const d = driver;
    await Promise.all(burst.filter((id) => d.view(id) === undefined).map((id) => d.place(id)));
    for (const orderId of burst) await driver.drive(orderId);
  }
  if (!args.final) {
    say('ROUND-DONE');
    setInterval(() => {}, 60_000); // the parent kills this child here if no marker came first
    return;
  }
  // The final round: every order reaches the end of its saga and every payment operation its answer.
  for (let pass = 0; pass < FINAL_PASSES_MAX; pass++) {
    await host.executor.idle();
    const open = driver.unfinished();
    if (open.length === 0) break;
    for (const orderId of open) await driver.drive(orderId);
    await driver.nextCommit();
  }
  say(`DONE ${host.executor.stats.rejected}`);
  await host.close();
  provider.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`saga-child failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
