/**
 * Crash in the middle of each saga step: a real child process (saga-child.ts: a warehouse host with
 * its effect executor, paying through a journaled provider whose memory survives kills) takes orders
 * through every saga of saga-plan.ts on ONE data directory, and is killed with SIGKILL at a chosen
 * step in each round: right after a checkout was acknowledged (authorization not yet answered), while
 * an authorization is in flight, after the provider answered an authorization or a decline but before
 * the warehouse heard, between delivery and capture, after a capture, a void or a refund was answered,
 * while a void is in flight, and in the middle of resuming after the previous kill. Each next child
 * recovers, resumes the payments still owed and carries on; a final child runs everything to its end.
 * Then this process opens the data directory and the provider's journal and checks: every acknowledged
 * command is there with its outcome; every order ended where its saga ends, owes no payment and holds
 * no stock; at most one hold, one capture (of exactly the order's charge), and every hold of a cancelled
 * order voided, of a refunded order refunded; the invariants and the ledger; and that the kills did land
 * where a crash could charge twice (operations resumed whose provider call had already been answered).
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkAll, type OrderRecord, type Result } from '../../engine/index.ts';
import { DurableWarehouse, verifyWarehouse } from '../../persistence/index.ts';
import { Random } from '../../sim/index.ts';
import { makeTempDir, removeTempDirs } from './helpers.ts';
import { type JournalEntry, readJournal } from './journaled-provider.ts';
import { FINAL_STATE_OF, kindOf, WAREHOUSE_ID } from './saga-plan.ts';

const CHILD = fileURLToPath(new URL('./saga-child.ts', import.meta.url));
const ORDERS_PER_ROUND = 6;
/** Longest a child may run before it is killed and the round fails (it normally needs well under 2 s). */
const CHILD_TIME_MAX_MS = 20_000;

/** Where a round's kill lands: the marker line that triggers it, and the most occurrences to wait for. */
const TARGETS = {
  placed: { pattern: /^STEP \S+ placed$/, nthMax: 3 },
  'authorize-answered': { pattern: /^CALL authorize \S+ answered ok first$/, nthMax: 3 },
  resumed: { pattern: /^RESUMED /, nthMax: 1 },
  'decline-answered': { pattern: /^CALL authorize \S+ answered declined first$/, nthMax: 1 },
  delivered: { pattern: /^STEP \S+ delivered$/, nthMax: 2 },
  'void-called': { pattern: /^CALL void \S+ called$/, nthMax: 2 },
  'capture-answered': { pattern: /^CALL capture \S+ answered ok first$/, nthMax: 2 },
  'void-answered': { pattern: /^CALL void \S+ answered ok first$/, nthMax: 2 },
  'refund-answered': { pattern: /^CALL refund \S+ answered ok first$/, nthMax: 1 },
  'authorize-called': { pattern: /^CALL authorize \S+ called$/, nthMax: 3 },
} as const;
type Target = keyof typeof TARGETS;

/** One kill per round, the cycle twice over; a `resumed` round follows a round that leaves a payment owed. */
const CYCLE: Target[] = [
  'placed',
  'authorize-answered',
  'resumed',
  'decline-answered',
  'delivered',
  'void-called',
  'capture-answered',
  'resumed',
  'void-answered',
  'refund-answered',
  'authorize-called',
];
const PLAN: Target[] = [...CYCLE, ...CYCLE];

interface ChildRun {
  /** The target's marker line the kill was sent on, or undefined when the child got to ROUND-DONE first. */
  killedOn: string | undefined;
  resumed: { orderId: string; operation: string }[];
  escalations: string[];
  done: string | undefined;
  /** The child ran past CHILD_TIME_MAX_MS and was killed for it. */
  timedOut: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

interface RoundStats {
  round: number;
  target: Target | 'final';
  killedOn: string | undefined;
  acks: number;
  resumed: number;
  /** Resumed operations the provider had already answered before the kill: its answer never arrived. */
  resumedAnswered: number;
}

const dataDir = makeTempDir('saga');
const journal = path.join(dataDir, 'provider.journal');
/** Every acknowledged command's key, with the outcome the child printed. */
const acks = new Map<string, string>();
const ackConflicts: string[] = [];
const stats: RoundStats[] = [];
const escalations: string[] = [];

afterAll(removeTempDirs);

/** Runs the child; with a target, kills it with SIGKILL on the nth marker line (or at ROUND-DONE). */
function runChild(round: number, target: Target | undefined, nth: number): Promise<ChildRun> {
  const args = ['--import', 'tsx', CHILD, dataDir, journal, '--round', String(round), '--orders'];
  args.push(String(ORDERS_PER_ROUND), '--checkpoint', round % 2 === 0 ? 'inline' : 'worker');
  if (target === undefined) args.push('--final');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: ChildRun = {
    killedOn: undefined,
    resumed: [],
    escalations: [],
    done: undefined,
    timedOut: false,
    code: null,
    signal: null,
    stderr: '',
  };
  let seen = 0;
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    child.kill('SIGKILL');
  };
  const timer = setTimeout(() => {
    run.timedOut = !killed;
    kill();
  }, CHILD_TIME_MAX_MS);
  const onLine = (line: string) => {
    const [tag, a, b] = line.split(' ');
    if (tag === 'ACK' && a !== undefined && b !== undefined) {
      const earlier = acks.get(a);
      if (earlier !== undefined && earlier !== b) ackConflicts.push(`${a}: acknowledged ${earlier}, later ${b}`);
      acks.set(a, b);
    } else if (tag === 'RESUMED' && a !== undefined && b !== undefined) run.resumed.push({ orderId: a, operation: b });
    else if (tag === 'ESCALATION') run.escalations.push(line);
    else if (tag === 'DONE') run.done = a;
    else if (tag === 'ROUND-DONE') kill();
    if (target !== undefined && !killed && TARGETS[target].pattern.test(line) && ++seen === nth) {
      run.killedOn = line;
      kill();
    }
  };
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? ''; // a line cut short by the kill was never complete
    for (const line of lines) onLine(line);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    run.stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
}

async function round(index: number, target: Target | undefined): Promise<void> {
  const random = new Random(0x5a6a + index);
  const nth = target === undefined ? 0 : random.int(1, TARGETS[target].nthMax);
  const answeredBefore = new Set(readJournal(journal).map((e) => e.key));
  const acksBefore = acks.size;
  const run = await runChild(index, target, nth);
  escalations.push(...run.escalations);
  if (target === undefined) {
    if (run.code !== 0 || run.done === undefined)
      throw new Error(`final child failed (code ${run.code}):\n${run.stderr}`);
  } else if (run.signal !== 'SIGKILL' || run.stderr !== '' || run.timedOut) {
    const how = run.timedOut ? 'hung' : `ended by itself (code ${run.code}, ${run.signal})`;
    throw new Error(`child of round ${index} ${how}:\n${run.stderr}`);
  }
  if (run.done !== undefined) expect(run.done, 'payment outcomes the warehouse refused').toBe('0');
  stats.push({
    round: index,
    target: target ?? 'final',
    killedOn: run.killedOn,
    acks: acks.size - acksBefore,
    resumed: run.resumed.length,
    resumedAnswered: run.resumed.filter((op) => answeredBefore.has(`${WAREHOUSE_ID}:${op.orderId}:${op.operation}`))
      .length,
  });
}

/** The acknowledged commands whose stored result is missing or differs from what the child printed. */
function lostOrChanged(warehouse: DurableWarehouse): string[] {
  const problems: string[] = [];
  for (const [key, outcome] of acks) {
    const stored = warehouse.query({ type: 'command', key }) as Result<Result>;
    if (!stored.ok) problems.push(`${key}: acknowledged ${outcome}, not found after recovery`);
    else {
      const now = stored.value.ok ? 'ok' : stored.value.error.code;
      if (now !== outcome) problems.push(`${key}: acknowledged ${outcome}, recovered ${now}`);
    }
  }
  return problems;
}

/** What the provider did for one order: first answers only (repeats move nothing). */
function moneyOf(entries: JournalEntry[], orderId: string) {
  const firsts = entries.filter((e) => e.orderId === orderId && !e.repeat);
  const ok = (operation: string) => firsts.filter((e) => e.operation === operation && e.outcome.ok);
  return {
    holds: ok('authorize'),
    captures: ok('capture'),
    voids: ok('void'),
    refunds: ok('refund'),
    refused: firsts.filter((e) => !e.outcome.ok).map((e) => e.operation),
    keys: entries.filter((e) => e.orderId === orderId).map((e) => e.key),
  };
}

/** The money problems of one order: what its saga must have moved at the provider, once. */
function moneyProblems(order: OrderRecord, entries: JournalEntry[]): string[] {
  const kind = kindOf(order.orderId);
  const m = moneyOf(entries, order.orderId);
  const problems: string[] = [];
  const expectCount = (what: string, got: number, want: number) => {
    if (got !== want) problems.push(`${order.orderId}: ${got} ${what}, expected ${want}`);
  };
  const charge = order.amountCents - order.adjustmentCents;
  expectCount('successful holds', m.holds.length, kind === 'decline' ? 0 : 1);
  const charged = kind === 'deliver' || kind === 'refund';
  expectCount('captures', m.captures.length, charged ? 1 : 0);
  expectCount('voids', m.voids.length, charged || kind === 'decline' ? 0 : 1);
  expectCount('refunds', m.refunds.length, kind === 'refund' ? 1 : 0);
  const refusedWanted = kind === 'decline' ? ['authorize'] : [];
  if (JSON.stringify(m.refused) !== JSON.stringify(refusedWanted)) {
    problems.push(`${order.orderId}: the provider refused ${m.refused.join(', ') || 'nothing'}`);
  }
  for (const capture of m.captures) {
    if (capture.amountCents !== charge || order.payment.capturedCents !== charge) {
      problems.push(
        `${order.orderId}: captured ${capture.amountCents} (order says ${order.payment.capturedCents}), charge ${charge}`,
      );
    }
  }
  for (const refund of m.refunds) {
    if (refund.amountCents !== charge || order.payment.refundedCents !== charge) {
      problems.push(
        `${order.orderId}: refunded ${refund.amountCents} (order says ${order.payment.refundedCents}) of ${charge}`,
      );
    }
  }
  if (m.voids.length > 0 && !order.payment.voided) problems.push(`${order.orderId}: voided, order does not know`);
  // No hold stays on the customer's card: each one was captured or voided, once.
  for (const hold of m.holds) {
    const { authorizationId } = hold.outcome.ok
      ? (hold.outcome.value as { authorizationId: string })
      : { authorizationId: '' };
    const settled = [...m.captures, ...m.voids].filter((e) => e.authorizationId === authorizationId).length;
    if (settled !== 1) problems.push(`${order.orderId}: hold ${authorizationId} settled ${settled} times`);
  }
  for (const key of m.keys) {
    if (!key.startsWith(`${WAREHOUSE_ID}:${order.orderId}:`)) problems.push(`${order.orderId}: unstable key ${key}`);
  }
  return problems;
}

/** The saga problems of one order: where it ended, what it still owes, what it still holds. */
function sagaProblems(warehouse: DurableWarehouse, order: OrderRecord): string[] {
  const view = warehouse.query({ type: 'order', orderId: order.orderId }) as Result<{ state: string }>;
  const state = view.ok ? view.value.state : 'missing';
  const problems: string[] = [];
  const want = FINAL_STATE_OF[kindOf(order.orderId)];
  if (state !== want)
    problems.push(`${order.orderId}: ended ${state} (${String(order.lifecycle.value)}), expected ${want}`);
  if (order.payment.pending.length > 0)
    problems.push(`${order.orderId}: still owes ${order.payment.pending.join(', ')}`);
  if (warehouse.runtime.warehouse.state.reservations.has(order.reservationId)) {
    problems.push(`${order.orderId}: reservation ${order.reservationId} still open in ${state}`);
  }
  return problems;
}

describe('SIGKILL in the middle of each saga step, recovered and resumed on one data directory', () => {
  PLAN.forEach((target, index) => {
    it(`round ${index}: kill at ${target}`, () => round(index, target), 30_000);
  });

  it('a final child recovers, resumes and runs every saga to its end', () => round(PLAN.length, undefined), 30_000);

  it('every acknowledged command survived; every saga completed or compensated, once', async () => {
    expect(ackConflicts).toEqual([]);
    const warehouse = DurableWarehouse.open({
      dataDir,
      warehouseId: WAREHOUSE_ID,
      checkpoint: 'off',
      assertInvariants: true,
    });
    try {
      expect(lostOrChanged(warehouse)).toEqual([]);
      const state = warehouse.runtime.warehouse.state;
      const orders = [...state.orders.values()];
      const entries = readJournal(journal);
      expect(orders.flatMap((o) => sagaProblems(warehouse, o))).toEqual([]);
      expect(orders.flatMap((o) => moneyProblems(o, entries))).toEqual([]);
      // Nothing stays reserved: no open reservation at all, no SKU with units reserved.
      expect(state.reservations.size).toBe(0);
      expect([...state.skus.values()].filter((s) => s.reserved !== 0).map((s) => s.sku)).toEqual([]);
      checkAll(state);
      // The provider never saw a call for an order the warehouse does not know.
      const known = new Set(orders.map((o) => o.orderId));
      expect(entries.filter((e) => !known.has(e.orderId)).map((e) => e.key)).toEqual([]);
      expect(escalations).toEqual([]);

      // Every step was hit by a kill at least once (a kill whose step did not come in its round
      // lands when the child's orders are through), and some kills landed where a crash could
      // charge twice: an operation the provider had answered, resumed after the kill, got its first
      // answer again.
      const repeats = entries.filter((e) => e.repeat).length;
      const killRounds = stats.filter((s) => s.target !== 'final');
      const hit = new Set(killRounds.filter((s) => s.killedOn !== undefined).map((s) => s.target));
      expect(CYCLE.filter((target) => !hit.has(target))).toEqual([]);
      expect(stats.reduce((n, s) => n + s.resumedAnswered, 0)).toBeGreaterThan(0);
      expect(stats.reduce((n, s) => n + s.resumed - s.resumedAnswered, 0)).toBeGreaterThan(0);
      expect(repeats).toBeGreaterThan(0);
      console.log(
        `saga crash: ${stats.length} children, ${acks.size} acknowledged commands, ${orders.length} orders ` +
          `(${orders.filter((o) => o.payment.capturedCents > 0).length} captured, ` +
          `${orders.filter((o) => o.payment.voided).length} voided, ` +
          `${orders.filter((o) => o.payment.refundedCents > 0).length} refunded), ${entries.length} provider calls ` +
          `(${repeats} repeats answered again), resumed ${stats.reduce((n, s) => n + s.resumed, 0)} operations ` +
          `(${stats.reduce((n, s) => n + s.resumedAnswered, 0)} already answered by the provider); kills: ` +
          killRounds.map((s) => `${s.target}@${s.killedOn?.split(' ').slice(0, 3).join(' ')}`).join(', '),
      );
    } finally {
      await warehouse.close({ snapshot: false });
    }
    const verification = verifyWarehouse(dataDir, WAREHOUSE_ID);
    expect(verification.damagedSnapshots).toEqual([]);
    expect(verification.ledgerComplete).toBe(true);
    expect(verification.mismatches).toEqual([]);
  }, 30_000);
});
