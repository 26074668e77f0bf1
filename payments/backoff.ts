/**
 * Retry delays: exponential backoff with full jitter (a random delay between 0 and
 * min(max, base × 2^attempt)), so many clients retrying after one outage do not arrive together.
 * The randomness is injected (a seeded source in tests and the simulator).
 */

export const BACKOFF_BASE_MS = 200;
export const BACKOFF_MAX_MS = 60_000;

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelayMs(
  attempt: number,
  random: () => number,
  baseMs = BACKOFF_BASE_MS,
  maxMs = BACKOFF_MAX_MS,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
