/**
 * Public surface of the simulator: the seeded randomness shared with load writers and benchmarks,
 * the scenarios, the world and its embedded run, the report's shape and its HTML rendering.
 */
export { Agenda } from './agenda.ts';
export { buildCity, CITY_CENTER, type City, type SimWarehouse } from './city.ts';
export { EmbeddedEngine } from './embedded-engine.ts';
export type { CheckoutAnswer, SimEngine } from './engine-port.ts';
export { renderHtmlReport, writeHtmlReport } from './html-report.ts';
export { Random, Zipf } from './random.ts';
export type { SimReport } from './report-types.ts';
export { embeddedWorld, runEmbedded, runScenario } from './run.ts';
export { SCENARIO_NAMES, type Scenario, type ScenarioChoice, scenarioFor } from './scenario.ts';
export { SIM_START_MS, World, type WorldOptions } from './world.ts';
