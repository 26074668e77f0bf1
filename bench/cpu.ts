/**
 * CPU accounting around a measurement: the CPU time a process (a child, from /proc) and this process
 * used, the whole machine's busy time, and waiting for a child to go idle before the next
 * measurement. Linux /proc; elsewhere a child's numbers are simply missing. Reads, never changes
 * anything.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fmt } from './measure.ts';

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux everywhere that matters). */
const PROC_TICKS_PER_SEC = 100;
/** A process counts as idle below this much CPU (cores) over one poll. */
const IDLE_CORES_MAX = 0.1;
const IDLE_POLL_MS = 250;

/** CPU seconds (user + system, all threads) a process has used so far; undefined without /proc. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / PROC_TICKS_PER_SEC;
  } catch {
    return undefined;
  }
}

/** Busy CPU time of the whole machine so far (ms, summed over cores). */
function machineBusyMs(): number {
  let busyMs = 0;
  for (const cpu of cpus()) busyMs += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq;
  return busyMs;
}

/** CPU used during a measurement, in cores (CPU seconds per second of wall time). */
export interface CpuUse {
  /** The server process measured against (all its threads); undefined without /proc. */
  server?: number;
  /** This process: the load driver. */
  client: number;
  /** Every process of the machine, other users' included. */
  machine: number;
}

/** Runs `fn` and reads the CPU the server process, this process and the machine used meanwhile. */
export async function withCpu<T>(serverPid: number, fn: () => Promise<T>): Promise<{ value: T; cpu: CpuUse }> {
  const serverBefore = cpuSecondsOf(serverPid);
  const clientBefore = process.cpuUsage();
  const machineBefore = machineBusyMs();
  const startedMs = performance.now();
  const value = await fn();
  const wallMs = performance.now() - startedMs;
  const serverAfter = cpuSecondsOf(serverPid);
  const client = process.cpuUsage(clientBefore);
  const cpu: CpuUse = {
    client: (client.user + client.system) / 1_000 / wallMs,
    machine: (machineBusyMs() - machineBefore) / wallMs,
  };
  if (serverBefore !== undefined && serverAfter !== undefined)
    cpu.server = ((serverAfter - serverBefore) * 1_000) / wallMs;
  return { value, cpu };
}

/** The CPU use in words, for a note. */
export function cpuText(cpu: CpuUse, server: string): string {
  const s = cpu.server === undefined ? '' : `${server} ${fmt(cpu.server, 2)}, `;
  return `CPU in cores: ${s}client ${fmt(cpu.client, 2)}, whole machine ${fmt(cpu.machine, 2)}`;
}

/**
 * Waits until the process is idle (its CPU over one poll below IDLE_CORES_MAX), at most `maxMs`:
 * work a measurement left behind (expiries, follow-up commands, event consumers catching up) must
 * not land in the next one. Returns whether it settled.
 */
export async function settle(pid: number, maxMs: number): Promise<boolean> {
  const startedMs = performance.now();
  let before = cpuSecondsOf(pid);
  while (before !== undefined && performance.now() - startedMs < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
    const after = cpuSecondsOf(pid);
    if (after === undefined) return false;
    if (((after - before) * 1_000) / IDLE_POLL_MS < IDLE_CORES_MAX) return true;
    before = after;
  }
  return false;
}
