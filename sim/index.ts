/**
 * Public surface of the simulator: the seeded randomness shared with load writers and benchmarks,
 * the scenarios, the world and its runs (embedded, and over NATS against region processes it
 * starts with the region runner), the report's shape and its HTML rendering.
 */
export { Agenda } from './agenda.ts';
export { buildCity, CITY_CENTER, type City, type SimWarehouse } from './city.ts';
export { EmbeddedEngine } from './embedded-engine.ts';
export type { CheckoutAnswer, SimEngine } from './engine-port.ts';
export { renderHtmlReport, writeHtmlReport } from './html-report.ts';
export { NatsEngine } from './nats-engine.ts';
export { Random, Zipf } from './random.ts';
export { NATS_SPEED_DEFAULT, type NatsRunOptions, runOverNats, runScenarioOverNats } from './realtime.ts';
export {
  type RegionProcess,
  type RegionProcessConfig,
  type RegionProcessOptions,
  type RegionWarehouseConfig,
  startRegionProcess,
} from './region-runner.ts';
export type { NatsRunFacts, RegionKillRecord, SimReport } from './report-types.ts';
export { embeddedWorld, runEmbedded, runScenario } from './run.ts';
export { SCENARIO_NAMES, type Scenario, type ScenarioChoice, scenarioFor } from './scenario.ts';
export { formatSummary, ordersPerWallMinute, safetyHeld, safetyVerdict, unverifiedChecks } from './summary.ts';
export { runEmbeddedInThreads, SIM_YOUNG_GENERATION_MB, simThreads } from './thread.ts';
export { SIM_START_MS, World, type WorldOptions } from './world.ts';
