/**
 * Load drivers for request/reply benchmarks: a closed loop that keeps a fixed number of requests in
 * flight (throughput at saturation), and an open loop that sends on a fixed schedule (latency at a
 * given load, measured from when each request was due, so a stall is not hidden by the requests it
 * delayed). Latencies go into an HDR histogram in microseconds. The transport is a function, so the
 * same driver loads NATS and PostgreSQL. Measures only; what a reply means is the caller's `check`.
 */
import { build, type Histogram } from 'hdr-histogram-js';

/** Longest latency the histogram tracks (µs); a larger one is clamped, and shows as the maximum. */
const LATENCY_US_MAX = 60_000_000;
/** Requests the open loop lets wait for a reply before it stops sending (the rate was too high). */
const OPEN_LOOP_IN_FLIGHT_MAX = 4_096;
/** How often the open loop wakes to send what is due (ms). */
const OPEN_LOOP_TICK_MS = 1;

export interface LoadSpec<Reply> {
  /** Sends the n-th request and resolves with its reply. */
  send(n: number): Promise<Reply>;
  /** Units the reply stands for (1, or the lines of a batch); throws on a reply that is wrong. */
  check(reply: Reply): number;
  warmupMs: number;
  timeMs: number;
}

export interface LoadResult {
  requests: number;
  units: number;
  elapsedMs: number;
  requestsPerSec: number;
  unitsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function histogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: LATENCY_US_MAX, numberOfSignificantValueDigits: 3 });
}

/** Counts what completes inside the measured window, which starts after the warmup. */
class Window {
  readonly latency = histogram();
  requests = 0;
  units = 0;
  private startMs = 0;
  private endMs = 0;

  constructor(private readonly warmupMs: number) {}

  open(timeMs: number): void {
    this.startMs = performance.now() + this.warmupMs;
    this.endMs = this.startMs + timeMs;
  }

  get over(): boolean {
    return performance.now() >= this.endMs;
  }

  record(sentMs: number, doneMs: number, units: number): void {
    if (doneMs < this.startMs || doneMs >= this.endMs) return;
    this.requests++;
    this.units += units;
    this.latency.recordValue(Math.min(LATENCY_US_MAX, Math.max(1, Math.round((doneMs - sentMs) * 1_000))));
  }

  result(): LoadResult {
    const elapsedMs = this.endMs - this.startMs;
    const result: LoadResult = {
      requests: this.requests,
      units: this.units,
      elapsedMs,
      requestsPerSec: (this.requests * 1_000) / elapsedMs,
      unitsPerSec: (this.units * 1_000) / elapsedMs,
      p50Ms: this.latency.getValueAtPercentile(50) / 1_000,
      p99Ms: this.latency.getValueAtPercentile(99) / 1_000,
      maxMs: this.latency.maxValue / 1_000,
    };
    this.latency.destroy();
    return result;
  }
}

/**
 * Keeps `inFlight` requests outstanding (each lane sends its next request when its reply arrives)
 * for the warmup and then `timeMs`; throughput and latency count the replies inside the window.
 * Rejects with the first failed request or check.
 */
export async function closedLoop<Reply>(spec: LoadSpec<Reply>, inFlight: number): Promise<LoadResult> {
  const window = new Window(spec.warmupMs);
  let next = 0;
  const lane = async () => {
    while (!window.over) {
      const n = next++;
      const sentMs = performance.now();
      const reply = await spec.send(n);
      const doneMs = performance.now();
      window.record(sentMs, doneMs, spec.check(reply));
    }
  };
  window.open(spec.timeMs);
  await Promise.all(Array.from({ length: inFlight }, lane));
  return window.result();
}

/**
 * How many requests of a fixed schedule are due `elapsedMs` after its start: request n is due at
 * n / rate, so requests 0 … floor(elapsed × rate) are, one more than the floor. (Sending only the
 * floor's count sent each request a whole interval after it was due, and counted that interval in
 * its latency.)
 */
export function dueBy(elapsedMs: number, ratePerSec: number): number {
  return Math.floor((elapsedMs * ratePerSec) / 1_000) + 1;
}

/**
 * Sends `ratePerSec` requests a second on a fixed schedule for the warmup and then `timeMs`; each
 * latency is measured from the moment its request was due. Stops early (rejects) when more than
 * OPEN_LOOP_IN_FLIGHT_MAX requests wait: the rate is beyond what the system answers.
 */
export function openLoop<Reply>(spec: LoadSpec<Reply>, ratePerSec: number): Promise<LoadResult> {
  const window = new Window(spec.warmupMs);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let waiting = 0;
    let failed = false;
    const startMs = performance.now();
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      clearInterval(timer);
      reject(error);
    };
    const settle = () => {
      if (!failed && waiting === 0 && window.over) resolve(window.result());
    };
    const sendDue = () => {
      if (window.over) {
        clearInterval(timer);
        settle();
        return;
      }
      const due = dueBy(performance.now() - startMs, ratePerSec);
      while (sent < due && !failed) {
        if (waiting >= OPEN_LOOP_IN_FLIGHT_MAX) {
          fail(new Error(`open loop: ${waiting} requests unanswered at ${ratePerSec}/s`));
          return;
        }
        const n = sent++;
        const dueMs = startMs + (n * 1_000) / ratePerSec;
        waiting++;
        spec.send(n).then((reply) => {
          waiting--;
          try {
            window.record(dueMs, performance.now(), spec.check(reply));
          } catch (error) {
            fail(error);
          }
          settle();
        }, fail);
      }
    };
    window.open(spec.timeMs);
    const timer = setInterval(sendDue, OPEN_LOOP_TICK_MS);
  });
}
