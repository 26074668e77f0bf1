/**
 * Worker-thread entry of `runEmbeddedInThread` (thread.ts): runs one simulation on the embedded
 * engine, posts `{ progress }` as simulated time passes and `{ report }` at the end, or `{ error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runEmbedded } from './run.ts';
import type { ScenarioChoice } from './scenario.ts';

const port = parentPort;
if (port === null) throw new Error('sim thread-worker must run in a worker thread');
const { choice, progress } = workerData as { choice: ScenarioChoice; progress: boolean };
try {
  const report = runEmbedded(choice, progress ? { onProgress: (share) => port.postMessage({ progress: share }) } : {});
  port.postMessage({ report });
} catch (error) {
  port.postMessage({ error: String((error as Error).stack ?? error) });
}
