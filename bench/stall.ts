/**
 * The one way suites measure a command-loop stall: the longest event-loop delay while something
 * runs (a snapshot being written) and a few closed-loop clients keep the loop busy with commands,
 * as a live warehouse would be. Used by `engine.snapshot.stall` and `order.snapshot.stall`. Owns
 * no warehouse: the caller says what one client does per round.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** Closed-loop clients submitting commands while the stall is measured: a light, steady stream. */
export const STALL_CLIENTS = 16;
/** Time for the monitor's timer to run before and after: a blocked loop is recorded when it finally runs. */
const SETTLE_MS = 50;
/** How long to watch the loop without a snapshot, for the comparison in the notes. */
export const IDLE_WATCH_MS = 300;

/**
 * Longest event-loop delay (ms) while `during` runs and STALL_CLIENTS clients each call `command`
 * in a loop (awaiting each). Resolves once every client has stopped. Throws what `during` throws.
 */
export async function longestStall(command: () => Promise<unknown>, during: () => Promise<void>): Promise<number> {
  const monitor = monitorEventLoopDelay({ resolution: 1 });
  let running = true;
  const client = async () => {
    while (running) await command();
  };
  const clients = Array.from({ length: STALL_CLIENTS }, client);
  monitor.enable();
  try {
    await sleep(SETTLE_MS);
    await during();
    await sleep(SETTLE_MS);
  } finally {
    monitor.disable();
    running = false;
    await Promise.all(clients);
  }
  return monitor.max / 1e6;
}

/** The same load with nothing else running, for `watchMs`: the stall a snapshot adds to. */
export function idleStall(command: () => Promise<unknown>, watchMs = IDLE_WATCH_MS): Promise<number> {
  return longestStall(command, () => sleep(watchMs));
}
