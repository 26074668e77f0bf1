/**
 * Worker-thread entry of `runEmbeddedInThreads` (thread.ts): plays its part of the city on the
 * embedded engine (the whole city when the run has one thread), posts `{ progress }` as simulated
 * time passes and `{ part }`, what it measured, at the end, or `{ error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Agenda } from './agenda.ts';
import { buildCity } from './city.ts';
import { EmbeddedEngine } from './embedded-engine.ts';
import { partitionOf } from './partition.ts';
import { PartitionLink } from './partition-link.ts';
import { scenarioFor } from './scenario.ts';
import type { SimThreadData } from './thread.ts';
import { SIM_START_MS, World } from './world.ts';

const port = parentPort;
if (port === null) throw new Error('sim thread-worker must run in a worker thread');
const data = workerData as SimThreadData;
try {
  const scenario = scenarioFor(data.choice);
  const city = buildCity(scenario);
  const link =
    data.port === undefined || data.signals === undefined
      ? undefined
      : new PartitionLink(data.port, new Int32Array(data.signals), data.index === 0 ? 0 : 1);
  const partition = partitionOf(data.owners, city, data.index, link);
  const agenda = new Agenda(SIM_START_MS);
  const world = new World(scenario, new EmbeddedEngine(city, agenda, partition), city, agenda, partition);
  const part = world.runPart(data.progress ? { onProgress: (share) => port.postMessage({ progress: share }) } : {});
  port.postMessage({ part });
} catch (error) {
  port.postMessage({ error: String((error as Error).stack ?? error) });
}
