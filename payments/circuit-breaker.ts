/**
 * A circuit breaker for calls to an outside provider: after FAILURES_TO_OPEN consecutive failures it
 * opens and fails calls at once for OPEN_MS; then it lets one trial call through (half-open) and
 * closes on its success or opens again on its failure. Time comes from the injected clock.
 */

export const FAILURES_TO_OPEN = 5;
export const OPEN_MS = 30_000;

export type BreakerState = 'closed' | 'open' | 'half_open';

export class CircuitBreaker {
  private failures = 0;
  private openedAtMs = 0;
  private trialInFlight = false;
  private current: BreakerState = 'closed';

  constructor(
    private readonly clock: () => number,
    private readonly failuresToOpen = FAILURES_TO_OPEN,
    private readonly openMs = OPEN_MS,
  ) {}

  get state(): BreakerState {
    if (this.current === 'open' && this.clock() - this.openedAtMs >= this.openMs) this.current = 'half_open';
    return this.current;
  }

  /** Whether a call may go out now. In half-open, only one trial call at a time. */
  allow(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  succeeded(): void {
    this.failures = 0;
    this.trialInFlight = false;
    this.current = 'closed';
  }

  failed(): void {
    this.trialInFlight = false;
    this.failures++;
    if (this.current === 'half_open' || this.failures >= this.failuresToOpen) {
      this.current = 'open';
      this.openedAtMs = this.clock();
    }
  }
}
