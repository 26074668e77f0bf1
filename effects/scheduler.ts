/**
 * Time for the effect executor as a port: what time it is and how to wait, so that the same code
 * runs on the wall clock in the region process and on a virtual clock in tests and the simulator.
 * It never decides what to wait for; the executor does.
 */

export interface Scheduler {
  /** Milliseconds since the epoch (or since the start of a simulation). */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` is aborted (a stopped retry timer). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The wall clock and `setTimeout`; an aborted sleep clears its timer, so it holds no process open. */
export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted === true) {
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};
