/**
 * Runs one simulation over NATS against `darkstore serve` processes, in real or accelerated time:
 * the city's warehouses in region processes this run starts (and stops), the world on one agenda
 * whose simulated clock follows the wall clock × `speed`, and the scenario's faults at their
 * simulated times — the region kill as a real SIGKILL of a region process and its restart on the
 * same data, the payment outage as wall-clock windows of the region's simulated provider; the
 * others (couriers offline, the tills' feed, demand spikes) happen in the world as in an embedded run.
 *
 * At the end it waits (bounded) for what is still in flight, checks a sample of the acknowledged
 * commands by key (besides the world's check of every accepted order), and reports.
 *
 * Owns the run's processes, its NATS connection and the pacing of simulated time; never changes
 * what the world does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../protocol/index.ts';
import type { PaymentOutageWindow } from '../service/config.ts';
import { Agenda } from './agenda.ts';
import { buildCity } from './city.ts';
import { NatsEngine } from './nats-engine.ts';
import { RegionFleet } from './region-fleet.ts';
import type { SimReport } from './report-types.ts';
import { type HourWindow, type Scenario, type ScenarioChoice, scenarioFor } from './scenario.ts';
import { SIM_START_MS, World } from './world.ts';

const HOUR_MS = 3_600_000;
/** The default acceleration of `darkstore sim --nats`: a simulated hour per wall minute. */
export const NATS_SPEED_DEFAULT = 60;
/** Wall time between two steps of simulated time (answers and events arrive in between). */
const STEP_WALL_MS = 10;
/** Requests in flight beyond which simulated time is held until the engine catches up. */
export const NATS_IN_FLIGHT_MAX = 4_096;
/** How long the end of a run waits for requests in flight and for the event stream to go quiet. */
const SETTLE_WALL_MS_MAX = 30_000;
const EVENTS_QUIET_WALL_MS = 300;
/**
 * With a payment outage the clock's start is planned before the processes start (their config
 * names the outage in wall-clock time): this long after the configs are written, plus a share per
 * warehouse (a process seeds each of its warehouses' catalogs at its first start).
 */
const PAYMENT_PLAN_LEAD_MS = 3_000;
const PAYMENT_PLAN_LEAD_MS_PER_WAREHOUSE = 500;
/** Simulated time between progress reports. */
const PROGRESS_STEP_MS = 15 * 60_000;

export interface NatsRunOptions {
  /** NATS server URL(s), comma separated; the server must have JetStream. */
  natsUrl: string;
  /** Simulated seconds per wall second (1 = real time). */
  speed: number;
  /** Keep the region processes' data under this directory (`<dir>/<region>/p<n>`); temporary otherwise. */
  dataDir?: string;
  /** Called as simulated time passes (share done, 0..1). */
  onProgress?: (share: number) => void;
  /** The simulated hour of day the run starts at (default 0); it ends at the scenario's `hours`. */
  startHour?: number;
  /** Region processes to split the city over (default 2, at most one per warehouse); the kill hits the first. */
  processes?: number;
  /** Log level of the region processes (default `warn`). */
  logLevel?: string;
  /** Called with the world once the report is made, before the processes stop (tests look closer). */
  onFinished?: (world: World) => void;
}

/** Maps simulated time onto the wall clock and back; `hold` stops simulated time for a while. */
class Pacing {
  constructor(
    private t0WallMs: number,
    readonly simStartMs: number,
    readonly speed: number,
  ) {}

  simNow(): number {
    return this.simStartMs + (Date.now() - this.t0WallMs) * this.speed;
  }

  wallOf(simMs: number): number {
    return this.t0WallMs + (simMs - this.simStartMs) / this.speed;
  }

  hold(wallMs: number): void {
    this.t0WallMs += wallMs;
  }
}

function simMsOf(hour: number): number {
  return SIM_START_MS + hour * HOUR_MS;
}

/** A window of the run in wall-clock epoch ms, or none when it is outside the run. */
function wallWindow(window: HourWindow | undefined, pacing: Pacing, endHour: number): PaymentOutageWindow[] {
  if (window === undefined || simMsOf(window.toHour) <= pacing.simStartMs || window.fromHour >= endHour) return [];
  return [
    {
      fromMs: Math.round(pacing.wallOf(simMsOf(window.fromHour))),
      toMs: Math.round(pacing.wallOf(simMsOf(window.toHour))),
    },
  ];
}

function checkOptions(scenario: Scenario, options: NatsRunOptions, startHour: number): void {
  if (!(options.speed > 0) || !Number.isFinite(options.speed)) throw new RangeError('speed must be a positive number');
  if (!(startHour >= 0 && startHour < scenario.hours)) {
    throw new RangeError(`startHour must be at least 0 and below the scenario's ${scenario.hours} hours`);
  }
}

/** Waits until nothing is in flight and no event came for a while, at most SETTLE_WALL_MS_MAX. */
async function settle(engine: NatsEngine): Promise<void> {
  const deadline = performance.now() + SETTLE_WALL_MS_MAX;
  while (performance.now() < deadline) {
    if (engine.inFlight === 0 && performance.now() - engine.lastEventAt >= EVENTS_QUIET_WALL_MS) return;
    await sleep(STEP_WALL_MS);
  }
}

/**
 * Plays the scenario over NATS: builds the city, starts its region processes, connects, runs the
 * world on the wall clock × `speed` from `startHour` to the scenario's `hours`, injects the region
 * kill, and returns the report (mode `nats`, with `nats` facts). Stops everything it started.
 */
export function runOverNats(choice: ScenarioChoice, options: NatsRunOptions): Promise<SimReport> {
  return runScenarioOverNats(scenarioFor(choice), options);
}

/** `runOverNats` for a scenario built (and adjusted) by the caller. */
export async function runScenarioOverNats(scenario: Scenario, options: NatsRunOptions): Promise<SimReport> {
  const startHour = options.startHour ?? 0;
  checkOptions(scenario, options, startHour);
  const city = buildCity(scenario);
  const region = `sim-${process.pid}-${Date.now().toString(36)}`;
  const simStartMs = simMsOf(startHour);
  // The payment outage is given to the region as wall-clock windows, so the clock's start is planned
  // before the processes start; without one the clock starts once everything is ready.
  const outage = scenario.payments.outage;
  const leadMs = PAYMENT_PLAN_LEAD_MS + PAYMENT_PLAN_LEAD_MS_PER_WAREHOUSE * scenario.warehouses;
  const planned = new Pacing(Date.now() + leadMs, simStartMs, options.speed);
  const paymentOutages = wallWindow(outage, planned, scenario.hours);
  const dataDir = options.dataDir === undefined ? undefined : path.join(options.dataDir, region);
  if (dataDir !== undefined) fs.mkdirSync(dataDir, { recursive: true });
  const fleet = await RegionFleet.start({
    natsUrl: options.natsUrl,
    region,
    city,
    scenario,
    processes: options.processes ?? 2,
    speed: options.speed,
    paymentOutages,
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
  });
  let nc: NatsConnection | undefined;
  let engine: NatsEngine | undefined;
  try {
    nc = await connectNats({ servers: options.natsUrl.split(','), name: 'darkstore-sim' });
    let pacing = planned;
    // A promise the engine makes (wall clock) is told to the world on its simulated clock.
    const simTimeOf = (wallMs: number) => pacing.simNow() + (wallMs - Date.now()) * pacing.speed;
    engine = await NatsEngine.start({ nc, region, city, simTimeOf, speed: options.speed });
    // Ready after the planned start, the first step catches up at once (reported as startLateSeconds).
    const lateMs = paymentOutages.length > 0 ? Date.now() - planned.wallOf(simStartMs) : 0;
    if (paymentOutages.length > 0) await sleep(Math.max(0, -lateMs));
    else pacing = new Pacing(Date.now(), simStartMs, options.speed);
    const facts = { startHour, region, paymentOutages, startLateSeconds: Math.max(0, Math.round(lateMs / 10) / 100) };
    return await play(new World(scenario, engine, city, new Agenda(simStartMs)), engine, fleet, pacing, options, facts);
  } finally {
    await engine?.stop();
    await nc?.drain().catch(() => undefined);
    await fleet.stop();
  }
}

function minuteOf(simMs: number): number {
  return Math.round((simMs - SIM_START_MS) / 600) / 100;
}

/**
 * Schedules the region kill on the agenda: SIGKILL of the first process at the window's start, its
 * restart at the window's end (or once it has exited, if that is later). Returns what the end of
 * the run awaits: the restart done (started now if the run ended inside the window).
 */
function scheduleKill(
  world: World,
  engine: NatsEngine,
  fleet: RegionFleet,
  pacing: Pacing,
  startHour: number,
): () => Promise<void> {
  const window = world.scenario.regionKill;
  const agenda = world.ctx.agenda;
  if (window === undefined || window.fromHour < startHour || window.fromHour >= world.scenario.hours) {
    return async () => {};
  }
  let killing: Promise<{ atMinute: number; wallMs: number }> | undefined;
  let restarting: Promise<unknown> | undefined;
  let failure: unknown;
  const restart = () => {
    if (killing === undefined || restarting !== undefined) return;
    restarting = killing
      .then((killed) => fleet.restart(0, killed, () => minuteOf(pacing.simNow())))
      .catch((error: unknown) => {
        failure = error;
      });
  };
  agenda.at(simMsOf(window.fromHour), () => {
    const killed = { atMinute: minuteOf(agenda.nowMs), wallMs: Date.now() };
    // What a crash could lose clusters in the last acknowledgements before it: check them all.
    engine.pinRecentAcknowledged();
    killing = fleet.kill(0).then(() => killed);
    // Handled now, not only when the restart chains on it an hour of simulated time later.
    killing.catch((error: unknown) => {
      failure = error;
    });
  });
  agenda.at(simMsOf(window.toHour), restart);
  return async () => {
    restart();
    await restarting;
    if (failure !== undefined) throw failure;
  };
}

/** Advances simulated time with the wall clock until the end, holding it while too much is in flight. */
async function advance(
  world: World,
  engine: NatsEngine,
  pacing: Pacing,
  options: NatsRunOptions,
): Promise<{ stalledMs: number; stepWallMsMax: number }> {
  const agenda = world.ctx.agenda;
  const endMs = world.endMs;
  let nextProgressMs = pacing.simStartMs + PROGRESS_STEP_MS;
  const pace = { stalledMs: 0, stepWallMsMax: 0 };
  while (agenda.nowMs < endMs) {
    if (engine.inFlight > NATS_IN_FLIGHT_MAX) {
      const from = performance.now();
      await sleep(STEP_WALL_MS);
      const held = performance.now() - from;
      pacing.hold(held);
      pace.stalledMs += held;
      continue;
    }
    const from = performance.now();
    agenda.runUntil(Math.min(endMs, pacing.simNow()));
    if (agenda.nowMs >= nextProgressMs || agenda.nowMs >= endMs) {
      options.onProgress?.(Math.min(1, (agenda.nowMs - pacing.simStartMs) / (endMs - pacing.simStartMs)));
      nextProgressMs += PROGRESS_STEP_MS;
    }
    await sleep(STEP_WALL_MS);
    // A long step (answers and events queued meanwhile) is how late simulated actions may run.
    pace.stepWallMsMax = Math.max(pace.stepWallMsMax, performance.now() - from);
  }
  return pace;
}

/** For each kill: the orders of the killed process's stores placed after its restart, accepted and delivered. */
function countAfterRestarts(world: World, fleet: RegionFleet): void {
  for (const kill of fleet.kills) {
    const readyAtMs = SIM_START_MS + kill.readyAtMinute * 60_000;
    for (const order of world.ctx.orders.values()) {
      if (!kill.warehouses.includes(order.warehouseId) || order.placedAtMs < readyAtMs || !order.confirmed) continue;
      kill.acceptedAfter++;
      if (order.state === 'delivered' || order.state === 'partially_fulfilled') kill.deliveredAfter++;
    }
  }
}

async function play(
  world: World,
  engine: NatsEngine,
  fleet: RegionFleet,
  pacing: Pacing,
  options: NatsRunOptions,
  facts: { startHour: number; region: string; paymentOutages: PaymentOutageWindow[]; startLateSeconds: number },
): Promise<SimReport> {
  const started = performance.now();
  world.begin();
  const killDone = scheduleKill(world, engine, fleet, pacing, facts.startHour);
  const pace = await advance(world, engine, pacing, options);
  await killDone();
  await settle(engine);
  const inFlightAtEnd = engine.inFlight;
  const acks = await engine.verifyAcknowledged();
  const wallSeconds = (performance.now() - started) / 1000;
  const report = await new Promise<SimReport>((resolve) =>
    world.finish((part) => resolve(world.report(wallSeconds, part))),
  );
  report.acknowledgedLost += acks.lost;
  countAfterRestarts(world, fleet);
  options.onFinished?.(world);
  report.nats = {
    speed: pacing.speed,
    startHour: facts.startHour,
    region: facts.region,
    processes: fleet.size,
    kills: fleet.kills,
    unanswered: engine.facts.unanswered,
    unavailable: engine.facts.unavailable,
    acknowledgedChecked: acks.checked,
    acknowledgedCommandsLost: acks.lost,
    unverified: { oversellAudits: engine.facts.unanswered.audit ?? 0, acknowledged: acks.unanswered },
    events: engine.facts.events,
    eventsRepeated: engine.facts.eventsRepeated,
    stalledSeconds: Math.round(pace.stalledMs / 10) / 100,
    stepWallMsMax: Math.round(pace.stepWallMsMax),
    inFlightAtEnd,
    paymentOutages: facts.paymentOutages,
    ...(facts.startLateSeconds > 0 ? { startLateSeconds: facts.startLateSeconds } : {}),
  };
  return report;
}
