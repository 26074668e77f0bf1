/**
 * The read side of a region process in a worker thread of its own (read-side-worker.ts): the catalog
 * and the notification consumer take every availability and order event back from JetStream, decode,
 * apply and acknowledge it, and answer browsing. On the main thread that work shared the event loop
 * with the warehouses' command loops and added to every command's latency; in its own thread it runs
 * beside them. Starting resolves once both run (a failure to start rejects with the worker's error).
 * A worker that dies later is logged and started again after READ_SIDE_RESTART_MS (its consumers are
 * durable or resync, so nothing is missed); it never takes the warehouses down with it.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { startWorker } from '../persistence/index.ts';
import type { ReadSideInit } from './read-side-worker.ts';

/** How long the worker may take to say it runs. */
const READY_TIMEOUT_MS = 60_000;
/** How long a stopping read side may take before its thread is terminated. */
const STOP_TIMEOUT_MS = 10_000;
/** The wait before a read side that died is started again. */
export const READ_SIDE_RESTART_MS = 1_000;

export interface RunningReadSide {
  /** The thread running the read side now (a new one after a restart). */
  thread(): Worker;
  /** How many times it was started again after dying. */
  readonly restarts: number;
  stop(): Promise<void>;
}

type WorkerReply = { ready: true } | { error: string } | { stopped: true };

/** One worker: resolves once it runs; `exited` settles when its thread ends, whatever the cause. */
function launch(init: ReadSideInit): { worker: Worker; ready: Promise<void>; exited: Promise<number> } {
  const worker = startWorker(new URL('./read-side-worker.ts', import.meta.url), init);
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`read side not ready within ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    const settle = (error?: Error) => {
      clearTimeout(timer);
      if (error === undefined) resolve();
      else reject(error);
    };
    worker.on('message', (reply: WorkerReply) => {
      if ('ready' in reply) settle();
      else if ('error' in reply) settle(new Error(`read side failed to start: ${reply.error}`));
    });
    // Once ready, a later exit does nothing here (the promise is settled).
    void exited.then((code) => settle(new Error(`read side exited with code ${code} before it was ready`)));
  });
  return { worker, ready, exited };
}

export async function startReadSide(init: ReadSideInit, logger: Logger): Promise<RunningReadSide> {
  let stopping = false;
  let restarts = 0;
  let current = launch(init);
  // Until the first start succeeds, an error rejects `ready` (and must not be an unhandled 'error').
  const watch = (run: ReturnType<typeof launch>) => {
    run.worker.on('error', (error) => logger.error({ err: error }, 'read side failed'));
    void run.exited.then((code) => {
      if (stopping || run !== current) return;
      logger.error({ code }, `read side exited; starting it again in ${READ_SIDE_RESTART_MS} ms`);
      setTimeout(() => {
        if (stopping) return;
        current = launch(init);
        restarts++;
        watch(current);
        current.ready.catch((error: unknown) => {
          logger.error({ err: error }, 'read side did not start again');
          void current.worker.terminate();
        });
      }, READ_SIDE_RESTART_MS).unref();
    });
  };
  watch(current);
  try {
    await current.ready;
  } catch (error) {
    stopping = true;
    await current.worker.terminate();
    throw error;
  }
  return {
    thread: () => current.worker,
    get restarts() {
      return restarts;
    },
    stop: async () => {
      stopping = true;
      const { worker, exited } = current;
      const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
      // An exited worker ignores the message; its `exited` has settled already.
      worker.postMessage({ stop: true });
      await exited;
      clearTimeout(timer);
    },
  };
}
