/**
 * Shared helpers of the persistence tests: temporary data directories (real files under the OS
 * temp dir, removed afterwards), a seeded mix of every stock and reservation command, a clock the
 * test moves by hand, byte-exact state comparison, and a runner for the real `darkstore` binary.
 * Nothing here fakes a part of darkstore: every helper drives the real thing.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { outcomeOf, reservationOf } from '../../cli/index.ts';
import { decode, encode, type Result, toSnapshot, type WarehouseState } from '../../engine/index.ts';
import { Random } from '../../sim/index.ts';

/** The `darkstore` command of this checkout. */
export const BIN = fileURLToPath(new URL('../../bin/darkstore.js', import.meta.url));

const tempDirs: string[] = [];

/** A fresh directory under the OS temp dir; `removeTempDirs` deletes it. */
export function makeTempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `darkstore-${label}-`));
  tempDirs.push(dir);
  return dir;
}

/** Deletes every directory `makeTempDir` handed out in this test file. */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** A clock the test moves by hand: time is an input of the engine. */
export class ManualClock {
  constructor(public nowMs = 1_700_000_000_000) {}
  readonly clock = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

export { outcomeOf, reservationOf };

/** The whole warehouse state as the bytes a snapshot would hold. */
export function stateBytes(state: WarehouseState): Buffer {
  return Buffer.from(encode(toSnapshot(state)));
}

/** Asserts two encoded states are byte-identical; on a difference, shows it as a structural diff. */
export function expectSameState(actual: Buffer, expected: Buffer): void {
  if (actual.equals(expected)) return;
  expect(decode(actual)).toEqual(decode(expected));
  expect.fail('states differ in their bytes only (key order or number encoding)');
}

export const MIX_SKUS = 24;

export function skuOf(i: number): string {
  return `sku-${String(i).padStart(3, '0')}`;
}

/** A catalog of MIX_SKUS SKUs with safety stock and substitutes, then a receipt for all of them. */
export function catalogCommands(run: string): unknown[] {
  const location = { zone: 'A', aisle: 1, bay: 2, level: 0 };
  const upserts = Array.from({ length: MIX_SKUS }, (_, i) => ({
    type: 'sku.upsert',
    key: `${run}-def-${i}`,
    sku: skuOf(i),
    ownerId: 'merchant-1',
    name: `Item ${i}`,
    priceCents: 100 + i,
    location: { ...location, aisle: i % 5 },
    safetyStock: i % 3,
    substitutes: [skuOf((i + 1) % MIX_SKUS)],
  }));
  const lines = upserts.map((_, i) => ({ sku: skuOf(i), quantity: 30 }));
  return [...upserts, { type: 'receipt', key: `${run}-stock`, receiptId: `${run}-stock`, lines }];
}

/**
 * A seeded stream of commands over the catalog: reserves (some with substitutes, some too big),
 * commits (whole and partial), releases, extends, POS sales, receipts, adjustments and counts.
 * It remembers the reservations it was told about, so commits and releases name real ones.
 */
export class CommandMix {
  private readonly random: Random;
  private readonly open: string[] = [];
  private n = 0;

  constructor(
    seed: number,
    private readonly run: string,
  ) {
    this.random = new Random(seed);
  }

  /** Tells the mix what a command answered, so it can refer to the reservations it made. */
  observe(result: Result): void {
    const id = reservationOf(result);
    if (id !== '-') this.open.push(id);
  }

  next(): unknown {
    const r = this.random;
    const key = `${this.run}-${this.n++}`;
    const sku = skuOf(r.int(0, MIX_SKUS - 1));
    const roll = r.next();
    const pickOpen = () => this.open.splice(r.int(0, this.open.length - 1), 1)[0];
    if (roll < 0.35 || this.open.length === 0) {
      const lines = [{ sku, quantity: r.int(1, roll < 0.05 ? 80 : 4), allowSubstitutes: r.chance(0.3) }];
      return { type: 'reserve', key, lines, ttlMs: r.int(5_000, 60_000) };
    }
    if (roll < 0.45) return { type: 'commit', key, reservationId: pickOpen() };
    if (roll < 0.5) {
      const reservationId = pickOpen();
      return { type: 'commit', key, reservationId, lines: [{ sku, quantity: 1 }], releaseRest: true };
    }
    if (roll < 0.57) return { type: 'release', key, reservationId: pickOpen() };
    if (roll < 0.62) return { type: 'extend', key, reservationId: r.pick(this.open), ttlMs: 30_000 };
    if (roll < 0.75) {
      const sourceSeq = this.n;
      return { type: 'pos.sale', key, sourceId: `${this.run}-till`, sourceSeq, lines: [{ sku, quantity: 1 }] };
    }
    if (roll < 0.85) {
      return { type: 'receipt', key, receiptId: `${this.run}-rc-${this.n}`, lines: [{ sku, quantity: r.int(1, 20) }] };
    }
    if (roll < 0.93) return { type: 'adjust', key, sku, delta: -1, reason: 'damage' };
    return { type: 'count', key, sku, counted: r.int(0, 40) };
  }
}

/** What takes commands: a DurableWarehouse or a bare WarehouseRuntime. */
export interface CommandSink {
  submit(input: unknown): Promise<Result>;
}

/**
 * Submits `count` commands of the mix, `inFlight` at a time so the runtime group-commits them, and
 * moves the clock between rounds so reservations expire along the way. Returns the results by key.
 */
export async function driveMix(
  warehouse: CommandSink,
  mix: CommandMix,
  clock: ManualClock,
  count: number,
  inFlight = 8,
): Promise<Map<string, Result>> {
  const results = new Map<string, Result>();
  for (let sent = 0; sent < count; sent += inFlight) {
    const commands = Array.from({ length: Math.min(inFlight, count - sent) }, () => mix.next());
    const answers = await Promise.all(commands.map((command) => warehouse.submit(command)));
    answers.forEach((result, i) => {
      mix.observe(result);
      results.set((commands[i] as { key: string }).key, result);
    });
    clock.advance(1_000);
  }
  return results;
}

/** Submits commands one after another and insists each succeeds. */
export async function submitAll(warehouse: CommandSink, commands: readonly unknown[]): Promise<void> {
  for (const command of commands) {
    const result = await warehouse.submit(command);
    if (!result.ok) throw new Error(`${JSON.stringify(command)} failed: ${result.error.code} ${result.error.message}`);
  }
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `darkstore <args>` as a real child process and collects its output. */
export function runCli(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
