/**
 * `darkstore sim`: runs a simulated city of dark stores (shoppers, pickers, couriers, tills,
 * suppliers, losses and the scenario's faults) against the engine and reports what happened. It
 * owns the command's flags and their limits, the progress bar and where the output goes: the
 * one-screen summary (or, with --json, exactly one JSON object and nothing else) on stdout, progress
 * and notes on stderr, the HTML report under --report DIR. Exit 0 when nothing was oversold and
 * nothing acknowledged was lost, 1 otherwise, 2 on a usage error. It never judges any other number.
 */
import { resolve } from 'node:path';
import {
  formatSummary,
  NATS_SPEED_DEFAULT,
  type NatsRunOptions,
  runEmbeddedInThreads,
  runOverNats,
  SCENARIO_NAMES,
  type ScenarioChoice,
  type SimReport,
  safetyHeld,
  scenarioFor,
  type WorldOptions,
  writeHtmlReport,
} from '../sim/index.ts';
import { integerFlag, type ParsedArgs, UsageError } from './args.ts';

/** Flags of `darkstore sim` that take a value. */
export const SIM_FLAGS = [
  'seed',
  'warehouses',
  'hours',
  'scenario',
  'nats',
  'report',
  'speed',
  'start-hour',
  'data',
  'processes',
];
/** Fastest NATS run: simulated seconds per wall second. */
export const SIM_SPEED_MAX = 3_600;
/** Flags of `darkstore sim` that take none. */
export const SIM_SWITCHES = ['json'];
/** A week of simulated time: longer runs belong to a soak test, not to this command. */
export const SIM_HOURS_MAX = 168;
/** A region's worth of warehouses; the embedded run keeps them all in this one process. */
export const SIM_WAREHOUSES_MAX = 100;
/** Seeds are taken as unsigned 32-bit integers by the simulator's PRNG. */
const SEED_MAX = 0xffff_ffff;
const BAR_WIDTH = 30;

const EXIT_SAFETY_BROKEN = 1;

/** What the command line asked for, validated. */
export interface SimRequest {
  choice: ScenarioChoice;
  json: boolean;
  reportDir?: string;
  /** NATS mode: run the engine as region processes behind this server instead of embedded. */
  natsUrl?: string;
  /** NATS mode: simulated seconds per wall second, the hour of day to start at, where the data goes. */
  speed?: number;
  startHour?: number;
  dataDir?: string;
  processes?: number;
}

function textFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags.get(name);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} needs a value`);
  return value;
}

/** Validates the parsed arguments; throws a UsageError naming the first bad one. */
export function simRequestOf(args: ParsedArgs): SimRequest {
  if (args.positionals.length > 0) throw new UsageError(`sim takes no positional arguments: ${args.positionals[0]}`);
  const choice: ScenarioChoice = {};
  const scenario = textFlag(args, 'scenario');
  if (scenario !== undefined) {
    if (!SCENARIO_NAMES.includes(scenario)) {
      throw new UsageError(`unknown scenario ${scenario} (known: ${SCENARIO_NAMES.join(', ')})`);
    }
    choice.name = scenario;
  }
  const seed = integerFlag(args, 'seed', 0, SEED_MAX);
  if (seed !== undefined) choice.seed = seed;
  const warehouses = integerFlag(args, 'warehouses', 1, SIM_WAREHOUSES_MAX);
  if (warehouses !== undefined) choice.warehouses = warehouses;
  const hours = integerFlag(args, 'hours', 1, SIM_HOURS_MAX);
  if (hours !== undefined) choice.hours = hours;
  const request: SimRequest = { choice, json: args.flags.get('json') === true };
  const reportDir = textFlag(args, 'report');
  if (reportDir !== undefined) request.reportDir = reportDir;
  const natsUrl = textFlag(args, 'nats');
  if (natsUrl !== undefined) request.natsUrl = natsUrl;
  if (choice.name === 'region-kill' && natsUrl === undefined) {
    throw new UsageError('scenario region-kill kills a region process: it needs --nats URL');
  }
  const speed = integerFlag(args, 'speed', 1, SIM_SPEED_MAX);
  const startHour = integerFlag(args, 'start-hour', 0, 23);
  const dataDir = textFlag(args, 'data');
  const processes = integerFlag(args, 'processes', 1, SIM_WAREHOUSES_MAX);
  const natsOnly = [speed, startHour, dataDir, processes].some((v) => v !== undefined);
  if (natsOnly && natsUrl === undefined)
    throw new UsageError('--speed, --start-hour, --data and --processes need --nats');
  if (startHour !== undefined && startHour >= (choice.hours ?? 24)) {
    throw new UsageError('--start-hour must be before --hours (the hour the run ends, counted from midnight)');
  }
  if (speed !== undefined) request.speed = speed;
  if (startHour !== undefined) request.startHour = startHour;
  if (dataDir !== undefined) request.dataDir = dataDir;
  if (processes !== undefined) request.processes = processes;
  return request;
}

/**
 * Simulated minutes since midnight of the first day as `hh:mm`, with `day N` in front for runs
 * longer than a day. A day ends at 24:00 rather than at the next day's 00:00.
 */
function simulatedClock(minutes: number, hours: number): string {
  const total = Math.max(0, Math.floor(minutes));
  const day = Math.floor(Math.max(0, total - 1) / 1_440);
  const inDay = total - day * 1_440;
  const clock = `${String(Math.floor(inDay / 60)).padStart(2, '0')}:${String(inDay % 60).padStart(2, '0')}`;
  return hours > 24 ? `day ${day + 1} ${clock}` : clock;
}

/**
 * A progress bar redrawn in place with `\r` on stderr, e.g. `[#####-----] 48% simulated 11:30`;
 * it draws only when stderr is a terminal (a log file gets no control characters) and only when
 * the percentage changes.
 */
export class ProgressBar {
  private shown = -1;
  private readonly startedMs = performance.now();

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly hours: number,
    /** Where simulated time starts (NATS runs may start later in the day). */
    private readonly startHour = 0,
  ) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  update(share: number): void {
    const percent = Math.floor(Math.min(1, Math.max(0, share)) * 100);
    if (!this.enabled || percent === this.shown) return;
    this.shown = percent;
    const filled = Math.round((percent / 100) * BAR_WIDTH);
    const wallSeconds = Math.round((performance.now() - this.startedMs) / 1_000);
    this.stream.write(
      `\r[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(percent).padStart(3)}% ` +
        `simulated ${simulatedClock((this.startHour + share * (this.hours - this.startHour)) * 60, this.hours)}, ` +
        `${wallSeconds} s\x1b[K`,
    );
  }

  /** Erases the bar so what follows starts on a clean line. */
  clear(): void {
    if (this.enabled && this.shown >= 0) this.stream.write('\r\x1b[K');
  }
}

/** The run itself. NATS mode connects here: `request.natsUrl` names the server the region processes use. */
async function simulate(request: SimRequest, options: WorldOptions): Promise<SimReport> {
  if (request.natsUrl === undefined) return runEmbeddedInThreads(request.choice, options);
  const nats: NatsRunOptions = { natsUrl: request.natsUrl, speed: request.speed ?? NATS_SPEED_DEFAULT };
  if (request.startHour !== undefined) nats.startHour = request.startHour;
  if (request.dataDir !== undefined) nats.dataDir = request.dataDir;
  if (request.processes !== undefined) nats.processes = request.processes;
  if (options.onProgress !== undefined) nats.onProgress = options.onProgress;
  return runOverNats(request.choice, nats);
}

/** `darkstore sim`: validates the flags, runs the simulation, prints and writes what it found. */
export async function runSim(args: ParsedArgs): Promise<number> {
  const request = simRequestOf(args);
  const bar = new ProgressBar(process.stderr, scenarioFor(request.choice).hours, request.startHour ?? 0);
  let report: SimReport;
  try {
    report = await simulate(request, { onProgress: (share) => bar.update(share) });
  } finally {
    bar.clear();
  }
  const out = request.json ? process.stderr : process.stdout;
  if (request.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(`${formatSummary(report)}\n`);
  if (request.reportDir !== undefined) {
    const page = resolve(writeHtmlReport(request.reportDir, report));
    out.write(`${request.json ? '' : '\n'}report: ${page}\n`);
  }
  return safetyHeld(report) ? 0 : EXIT_SAFETY_BROKEN;
}
