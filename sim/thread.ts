/**
 * Runs a simulation on the embedded engine in a worker thread whose young generation is sized for
 * it: how `darkstore sim` and the `sim` bench run one. A simulated day keeps every command's
 * idempotency record and result for the 24 h of its retention, so nearly everything a command
 * allocates lives on, and V8's default young generation (16 MB semi-spaces) spent a fifth of the
 * run copying survivors (about 300 scavenges of ~10 ms in a default day). With SIM_YOUNG_GENERATION_MB
 * a scavenge copies as much but comes three times less often (measured: ~2.9 s of scavenges → ~1 s,
 * 48k → ~60k orders per wall minute). The simulation itself is unchanged: the same single thread,
 * the same seed, the same report as `runEmbedded` in this thread (the tests run it there).
 */
import { startWorker } from '../persistence/index.ts';
import type { SimReport } from './report-types.ts';
import type { ScenarioChoice } from './scenario.ts';
import type { WorldOptions } from './world.ts';

/** The simulation thread's young generation (MB): three semi-spaces of 64 MB. */
export const SIM_YOUNG_GENERATION_MB = 192;

type Reply = { progress: number } | { report: SimReport } | { error: string };

export function runEmbeddedInThread(choice: ScenarioChoice, options: WorldOptions = {}): Promise<SimReport> {
  const worker = startWorker(
    new URL('./thread-worker.ts', import.meta.url),
    { choice, progress: options.onProgress !== undefined },
    { resourceLimits: { maxYoungGenerationSizeMb: SIM_YOUNG_GENERATION_MB } },
  );
  return new Promise<SimReport>((resolve, reject) => {
    let settled = false;
    worker.on('message', (reply: Reply) => {
      if ('progress' in reply) {
        options.onProgress?.(reply.progress);
        return;
      }
      settled = true;
      void worker.terminate();
      if ('report' in reply) resolve(reply.report);
      else reject(new Error(`simulation failed: ${reply.error}`));
    });
    worker.once('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`simulation thread exited with code ${code}`));
    });
  });
}
