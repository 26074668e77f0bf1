/**
 * The benchmark runner behind `npm run bench`: parses the command line, runs the chosen suites in
 * one process, fills each row's ratio against its baseline from the same run, and reports a table
 * (or, with --json, one JSON object and nothing else on stdout). Always writes the JSON to
 * bench/results/latest.json. Missed targets are reported, not failed: the exit code is 0 unless a
 * suite crashed (1) or the command line was wrong (2). Owns the temp dirs and removes them.
 *
 *   npm run bench -- [--json] [--quick] [--suite NAME[,NAME]]... [--pg URL]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { engineSuite } from './engine.ts';
import { fmt } from './measure.ts';
import { natsSuite } from './nats.ts';
import { ordersSuite } from './orders.ts';
import { simSuite } from './sim.ts';
import { meets, type Row, type SuiteContext, SuiteRegistry, type Target } from './suite.ts';

const registry = new SuiteRegistry().add(engineSuite).add(ordersSuite).add(natsSuite).add(simSuite);

const RESULTS_PATH = join(dirname(fileURLToPath(import.meta.url)), 'results', 'latest.json');

interface Report {
  /** `loadAvg1m` is taken before the first suite: other busy processes make every number lower and noisier. */
  machine: { cpus: number; cpuModel: string; node: string; platform: string; loadAvg1m: number };
  rows: Row[];
}

function usage(): string {
  return `usage: npm run bench -- [--json] [--quick] [--suite NAME[,NAME]]... [--pg URL]  suites: ${registry.names().join(', ')}`;
}

type Options =
  | { kind: 'run'; json: boolean; quick: boolean; suites: string[]; pgUrl?: string }
  | { kind: 'help' | 'error'; text: string };

function parse(argv: string[]): Options {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean', default: false },
        quick: { type: 'boolean', default: false },
        suite: { type: 'string', multiple: true, default: [] },
        pg: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
    if (values.help) return { kind: 'help', text: usage() };
    const suites = values.suite
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const options: Options = { kind: 'run', json: values.json, quick: values.quick, suites };
    if (values.pg !== undefined) options.pgUrl = values.pg;
    return options;
  } catch (error) {
    return { kind: 'error', text: `${(error as Error).message}\n${usage()}` };
  }
}

/** Fills `ratio` of every row whose baseline was measured in this run. */
function fillRatios(rows: Row[]): void {
  const byId = new Map(rows.map((row) => [row.id, row]));
  for (const row of rows) {
    const base = row.baseline === undefined ? undefined : byId.get(row.baseline);
    if (base !== undefined && base.value !== 0) row.ratio = row.value / base.value;
  }
}

function targetText(target: Target | undefined, value: number | undefined, suffix: string): string {
  if (target === undefined) return '';
  const met = value !== undefined && meets(value, target);
  return `${target.op} ${fmt(target.value, 2)}${suffix} ${met ? 'yes' : 'NO'}`;
}

/** The human-readable table: one line per row, notes underneath. */
function table(report: Report): string {
  const header = ['id', 'value', 'unit', 'vs baseline', 'target met'];
  const lines = report.rows.map((row) => [
    row.id,
    fmt(row.value, row.value < 100 ? 2 : 0),
    row.unit,
    row.ratio === undefined ? '' : `${fmt(row.ratio, 2)}× ${row.baseline}`,
    [targetText(row.target, row.value, ''), targetText(row.ratioTarget, row.ratio, '×')].filter(Boolean).join('; '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const render = (cells: string[]) =>
    cells.map((c, i) => (i === 1 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ');
  const notes = report.rows.filter((row) => row.note !== undefined).map((row) => `  ${row.id}: ${row.note}`);
  const m = report.machine;
  return [
    `${m.cpus} × ${m.cpuModel}, node ${m.node}, ${m.platform}, load average ${fmt(m.loadAvg1m, 2)} at start`,
    render(header),
    ...lines.map(render),
    ...(notes.length > 0 ? ['', 'notes:', ...notes] : []),
  ].join('\n');
}

async function main(): Promise<number> {
  const options = parse(process.argv.slice(2));
  if (options.kind !== 'run') {
    process.stderr.write(`${options.text}\n`);
    return options.kind === 'help' ? 0 : 2;
  }
  const selected = registry.select(options.suites);
  if ('unknown' in selected) {
    process.stderr.write(`unknown suite ${selected.unknown.join(', ')}\n${usage()}\n`);
    return 2;
  }
  const tempDirs: string[] = [];
  const ctx: SuiteContext = {
    quick: options.quick,
    log: (message: string) => process.stderr.write(`${message}\n`),
    tempDir: (prefix: string) => {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      tempDirs.push(dir);
      return dir;
    },
  };
  if (options.pgUrl !== undefined) ctx.pgUrl = options.pgUrl;
  const loadAvg1m = loadavg()[0] ?? 0;
  if (loadAvg1m > availableParallelism() / 2) {
    ctx.log(`warning: load average ${fmt(loadAvg1m, 2)} before start: other processes compete for the CPU`);
  }
  const rows: Row[] = [];
  let crashed = false;
  const startedMs = performance.now();
  for (const suite of selected.suites) {
    try {
      rows.push(...(await suite.run(ctx)));
    } catch (error) {
      crashed = true;
      process.stderr.write(`suite ${suite.name} crashed: ${(error as Error).stack ?? String(error)}\n`);
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  fillRatios(rows);
  const cpuList = cpus();
  const report: Report = {
    machine: {
      cpus: availableParallelism(),
      cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      loadAvg1m,
    },
    rows,
  };
  const json = JSON.stringify(report, null, 2);
  mkdirSync(dirname(RESULTS_PATH), { recursive: true });
  writeFileSync(RESULTS_PATH, `${json}\n`);
  process.stdout.write(`${options.json ? json : table(report)}\n`);
  ctx.log(`bench: ${rows.length} rows in ${fmt((performance.now() - startedMs) / 1_000, 1)} s`);
  return crashed ? 1 : 0;
}

process.exitCode = await main();
