/**
 * The `sim` suite: a whole simulated day of the city (the default scenario, 10 warehouses, 24 h) on
 * the embedded engine (the city split over two threads when the machine has two cores), timed on
 * the wall clock. `sim.day` is orders placed per wall-clock minute, the number that says how much faster than real time the engine and the simulated city around it
 * run together; the other rows are the same run's engine commands per second, its SLA hit rate and
 * its safety violations (units oversold plus acknowledged orders lost, which must be 0). There is no
 * baseline: nothing else runs a city. Never touches the disk.
 */
import { runEmbeddedInThreads, type ScenarioChoice, SIM_YOUNG_GENERATION_MB, simThreads } from '../sim/index.ts';
import { fmt } from './measure.ts';
import type { Row, Suite, SuiteContext } from './suite.ts';

/** The bar: a day of the city at ≥ 100,000 orders per wall-clock minute. */
export const SIM_DAY_TARGET = 100_000;
const DAY: ScenarioChoice = { name: 'default', seed: 1, warehouses: 10, hours: 24 };
/** --quick: the same city for the first 4 simulated hours (the quiet night: few orders, mostly set-up). */
const QUICK: ScenarioChoice = { ...DAY, hours: 4 };
/** Progress lines on stderr at every quarter of simulated time. */
const PROGRESS_STEPS = 4;

async function run(ctx: SuiteContext): Promise<Row[]> {
  const choice = ctx.quick ? QUICK : DAY;
  const size = `${choice.warehouses} warehouses × ${choice.hours} h`;
  ctx.log(`sim: ${choice.name} scenario, ${size}, seed ${choice.seed}, embedded engine`);
  globalThis.gc?.();
  let logged = 0;
  const startedMs = performance.now();
  const threads = simThreads(choice);
  const report = await runEmbeddedInThreads(
    choice,
    {
      onProgress: (share) => {
        if (share * PROGRESS_STEPS >= logged + 1) {
          logged = Math.floor(share * PROGRESS_STEPS);
          ctx.log(`  ${Math.round(share * 100)}% simulated after ${fmt((performance.now() - startedMs) / 1_000, 1)} s`);
        }
      },
    },
    threads,
  );
  const wallSeconds = (performance.now() - startedMs) / 1_000;
  const threadsNote =
    threads === 2 ? 'the city split over 2 threads, same report as 1 thread' : 'in 1 thread (one core here)';
  const placed = report.orders.placed;
  const violations = report.oversoldUnits + report.acknowledgedLost;
  const quickNote = ctx.quick ? ' --quick: only the first 4 simulated hours (the quiet night), not a measurement.' : '';
  return [
    {
      id: 'sim.day',
      value: (placed * 60) / wallSeconds,
      unit: 'orders/min',
      target: { op: '>=', value: SIM_DAY_TARGET },
      note:
        `${choice.name} scenario, ${size}, seed ${choice.seed}, embedded engine (${threadsNote}, young generation ` +
        `${SIM_YOUNG_GENERATION_MB} MB each, as darkstore sim runs it): ${fmt(placed)} orders placed ` +
        `(${fmt(report.orders.delivered)} delivered) in ${fmt(wallSeconds, 1)} s of wall time, city set-up ` +
        `included; SLA hit rate ${fmt(report.slaHitRate * 100, 1)}%, oversold ${report.oversoldUnits} units, ` +
        `${report.acknowledgedLost} acknowledged lost.${quickNote}`,
    },
    {
      id: 'sim.day.commands',
      value: report.commands / wallSeconds,
      unit: 'commands/s',
      note: `${fmt(report.commands)} engine commands of the same run, over the same wall time (the simulated city's own work included).`,
    },
    { id: 'sim.day.sla', value: report.slaHitRate * 100, unit: '%', note: 'deliveries on time, same run.' },
    {
      id: 'sim.day.violations',
      value: violations,
      unit: 'count',
      target: { op: '<', value: 1 },
      note: `units oversold (${report.oversoldUnits}) plus acknowledged orders lost (${report.acknowledgedLost}), same run: must be 0.`,
    },
  ];
}

export const simSuite: Suite = { name: 'sim', run };
