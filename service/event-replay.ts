/**
 * Which of the events a recovery replays go out again. A region republishes what its recovery
 * replays that the stream may lack (a crash may fall between a commit and its publication, or
 * between a publication and the stream's acknowledgement): every replayed event past the
 * warehouse's acknowledged mark (`event-marks.ts`), the seq through which the stream acknowledged
 * every event of the warehouse. Without a mark (a new warehouse, a data directory from before the
 * marks, an unreadable file) every replayed event goes out; the duplicate window drops those whose
 * message id the stream holds, and consumers take the other copies as repeats.
 *
 * The stream's own content does not say this: per subject up to a window of messages is out at
 * once, so a later message can be stored while an earlier one was lost on the way, and "the last
 * stored event of a type" would claim the lost one.
 */
import type { EngineEvent } from '../engine/index.ts';
import type { EventEntry } from './event-messages.ts';

/** The events one replayed command produced. */
export interface ReplayedCommand {
  seq: number;
  events: EngineEvent[];
}

/**
 * The replayed events to publish again, as entries (each keeps its command's seq and its index among
 * that command's events), in order: those of commands past `ackedThrough` (all when undefined).
 */
export function unpublishedReplay(
  ackedThrough: number | undefined,
  replayed: readonly ReplayedCommand[],
): EventEntry[] {
  const out: EventEntry[] = [];
  for (const { seq, events } of replayed) {
    if (ackedThrough !== undefined && seq <= ackedThrough) continue;
    for (let index = 0; index < events.length; index++) out.push({ seq, index, event: events[index] as EngineEvent });
  }
  return out;
}
