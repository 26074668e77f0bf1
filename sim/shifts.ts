/**
 * Staffing by shifts, shared by the pickers and the couriers of a store: the run's hours cut into
 * shifts of a fixed length, each staffed for the busiest hour of its expected demand (at least one
 * person), and a shift change on the agenda at each shift's start. A run that starts later in the
 * day (over NATS) begins with the shift on duty then.
 */
import type { SimContext } from './context.ts';

const HOUR_MS = 3_600_000;

export function scheduleShifts(
  ctx: SimContext,
  shiftHours: number,
  expectedPerHour: (hour: number) => number,
  perPersonPerHour: number,
  changeShift: (staff: number) => void,
): void {
  for (let from = 0; from < ctx.scenario.hours; from += shiftHours) {
    if (ctx.startMs + (from + shiftHours) * HOUR_MS <= ctx.agenda.nowMs) continue;
    let peak = 0;
    for (let h = from; h < from + shiftHours; h++) peak = Math.max(peak, expectedPerHour(h));
    const staff = Math.max(1, Math.ceil(peak / perPersonPerHour));
    ctx.agenda.at(ctx.startMs + from * HOUR_MS, () => changeShift(staff));
  }
}
