/**
 * `darkstore sim` as a user runs it: the real CLI in its own process on a small city (2 warehouses,
 * 2 simulated hours, about a second). With --json stdout is exactly one JSON object, the report,
 * and nothing else; without it a one-screen summary; --report writes the HTML page; bad flags and
 * NATS-only flags without --nats exit 2; a short run over a real NATS starts region processes. The
 * flags' limits are checked in-process, and the summary's safety verdict on fixture reports.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../../cli/args.ts';
import { ProgressBar, SIM_FLAGS, SIM_SWITCHES, simRequestOf } from '../../cli/sim.ts';
import type { SimReport } from '../../sim/report-types.ts';
import { formatSummary, ordersPerWallMinute, safetyHeld, safetyVerdict } from '../../sim/summary.ts';
import { startNatsServer } from '../nats/nats-server.ts';
import { emptyReport, realisticReport } from './report-fixture.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'bin', 'darkstore.js');
const SMALL = ['--hours', '2', '--warehouses', '2'];
const RUN_TIMEOUT_MS = 60_000;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end; resolves with its exit code and output whatever the code. */
function darkstore(args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, encoding: 'utf8', timeout: RUN_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') reject(error);
        else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
  });
}

const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'darkstore-sim-cli-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function expectPercentiles(value: unknown, keys: readonly string[]): void {
  for (const key of keys) expect(typeof (value as Record<string, unknown>)[key], key).toBe('number');
}

describe('darkstore sim', () => {
  it('prints exactly one JSON object with --json, writes the page with --report, and exits 0', async () => {
    const dir = tempDir();
    const { code, stdout, stderr } = await darkstore(['sim', ...SMALL, '--json', '--report', dir]);
    expect(code, stderr).toBe(0);
    expect(stdout.endsWith('}\n')).toBe(true);
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    const report = JSON.parse(stdout) as SimReport;
    expect(report).toMatchObject({ scenario: 'default', seed: 1, mode: 'embedded', warehouses: 2, hours: 2 });
    for (const key of ['placed', 'accepted', 'delivered', 'partiallyFulfilled', 'cancelled', 'open'] as const) {
      expect(typeof report.orders[key], key).toBe('number');
    }
    expect(report.orders.placed).toBeGreaterThan(0);
    expect(typeof report.orders.rejected).toBe('object');
    expect(report.oversoldUnits).toBe(0);
    expect(report.acknowledgedLost).toBe(0);
    expect(report.slaHitRate).toBeGreaterThanOrEqual(0);
    expect(report.slaHitRate).toBeLessThanOrEqual(1);
    expectPercentiles(report.deliveryMinutes, ['p50', 'p95', 'p99']);
    expectPercentiles(report.pickPackMinutes, ['p50', 'p95']);
    expectPercentiles(report.courierAssignSeconds, ['p50', 'p99']);
    expectPercentiles(report.inventoryAccuracy, ['min', 'mean', 'final']);
    expect(typeof report.escalations.total).toBe('number');
    expect(report.commandsPerSecond).toBeGreaterThan(0);
    expect(report.wallSeconds).toBeGreaterThan(0);
    // The page's path goes to stderr, so stdout stays one JSON object.
    expect(existsSync(join(dir, 'index.html'))).toBe(true);
    expect(stderr).toContain(join(dir, 'index.html'));
  });

  it('prints the summary and where the report is without --json', async () => {
    const dir = tempDir();
    const { code, stdout, stderr } = await darkstore(['sim', ...SMALL, '--seed', '7', '--report', dir]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('darkstore sim: default');
    expect(stdout).toMatch(/seed 7, 2 warehouses × 2 h/);
    expect(stdout).toMatch(/^safety +OK: 0 units oversold, 0 acknowledged but lost/m);
    expect(stdout).toMatch(/orders per wall-clock minute/);
    expect(stdout).toContain(`report: ${join(dir, 'index.html')}`);
    expect(existsSync(join(dir, 'index.html'))).toBe(true);
    // stderr is not a terminal here: no progress bar, no control characters.
    expect(stderr).not.toContain('\r');
  });

  it('refuses bad flags with exit 2 and the usage text', async () => {
    const cases: [string[], RegExp][] = [
      [['--hours', '169'], /--hours must be an integer from 1 to 168/],
      [['--scenario', 'hurricane'], /unknown scenario hurricane \(known: default, /],
    ];
    const outcomes = await Promise.all(cases.map(([args]) => darkstore(['sim', ...args])));
    outcomes.forEach((outcome, i) => {
      const [args, message] = cases[i] as [string[], RegExp];
      expect(outcome.code, args.join(' ')).toBe(2);
      expect(outcome.stderr, args.join(' ')).toMatch(message);
      expect(outcome.stderr, args.join(' ')).toContain('Usage:');
      expect(outcome.stdout, args.join(' ')).toBe('');
    });
  });

  it('runs over NATS against region processes it starts, and reports the run', async () => {
    const server = await startNatsServer();
    try {
      const { code, stdout } = await darkstore([
        'sim',
        ...['--warehouses', '2', '--start-hour', '17', '--hours', '18', '--speed', '600', '--json'],
        ...['--nats', server.url],
      ]);
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as SimReport;
      expect(report.mode).toBe('nats');
      expect(report.nats?.processes).toBeGreaterThan(0);
      expect(report.orders.accepted).toBeGreaterThan(0);
      expect(report.oversoldUnits).toBe(0);
      expect(report.acknowledgedLost).toBe(0);
    } finally {
      await server.stop();
    }
  });
});

describe('the flags of darkstore sim', () => {
  const request = (argv: string[]) => simRequestOf(parseArgs(argv, SIM_FLAGS, SIM_SWITCHES));

  it('takes every flag within its limits', () => {
    expect(request([])).toEqual({ choice: {}, json: false });
    expect(
      request([
        '--seed=0',
        '--warehouses',
        '100',
        '--hours',
        '168',
        '--scenario',
        'storm',
        '--json',
        '--report',
        'out',
        '--nats',
        'nats://n:4222',
        ...['--speed', '120', '--start-hour', '17', '--processes', '3', '--data', 'dir'],
      ]),
    ).toEqual({
      choice: { seed: 0, warehouses: 100, hours: 168, name: 'storm' },
      json: true,
      reportDir: 'out',
      natsUrl: 'nats://n:4222',
      speed: 120,
      startHour: 17,
      processes: 3,
      dataDir: 'dir',
    });
  });

  it('refuses what is out of bounds, not an integer, unknown or misplaced', () => {
    const cases: [string[], RegExp][] = [
      [['--hours', '0'], /--hours must be an integer from 1 to 168/],
      [['--hours', '169'], /--hours must be an integer from 1 to 168/],
      [['--hours', '1.5'], /--hours must be an integer/],
      [['--hours', '1e2'], /--hours must be an integer/],
      [['--warehouses', '0'], /--warehouses must be an integer from 1 to 100/],
      [['--warehouses', '101'], /--warehouses must be an integer from 1 to 100/],
      [['--warehouses', 'ten'], /--warehouses must be an integer/],
      [['--seed', '-1'], /--seed must be an integer/],
      [['--seed', '4294967296'], /--seed must be an integer from 0 to 4294967295/],
      [['--scenario', 'hurricane'], /unknown scenario hurricane/],
      [['--report='], /--report needs a value/],
      [['--hours'], /--hours needs a value/],
      [['--speed', '2'], /need --nats/],
      [['--scenario', 'region-kill'], /needs --nats URL/],
      [['--nats', 'n', '--start-hour', '5', '--hours', '5'], /--start-hour must be before --hours/],
      [['--nats', 'n', '--speed', '0'], /--speed must be an integer from 1/],
      [['--bogus', '2'], /unknown option --bogus/],
      [['extra'], /no positional arguments/],
    ];
    for (const [argv, message] of cases) expect(() => request(argv), argv.join(' ')).toThrow(message);
    expect(() => request(['--hours', '0'])).toThrow(UsageError);
  });
});

describe('the progress bar', () => {
  const streamOf = (isTTY: boolean) => {
    const written: string[] = [];
    const stream = { isTTY, write: (text: string) => written.push(text) > 0 } as unknown as NodeJS.WriteStream;
    return { stream, written };
  };

  it('redraws in place on a terminal, once per percent, with the simulated clock', () => {
    const { stream, written } = streamOf(true);
    const bar = new ProgressBar(stream, 24);
    bar.update(0.479);
    bar.update(0.4791);
    bar.update(1);
    bar.clear();
    expect(written).toHaveLength(3);
    expect(written[0]).toMatch(/^\r\[#{14}-{16}\] {2}47% simulated 11:29, \d+ s/);
    expect(written[1]).toMatch(/^\r\[#{30}\] 100% simulated 24:00/);
    expect(written[2]).toBe('\r\x1b[K');
  });

  it('names the day in runs longer than one', () => {
    const { stream, written } = streamOf(true);
    const bar = new ProgressBar(stream, 48);
    bar.update(0.25);
    bar.update(0.75);
    bar.update(1);
    expect(written.map((w) => w.match(/simulated ([^,]+),/)?.[1])).toEqual([
      'day 1 12:00',
      'day 2 12:00',
      'day 2 24:00',
    ]);
  });

  it('draws nothing when stderr is not a terminal', () => {
    const { stream, written } = streamOf(false);
    const bar = new ProgressBar(stream, 24);
    bar.update(0.5);
    bar.clear();
    expect(written).toEqual([]);
  });
});

describe('formatSummary', () => {
  it('marks a run that kept its promises OK and one that broke them PROBLEM', () => {
    const good = { ...realisticReport(), oversoldUnits: 0, acknowledgedLost: 0 };
    expect(formatSummary(good)).toMatch(/^safety +OK: /m);
    const oversold = formatSummary({ ...good, oversoldUnits: 3 });
    expect(oversold).toMatch(/^safety +PROBLEM: 3 units oversold/m);
    expect(formatSummary({ ...good, acknowledgedLost: 1 })).toMatch(/PROBLEM: .*1 acknowledged but lost/);
  });

  it('adds what a run over NATS did', () => {
    const nats = {
      speed: 60,
      startHour: 17,
      region: 'city',
      processes: 2,
      kills: [
        {
          process: 0,
          warehouses: ['W1'],
          killedAtMinute: 18 * 60,
          readyAtMinute: 18 * 60 + 2,
          pidBefore: 1,
          pidAfter: 2,
          downSeconds: 2.5,
          acceptedAfter: 10,
          deliveredAfter: 8,
        },
      ],
      unanswered: { checkout: 2 },
      unavailable: {},
      acknowledgedChecked: 1_000,
      acknowledgedCommandsLost: 0,
      unverified: { oversellAudits: 0, acknowledged: 0 },
      events: 5_000,
      eventsRepeated: 3,
      stalledSeconds: 0,
      stepWallMsMax: 40,
      inFlightAtEnd: 0,
      paymentOutages: [],
    };
    const text = formatSummary({ ...realisticReport(), mode: 'nats', nats });
    expect(text).toContain('region processes over NATS');
    expect(text).toMatch(/^nats +2 region processes, 60× real time from 17:00, 1 kill \(down 2.5 s at 18:00\)/m);
    expect(text).toContain('unanswered 2, unavailable 0, 0 of 1,000 acknowledged commands lost');
    expect(text).toMatch(/^safety +OK: /m);
    // Checks with no answer (a region down at the end): nothing found, nothing proven either.
    const unanswered = { ...nats, unverified: { oversellAudits: 2, acknowledged: 1 } };
    const unverified = { ...realisticReport(), mode: 'nats' as const, nats: unanswered };
    expect(formatSummary(unverified)).toMatch(/^safety +UNVERIFIED: 0 units oversold, .*; 3 checks got no answer/m);
    expect(safetyVerdict(unverified)).toBe('UNVERIFIED');
    expect(safetyHeld(unverified)).toBe(false);
    expect(safetyVerdict({ ...unverified, oversoldUnits: 1 })).toBe('PROBLEM');
  });

  it('fits one screen and survives an empty run', () => {
    const text = formatSummary(realisticReport());
    expect(text.split('\n').length).toBeLessThanOrEqual(24);
    const empty = emptyReport();
    expect(formatSummary(empty)).toContain('0 placed');
    expect(Number.isFinite(ordersPerWallMinute({ ...empty, wallSeconds: 0 }))).toBe(true);
  });
});
