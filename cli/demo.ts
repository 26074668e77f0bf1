/**
 * `darkstore demo` (what `npm start` runs until the simulator replaces it): a scripted warehouse on
 * the embedded engine. It receives stock, reserves and commits orders, shows all-or-nothing
 * rejection, POS duplicates and a cycle count, runs one order from checkout to the door
 * (cli/demo-order.ts), then starts a real load-writer process, kills it
 * with SIGKILL mid-load, recovers the warehouse from its WAL and snapshots, checks that every
 * acknowledged command survived, and verifies stock against the ledger. It prints what it did.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Result } from '../engine/index.ts';
import { DurableWarehouse, verifyWarehouse } from '../persistence/index.ts';
import { orderDemo } from './demo-order.ts';
import { onWriterLines, outcomeOf } from './writer.ts';

const log = (line = '') => process.stdout.write(`${line}\n`);

function show(label: string, result: Result<unknown>): void {
  const detail = result.ok ? JSON.stringify(result.value) : `${result.error.code}: ${result.error.message}`;
  log(`  ${label.padEnd(34)} ${detail.length > 110 ? `${detail.slice(0, 107)}...` : detail}`);
}

async function scripted(dataDir: string): Promise<void> {
  log('1. A warehouse on the embedded engine');
  const w = DurableWarehouse.open({ dataDir, warehouseId: 'demo-1', checkpoint: 'inline' });
  const location = { zone: 'A', aisle: 1, bay: 3, level: 1 };
  const sku = (id: string, name: string, substitutes: string[] = []) =>
    w.submit({
      type: 'sku.upsert',
      key: `def-${id}`,
      sku: id,
      ownerId: 'dairy-co',
      name,
      priceCents: 199,
      location,
      safetyStock: 1,
      substitutes,
    });
  show('define milk (substitute: oat milk)', await sku('milk-1l', 'Milk 1 l', ['oat-1l']));
  show('define oat milk', await sku('oat-1l', 'Oat drink 1 l'));
  const receipt = {
    type: 'receipt',
    key: 'rcv-1',
    receiptId: 'PO-7781',
    lines: [
      { sku: 'milk-1l', quantity: 6 },
      { sku: 'oat-1l', quantity: 4 },
    ],
  };
  show('supplier receipt PO-7781', await w.submit(receipt));
  show('same receipt again (new key)', await w.submit({ ...receipt, key: 'rcv-1-again' }));
  const order = { type: 'reserve', key: 'ord-1', lines: [{ sku: 'milk-1l', quantity: 3 }], ttlMs: 600_000 };
  const reserved = await w.submit(order);
  show('reserve 3 milk for order 1', reserved);
  show('retry of the same reserve', await w.submit(order));
  show(
    'reserve 4 milk (only 2 left)',
    await w.submit({ type: 'reserve', key: 'ord-2', lines: [{ sku: 'milk-1l', quantity: 4 }], ttlMs: 600_000 }),
  );
  show(
    'same, substitutes allowed',
    await w.submit({
      type: 'reserve',
      key: 'ord-3',
      lines: [{ sku: 'milk-1l', quantity: 3, allowSubstitutes: true }],
      ttlMs: 600_000,
    }),
  );
  const reservationId = reserved.ok && reserved.value.kind === 'reserved' ? reserved.value.reservationId : '';
  show(
    'pick: commit 2 of 3, release rest',
    await w.submit({
      type: 'commit',
      key: 'pick-1',
      reservationId,
      lines: [{ sku: 'milk-1l', quantity: 2 }],
      releaseRest: true,
    }),
  );
  const sale = {
    type: 'pos.sale',
    key: 'pos-a',
    sourceId: 'till-1',
    sourceSeq: 1,
    lines: [{ sku: 'milk-1l', quantity: 1 }],
  };
  show('in-store sale till-1 #1', await w.submit(sale));
  show('feed repeats till-1 #1', await w.submit({ ...sale, key: 'pos-b' }));
  show(
    'cycle count: 2 milk on the shelf',
    await w.submit({ type: 'count', key: 'count-1', sku: 'milk-1l', counted: 2 }),
  );
  show(
    'bad input: quantity -5',
    await w.submit({ type: 'reserve', key: 'bad', lines: [{ sku: 'milk-1l', quantity: -5 }], ttlMs: 1000 }),
  );
  show('availability', w.query({ type: 'availability', skus: ['milk-1l', 'oat-1l'] }));
  await w.close();
}

async function crashAndRecover(dataDir: string): Promise<void> {
  log('\n3. A load writer process, killed with SIGKILL mid-load');
  const bin = fileURLToPath(new URL('../bin/darkstore.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [bin, 'writer', dataDir, '--warehouse', 'demo-2', '--seed', '7', '--run', 'demo'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const acked = new Map<string, string>();
  onWriterLines(child.stdout, (line) => {
    if (line.tag === 'ACK') acked.set(line.key, line.outcome);
    if (line.tag === 'READY') setTimeout(() => child.kill('SIGKILL'), 700);
  });
  await new Promise((resolve) => child.on('exit', resolve));
  log(`  writer killed after ${acked.size} acknowledged commands`);
  const w = DurableWarehouse.open({ dataDir, warehouseId: 'demo-2', checkpoint: 'inline' });
  const r = w.recovery;
  log(
    `  recovered in ${r.durationMs.toFixed(0)} ms: snapshot at seq ${r.snapshot?.walSeq ?? 0}, replayed ${r.wal.replayed} WAL records, cut ${r.wal.truncatedBytes} torn bytes`,
  );
  let lost = 0;
  for (const [key, outcome] of acked) {
    const stored = w.query({ type: 'command', key }) as Result<Result>;
    if (!stored.ok || outcomeOf(stored.value) !== outcome) lost++;
  }
  log(`  acknowledged commands present after recovery: ${acked.size - lost} of ${acked.size}`);
  await w.close();
  const verification = verifyWarehouse(dataDir, 'demo-2');
  log(
    `  verify: ${verification.skusChecked} SKUs against ${verification.ledgerRows} ledger rows, ${verification.mismatches.length} mismatches`,
  );
  if (lost > 0 || verification.mismatches.length > 0) throw new Error('the demo found lost or inconsistent data');
}

export async function runDemo(dataDirOption?: string): Promise<void> {
  const dataDir = dataDirOption ?? fs.mkdtempSync(path.join(os.tmpdir(), 'darkstore-demo-'));
  log(`darkstore demo: data in ${dataDir}\n`);
  await scripted(dataDir);
  await orderDemo(dataDir);
  await crashAndRecover(dataDir);
  log(`\nInspect it: ./bin/darkstore.js inspect ${dataDir}    Verify it: ./bin/darkstore.js verify ${dataDir}`);
}
