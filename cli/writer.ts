/**
 * `darkstore writer DIR --warehouse ID --seed N --run NAME`: a load writer that keeps a durable
 * warehouse busy with a seeded mix of every command (receipts, reserves, partial and whole commits,
 * releases, extends, POS sales, adjustments, counts) and prints one line per acknowledged command:
 *
 *   ACK <key> <ok|error code> <reservation id or ->
 *
 * A line is printed only after its command is durable. The crash tests and the demo run it as a
 * child process and SIGKILL it at random moments, then check every acknowledged line survived.
 */
import type { Readable } from 'node:stream';
import type { Result } from '../engine/index.ts';
import { DurableWarehouse } from '../persistence/index.ts';
import { Random } from '../sim/index.ts';

export const WRITER_SKUS = 40;
const IN_FLIGHT = 64;

function skuId(i: number): string {
  return `sku-${String(i).padStart(3, '0')}`;
}

/** The catalog a writer defines on an empty warehouse, with substitutes and safety stock. */
export function writerCatalog(): unknown[] {
  return Array.from({ length: WRITER_SKUS }, (_, i) => ({
    type: 'sku.upsert',
    key: `catalog-${i}`,
    sku: skuId(i),
    ownerId: 'merchant-1',
    name: `Item ${i}`,
    priceCents: 100 + i,
    location: { zone: i % 2 === 0 ? 'A' : 'B', aisle: i % 7, bay: i % 5, level: i % 3 },
    safetyStock: i % 4,
    substitutes: [skuId((i + 1) % WRITER_SKUS)],
  }));
}

/** One line of a writer's output. */
export type WriterLine =
  | { tag: 'READY' }
  | { tag: 'DONE' }
  | { tag: 'ACK'; key: string; outcome: string; reservationId: string };

/** Parses a writer's stdout line by line (a line cut by SIGKILL is never handed on). */
export function onWriterLines(stdout: Readable, handle: (line: WriterLine) => void): void {
  let buffer = '';
  stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const [tag, key, outcome, reservationId] = line.split(' ');
      if (tag === 'READY' || tag === 'DONE') handle({ tag });
      else if (tag === 'ACK' && key !== undefined && outcome !== undefined && reservationId !== undefined) {
        handle({ tag, key, outcome, reservationId });
      }
    }
  });
}

/** The outcome a writer prints for a result: `ok` or the error code. */
export function outcomeOf(result: Result): string {
  if (!result.ok) return result.error.code;
  return 'ok';
}

/** The reservation id a result created, or '-' (the ACK line's last field). */
export function reservationOf(result: Result): string {
  return result.ok && result.value.kind === 'reserved' ? result.value.reservationId : '-';
}

/** Builds the next command of the mix. */
function nextCommand(random: Random, run: string, n: number, open: string[]): unknown {
  const key = `${run}-${n}`;
  const sku = skuId(random.int(0, WRITER_SKUS - 1));
  const roll = random.next();
  if (roll < 0.4 || open.length === 0) {
    const lines = [{ sku, quantity: random.int(1, 3), allowSubstitutes: random.chance(0.3) }];
    return { type: 'reserve', key, lines, ttlMs: random.int(1_000, 5_000) };
  }
  if (roll < 0.55) return { type: 'commit', key, reservationId: open.splice(random.int(0, open.length - 1), 1)[0] };
  if (roll < 0.62) return { type: 'release', key, reservationId: open.splice(random.int(0, open.length - 1), 1)[0] };
  if (roll < 0.66) return { type: 'extend', key, reservationId: random.pick(open), ttlMs: 5_000 };
  if (roll < 0.8) {
    return { type: 'pos.sale', key, sourceId: `${run}-till`, sourceSeq: n, lines: [{ sku, quantity: 1 }] };
  }
  if (roll < 0.9)
    return { type: 'receipt', key, receiptId: `${run}-rc-${n}`, lines: [{ sku, quantity: random.int(5, 40) }] };
  if (roll < 0.95) return { type: 'adjust', key, sku, delta: -1, reason: 'damage' };
  return { type: 'count', key, sku, counted: random.int(0, 60) };
}

export async function runWriter(dataDir: string, warehouseId: string, seed: number, run: string, limit: number) {
  const warehouse = DurableWarehouse.open({
    dataDir,
    warehouseId,
    checkpointEveryCommands: 2_000,
    checkpointIntervalMs: 0,
  });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  for (const command of writerCatalog()) await warehouse.submit(command);
  const restock = { type: 'receipt', key: `${run}-restock`, receiptId: `${run}-restock` };
  await warehouse.submit({ ...restock, lines: writerCatalog().map((_, i) => ({ sku: skuId(i), quantity: 200 })) });
  out('READY');
  const random = new Random(seed);
  const open: string[] = [];
  let n = 0;
  const worker = async () => {
    while (n < limit) {
      const command = nextCommand(random, run, n++, open);
      const result = await warehouse.submit(command);
      const reservationId = reservationOf(result);
      if (reservationId !== '-') open.push(reservationId);
      out(`ACK ${(command as { key: string }).key} ${outcomeOf(result)} ${reservationId}`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  await warehouse.close();
  out('DONE');
}
