/**
 * The one way suites time a loop: a thin wrapper over tinybench that runs a task function for a
 * time budget after a warmup and turns its latency samples into per-operation numbers. A task
 * function may do a batch of operations per call, so that tinybench's per-call overhead (two
 * timestamps and bookkeeping, ~100 ns) stays far below what is measured. Performs no I/O itself.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Bench } from 'tinybench';

/** GC entries reach observers on a later macrotask: how long to wait for the last ones. */
const GC_ENTRIES_SETTLE_MS = 50;

export interface MeasureOptions {
  /** Operations one call of the task function performs. */
  opsPerCall: number;
  /** Measured time budget (ms); tinybench also runs at least `minCalls` calls. */
  timeMs: number;
  warmupMs: number;
  minCalls?: number;
  /** Runs before every call, outside the timed window (e.g. to recycle state or build inputs). */
  beforeEach?: () => void;
}

export interface Measurement {
  opsPerSec: number;
  /** Mean and tail time of one operation, from the per-call samples (µs). */
  opMeanUs: number;
  opP99Us: number;
  /** Longest single call (ms): a GC pause or a slow fsync shows here. */
  callMaxMs: number;
  calls: number;
  /** Sum of the timed windows (ms): what the measurement is based on. */
  timedMs: number;
  /** Main-thread GC pauses during the whole task (warmup and hooks included) and its wall time (ms). */
  gcMs: number;
  wallMs: number;
}

/** Times `fn` with tinybench and returns per-operation throughput and latency. Throws if `fn` throws. */
export async function measure(name: string, fn: () => void, options: MeasureOptions): Promise<Measurement> {
  const bench = new Bench({
    name,
    time: options.timeMs,
    warmupTime: options.warmupMs,
    iterations: options.minCalls ?? 16,
    warmupIterations: 4,
    throws: true,
  });
  bench.add(name, fn, options.beforeEach === undefined ? {} : { beforeEach: options.beforeEach });
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  const startedMs = performance.now();
  const [task] = await bench.run();
  const wallMs = performance.now() - startedMs;
  await sleep(GC_ENTRIES_SETTLE_MS);
  for (const entry of gc.takeRecords()) gcMs += entry.duration;
  gc.disconnect();
  const result = task?.result;
  if (result === undefined || result.state !== 'completed') {
    const reason = result?.state === 'errored' ? result.error.message : (result?.state ?? 'no task');
    throw new Error(`${name} did not complete: ${reason}`);
  }
  const calls = result.latency.samplesCount;
  return {
    opsPerSec: (options.opsPerCall * 1_000) / result.period,
    opMeanUs: (result.latency.mean * 1_000) / options.opsPerCall,
    opP99Us: (result.latency.p99 * 1_000) / options.opsPerCall,
    callMaxMs: result.latency.max,
    calls,
    timedMs: result.totalTime,
    gcMs,
    wallMs,
  };
}

/** Formats a number with thousands separators and at most `digits` decimals, for notes. */
export function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits });
}
