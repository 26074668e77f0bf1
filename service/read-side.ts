/**
 * The read side of a region process in a worker thread of its own (read-side-worker.ts): the catalog
 * and the notification consumer take every availability and order event back from JetStream, decode,
 * apply and acknowledge it, and answer browsing. On the main thread that work shared the event loop
 * with the warehouses' command loops and added to every command's latency; in its own thread it runs
 * beside them. Starting resolves once both run; a failure to start rejects with the worker's error.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../persistence/index.ts';
import type { ReadSideInit } from './read-side-worker.ts';

/** How long a stopping read side may take before its thread is terminated. */
const STOP_TIMEOUT_MS = 10_000;

export interface RunningReadSide {
  stop(): Promise<void>;
}

type WorkerReply = { ready: true } | { error: string } | { stopped: true };

export async function startReadSide(init: ReadSideInit): Promise<RunningReadSide> {
  const worker: Worker = startWorker(new URL('./read-side-worker.ts', import.meta.url), init);
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`read side exited with code ${code} before it was ready`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.on('message', (reply: WorkerReply) => {
      if ('ready' in reply) {
        worker.off('exit', onExit);
        worker.off('error', reject);
        resolve();
      } else if ('error' in reply) {
        void worker.terminate();
        reject(new Error(`read side failed to start: ${reply.error}`));
      }
    });
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
        worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        worker.postMessage({ stop: true });
      }),
  };
}
