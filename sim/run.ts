/**
 * Runs one simulation on the embedded engine: the scenario (from the command line's choices, or
 * built and adjusted by the caller), the city, one agenda of simulated time and one `Warehouse`
 * core per store in this process.
 */
import { Agenda } from './agenda.ts';
import { buildCity } from './city.ts';
import { EmbeddedEngine } from './embedded-engine.ts';
import type { SimReport } from './report-types.ts';
import { type Scenario, type ScenarioChoice, scenarioFor } from './scenario.ts';
import { SIM_START_MS, World, type WorldOptions } from './world.ts';

/** A world on the embedded engine, not yet run (tests look into its engine afterwards). */
export function embeddedWorld(scenario: Scenario): { world: World; engine: EmbeddedEngine } {
  const city = buildCity(scenario);
  const agenda = new Agenda(SIM_START_MS);
  const engine = new EmbeddedEngine(city, agenda);
  return { world: new World(scenario, engine, city, agenda), engine };
}

export function runScenario(scenario: Scenario, options: WorldOptions = {}): SimReport {
  return embeddedWorld(scenario).world.run(options);
}

export function runEmbedded(choice: ScenarioChoice, options: WorldOptions = {}): SimReport {
  return runScenario(scenarioFor(choice), options);
}
