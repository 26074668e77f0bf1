/**
 * The benchmark runner still works: `npm run bench -- --quick --json --suite engine,orders` prints
 * one JSON object with the machine and the stable row ids of both suites, the `nats` suite runs
 * quick against a real nats-server and region process (about 15 s), and the `sim` suite runs quick
 * (4 simulated hours of the city, a few seconds). No number is judged here (numbers belong to the
 * benchmark itself), only the shape, and the simulated city's safety facts.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

it('prints one JSON object with the engine rows', () => {
  const stdout = execFileSync(
    process.execPath,
    ['--import', 'tsx', 'bench/run.ts', '--quick', '--json', '--suite', 'engine,orders'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 120_000,
    },
  );
  const report = JSON.parse(stdout) as {
    machine: { cpus: number; node: string };
    rows: { id: string; value: number; unit: string }[];
  };
  expect(report.machine.cpus).toBeGreaterThan(0);
  expect(report.machine.node).toMatch(/^v\d+/);
  const ids = report.rows.map((r) => r.id);
  for (const id of [
    'engine.reserve.inmemory',
    'engine.durable',
    'baseline.sqlite.reserve',
    'engine.replay',
    'engine.snapshot.stall',
  ]) {
    expect(ids).toContain(id);
  }
  for (const row of report.rows) {
    expect(Number.isFinite(row.value)).toBe(true);
    expect(row.unit.length).toBeGreaterThan(0);
  }
}, 180_000);

it('runs the nats suite quick: echo, reservations, batches and checkout over a real nats-server', () => {
  const stdout = execFileSync(
    process.execPath,
    ['--import', 'tsx', 'bench/run.ts', '--quick', '--json', '--suite', 'nats'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 120_000,
    },
  );
  const report = JSON.parse(stdout) as { rows: { id: string; value: number; unit: string }[] };
  const ids = report.rows.map((r) => r.id);
  for (const id of [
    'nats.echo',
    'nats.reserve.uniform',
    'nats.reserve.hot',
    'nats.reserve.batched',
    'nats.reserve.p99',
    'nats.checkout.p99',
  ]) {
    expect(ids).toContain(id);
  }
  // The PostgreSQL rows come in pairs, or not at all (no PostgreSQL on this machine: skipped, not failed).
  expect(ids.filter((id) => id.startsWith('baseline.postgres.')).length % 2).toBe(0);
  for (const row of report.rows) {
    expect(Number.isFinite(row.value)).toBe(true);
    expect(row.value).toBeGreaterThan(0);
  }
}, 180_000);

it('runs the sim suite quick: a short simulated day on the embedded engine', () => {
  const stdout = execFileSync(
    process.execPath,
    ['--import', 'tsx', 'bench/run.ts', '--quick', '--json', '--suite', 'sim'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 120_000,
    },
  );
  const report = JSON.parse(stdout) as { rows: { id: string; value: number; unit: string }[] };
  const byId = new Map(report.rows.map((row) => [row.id, row]));
  for (const id of ['sim.day', 'sim.day.commands', 'sim.day.sla', 'sim.day.violations']) {
    expect(byId.has(id), id).toBe(true);
  }
  expect(byId.get('sim.day')?.value).toBeGreaterThan(0);
  expect(byId.get('sim.day.commands')?.value).toBeGreaterThan(0);
  // Safety is not a number to judge but a fact: a simulated city never oversells nor loses an order.
  expect(byId.get('sim.day.violations')?.value).toBe(0);
}, 180_000);
