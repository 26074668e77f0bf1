/**
 * Runs one simulation on the embedded engine: the scenario from the command line's choices, the
 * city, one agenda of simulated time and one `Warehouse` core per store in this process.
 */
import { Agenda } from './agenda.ts';
import { buildCity } from './city.ts';
import { EmbeddedEngine } from './embedded-engine.ts';
import type { SimReport } from './report-types.ts';
import { type ScenarioChoice, scenarioFor } from './scenario.ts';
import { SIM_START_MS, World, type WorldOptions } from './world.ts';

export function runEmbedded(choice: ScenarioChoice, options: WorldOptions = {}): SimReport {
  const scenario = scenarioFor(choice);
  const city = buildCity(scenario);
  const agenda = new Agenda(SIM_START_MS);
  const engine = new EmbeddedEngine(city, agenda);
  return new World(scenario, engine, city, agenda).run(options);
}
