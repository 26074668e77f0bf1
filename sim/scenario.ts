/**
 * Scenarios of the simulated city: the knobs of demand, staff, tills, suppliers, losses and the
 * faults injected, by name. `scenarioFor` turns the command line's choices into one plain object
 * the world reads; every number the world uses about behaviour lives here, named.
 */

/** A window of simulated time, in hours since the start of the run (which starts at midnight). */
export interface HourWindow {
  fromHour: number;
  toHour: number;
}

export interface DemandSpike extends HourWindow {
  kind: 'promotion' | 'storm' | 'viral';
  /** Demand multiplier in the window. */
  factor: number;
}

export interface Scenario {
  name: string;
  description: string;
  seed: number;
  warehouses: number;
  hours: number;
  /** Orders per warehouse over a whole ordinary day (spread by `hourlyProfile`). */
  ordersPerWarehouseDay: number;
  /** Relative demand per hour of day (0..23); normalized by the world. */
  hourlyProfile: number[];
  /** Demand multiplier for the whole run (weekend ≈ 1.25). */
  dayFactor: number;
  spikes: DemandSpike[];
  /** The SKU that goes viral in a `viral` spike: most orders in the window carry it. */
  viralShare: number;
  skusPerWarehouse: { min: number; max: number };
  zipfS: number;
  basketLines: { min: number; max: number };
  allowSubstitutesShare: number;
  cancelShare: number;
  /** Share of customers outside every delivery radius (they are refused as out of range). */
  outOfRangeShare: number;
  payments: { declineRate: number; latencyMs: { min: number; max: number }; outage?: HourWindow };
  pickers: {
    /** Orders one picker handles per hour (sizes the shifts to the demand). */
    ordersPerHour: number;
    itemSeconds: { min: number; max: number };
    packSeconds: { min: number; max: number };
    misScanRate: number;
    duplicateScanRate: number;
    outOfOrderRate: number;
  };
  couriers: {
    /** Deliveries one courier completes per hour (sizes the shifts). */
    deliveriesPerHour: number;
    speedKmh: { min: number; max: number };
    pingSeconds: { min: number; max: number };
    /** The app uploads its recorded points this often (and at once on every status change). */
    uploadSeconds: number;
    /** A parked courier's app reports its place this often (it is still heard from). */
    idlePingSeconds: number;
    gpsNoiseM: number;
    /** Chance per trip of a coverage gap of 30–120 s with no points. */
    gapRate: number;
    declineRate: number;
    missedAckRate: number;
    ackSeconds: { min: number; max: number };
    /** Chance per trip the app goes silent (the engine marks the courier offline). */
    silentRate: number;
    breakdownRate: number;
    notHomeRate: number;
    /** Of the customers not at home: share left at the door (the rest are brought back). */
    safeDropShare: number;
    /** Every courier on shift goes silent for the window (mass offline). */
    massOffline?: HourWindow;
  };
  tills: {
    /** Walk-in sales per till per open hour. */
    salesPerHour: number;
    openHours: HourWindow;
    feedDelaySeconds: { min: number; max: number };
    duplicateRate: number;
    lateRate: number;
    /** The feed stops for the window; the backlog arrives when it ends. */
    outage?: HourWindow;
  };
  suppliers: {
    /** Hours of the day deliveries arrive. */
    hours: number[];
    /** Days of expected demand a restock fills a SKU up to. */
    coverDays: number;
    resendRate: number;
  };
  losses: {
    /** Units lost per warehouse per day without the engine being told (theft, misplacement). */
    shrinkagePerDay: number;
    /** Units broken per warehouse per day; `reportedShare` of them are reported as damage. */
    breakagePerDay: number;
    reportedShare: number;
  };
  cycleCounts: { everyHours: { min: number; max: number }; share: number };
  /** NATS mode: the region process is killed (SIGKILL) and restarted in this window. */
  regionKill?: HourWindow;
}

/** Orders per hour of day in an ordinary day: a lunch bump and the evening peak. */
const HOURLY_PROFILE = [
  0.15, 0.08, 0.05, 0.04, 0.04, 0.08, 0.25, 0.45, 0.6, 0.65, 0.7, 0.85, 1.1, 1.05, 0.85, 0.8, 0.9, 1.15, 1.5, 1.7, 1.55,
  1.1, 0.7, 0.35,
];

export interface ScenarioChoice {
  name?: string;
  seed?: number;
  warehouses?: number;
  hours?: number;
}

function base(choice: ScenarioChoice): Scenario {
  return {
    name: 'default',
    description: 'an ordinary weekday in a city of dark stores',
    seed: choice.seed ?? 1,
    warehouses: choice.warehouses ?? 10,
    hours: choice.hours ?? 24,
    ordersPerWarehouseDay: 1_200,
    hourlyProfile: HOURLY_PROFILE,
    dayFactor: 1,
    spikes: [],
    viralShare: 0.6,
    skusPerWarehouse: { min: 3_000, max: 5_000 },
    zipfS: 1.05,
    basketLines: { min: 5, max: 15 },
    allowSubstitutesShare: 0.6,
    cancelShare: 0.02,
    outOfRangeShare: 0.03,
    payments: { declineRate: 0.02, latencyMs: { min: 300, max: 2_500 } },
    pickers: {
      ordersPerHour: 9,
      itemSeconds: { min: 8, max: 25 },
      packSeconds: { min: 40, max: 100 },
      misScanRate: 0.02,
      duplicateScanRate: 0.01,
      outOfOrderRate: 0.05,
    },
    couriers: {
      deliveriesPerHour: 3.2,
      speedKmh: { min: 14, max: 24 },
      pingSeconds: { min: 5, max: 10 },
      uploadSeconds: 30,
      idlePingSeconds: 240,
      gpsNoiseM: 12,
      gapRate: 0.1,
      declineRate: 0.02,
      missedAckRate: 0.02,
      ackSeconds: { min: 3, max: 25 },
      silentRate: 0.004,
      breakdownRate: 0.002,
      notHomeRate: 0.04,
      safeDropShare: 0.7,
    },
    tills: {
      salesPerHour: 12,
      openHours: { fromHour: 7, toHour: 23 },
      feedDelaySeconds: { min: 2, max: 30 },
      duplicateRate: 0.02,
      lateRate: 0.03,
    },
    suppliers: { hours: [5, 14], coverDays: 1.5, resendRate: 0.1 },
    losses: { shrinkagePerDay: 40, breakagePerDay: 12, reportedShare: 0.5 },
    cycleCounts: { everyHours: { min: 4, max: 8 }, share: 0.25 },
  };
}

type Variant = (s: Scenario) => void;

const VARIANTS: Record<string, { description: string; apply: Variant }> = {
  default: { description: 'an ordinary weekday in a city of dark stores', apply: () => {} },
  weekend: {
    description: 'a weekend day: a quarter more orders',
    apply: (s) => {
      s.dayFactor = 1.25;
    },
  },
  promotion: {
    description: 'a promotion doubles demand from 17:00 to 20:00',
    apply: (s) => {
      s.spikes.push({ kind: 'promotion', fromHour: 17, toHour: 20, factor: 2 });
    },
  },
  storm: {
    description: 'a storm from 18:00 to 21:00: demand ×2.5, couriers slower',
    apply: (s) => {
      s.spikes.push({ kind: 'storm', fromHour: 18, toHour: 21, factor: 2.5 });
      s.couriers.speedKmh = { min: 10, max: 16 };
    },
  },
  viral: {
    description: 'a SKU goes viral from 16:00 to 19:00: most baskets carry it, demand ×1.5',
    apply: (s) => {
      s.spikes.push({ kind: 'viral', fromHour: 16, toHour: 19, factor: 1.5 });
    },
  },
  'payment-outage': {
    description: 'the payment provider is down from 18:00 to 19:00',
    apply: (s) => {
      s.payments.outage = { fromHour: 18, toHour: 19 };
    },
  },
  'courier-offline': {
    description: 'every courier on shift goes silent from 19:00 to 19:20 (an app outage)',
    apply: (s) => {
      s.couriers.massOffline = { fromHour: 19, toHour: 19 + 1 / 3 };
    },
  },
  'pos-outage': {
    description: 'the tills’ feed is down from 11:00 to 12:00, then its backlog arrives',
    apply: (s) => {
      s.tills.outage = { fromHour: 11, toHour: 12 };
    },
  },
  'region-kill': {
    description: 'NATS mode: the region process is killed (SIGKILL) at 18:00 and restarted',
    apply: (s) => {
      s.regionKill = { fromHour: 18, toHour: 18.02 };
    },
  },
};

export const SCENARIO_NAMES: readonly string[] = Object.keys(VARIANTS);

/** The scenario named (default: `default`) with the run's seed, size and length. */
export function scenarioFor(choice: ScenarioChoice = {}): Scenario {
  const name = choice.name ?? 'default';
  const variant = VARIANTS[name];
  if (variant === undefined) throw new Error(`unknown scenario ${name} (known: ${SCENARIO_NAMES.join(', ')})`);
  const scenario = base(choice);
  scenario.name = name;
  scenario.description = variant.description;
  variant.apply(scenario);
  return scenario;
}
