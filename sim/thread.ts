/**
 * Runs a simulation on the embedded engine in worker threads: how `darkstore sim` and the `sim`
 * bench run one. On a machine with two cores or more the city is split in two (`splitCity`), each
 * thread plays its half's stores, their staff and customers, and the threads meet only when a
 * customer's candidate stores lie in both halves: that checkout runs over the partition link while
 * the other thread waits at the same simulated instant. So the run is the same simulation as in one
 * thread (the same seed gives the same report, and the tests hold it to `runEmbedded`'s) on both cores.
 *
 * Each thread's young generation is sized for the run: a simulated day keeps every command's
 * idempotency record and result for the 24 h of its retention, so nearly everything a command
 * allocates lives on, and V8's default young generation (16 MB semi-spaces) spent a fifth of the
 * run copying survivors (about 300 scavenges of ~10 ms in a default day). With SIM_YOUNG_GENERATION_MB
 * a scavenge copies as much but comes three times less often (measured: ~2.9 s of scavenges → ~1 s).
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { startWorker } from '../persistence/index.ts';
import { buildCity } from './city.ts';
import { splitCity } from './partition.ts';
import { linkSignals } from './partition-link.ts';
import type { SimReport } from './report-types.ts';
import { type ScenarioChoice, scenarioFor } from './scenario.ts';
import { reportOfParts, type WorldOptions, type WorldPart } from './world.ts';

/** Each simulation thread's young generation (MB): three semi-spaces of 64 MB. */
export const SIM_YOUNG_GENERATION_MB = 192;

/** What a simulation thread is given (see thread-worker.ts). */
export interface SimThreadData {
  choice: ScenarioChoice;
  /** The thread that plays each store, by its index in the city. */
  owners: number[];
  index: number;
  progress: boolean;
  /** The partition link's end and shared counters, when the run has two threads. */
  port?: MessagePort;
  signals?: SharedArrayBuffer;
}

type Reply = { progress: number } | { part: WorldPart } | { error: string };

/** Threads a run uses: two when the machine has the cores and the city two stores, else one. */
export function simThreads(choice: ScenarioChoice): number {
  return Math.max(1, Math.min(2, availableParallelism(), scenarioFor(choice).warehouses));
}

/** Async, so that a bad choice (an unknown scenario) rejects like a failed thread instead of throwing. */
export async function runEmbeddedInThreads(
  choice: ScenarioChoice,
  options: WorldOptions = {},
  threads = simThreads(choice),
): Promise<SimReport> {
  const startedMs = performance.now();
  const scenario = scenarioFor(choice);
  const city = buildCity(scenario);
  const owners = threads >= 2 ? splitCity(city) : city.warehouses.map(() => 0);
  const count = Math.max(...owners, 0) + 1;
  const channel = count === 2 ? new MessageChannel() : undefined;
  const signals = count === 2 ? linkSignals() : undefined;
  const workers: Worker[] = [];
  const parts: WorldPart[] = [];
  return new Promise<SimReport>((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      // A thread that failed leaves the other waiting on the link: stop both.
      for (const w of workers) void w.terminate();
      reject(error);
    };
    for (let index = 0; index < count; index++) {
      const port = index === 0 ? channel?.port1 : channel?.port2;
      const data: SimThreadData = { choice, owners, index, progress: options.onProgress !== undefined && index === 0 };
      if (port !== undefined && signals !== undefined) {
        data.port = port;
        data.signals = signals;
      }
      const worker = startWorker(new URL('./thread-worker.ts', import.meta.url), data, {
        resourceLimits: { maxYoungGenerationSizeMb: SIM_YOUNG_GENERATION_MB },
        transferList: port === undefined ? [] : [port],
      });
      workers.push(worker);
      worker.on('message', (reply: Reply) => {
        if ('progress' in reply) {
          options.onProgress?.(reply.progress);
          return;
        }
        if ('error' in reply) {
          fail(new Error(`simulation failed: ${reply.error}`));
          return;
        }
        parts[index] = reply.part;
        void worker.terminate();
        if (parts.filter((p) => p !== undefined).length === count && !settled) {
          settled = true;
          resolve(reportOfParts(scenario, city, 'embedded', parts, (performance.now() - startedMs) / 1000));
        }
      });
      worker.once('error', (error) => fail(error));
      worker.once('exit', (code) => {
        if (parts[index] === undefined) fail(new Error(`simulation thread exited with code ${code}`));
      });
    }
  });
}
