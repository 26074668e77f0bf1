/**
 * A bounded, uniform sample of the commands one warehouse acknowledged (reservoir sampling: every
 * acknowledgement has the same chance to be kept, however many there are), plus every one of the
 * last ones acknowledged before a crash of the region process (`pinRecent`, where losses would
 * cluster), looked up by key at the end of a run: each must be known to the engine with the very
 * result it was acknowledged with. Owns the sample; the lookup is the caller's.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Result } from '../engine/index.ts';
import type { Random } from './random.ts';

export interface SampleCheck {
  checked: number;
  /** Missing, or known with another result. */
  lost: number;
  /**
   * Lookups that got no answer: not counted as lost (nothing says it was), but a check not made must
   * not pass either: the run's verdict is then UNVERIFIED.
   */
  unanswered: number;
}

/** Acknowledgements kept, in order, of the last ones before a crash: all are checked. */
export const ACK_RECENT_PER_WAREHOUSE = 1_024;

export class AcknowledgedSample {
  private seen = 0;
  private readonly kept: { key: string; result: Result }[] = [];
  /** The last acknowledgements, a ring of `recentCapacity`. */
  private readonly recent: ({ key: string; result: Result } | undefined)[];
  private recentNext = 0;
  /** The last acknowledgements before each crash (`pinRecent`). */
  private readonly pinned: { key: string; result: Result }[] = [];

  constructor(
    private readonly capacity: number,
    private readonly random: Random,
    private readonly recentCapacity = ACK_RECENT_PER_WAREHOUSE,
  ) {
    this.recent = new Array(recentCapacity).fill(undefined);
  }

  /** The region process is being killed: every acknowledgement of the last ones is checked at the end. */
  pinRecent(): void {
    for (let i = 0; i < this.recentCapacity; i++) {
      const at = (this.recentNext + i) % this.recentCapacity;
      const ack = this.recent[at];
      if (ack !== undefined) this.pinned.push(ack);
      this.recent[at] = undefined;
    }
  }

  add(key: string, result: Result): void {
    if (this.recentCapacity > 0) {
      this.recent[this.recentNext] = { key, result };
      this.recentNext = (this.recentNext + 1) % this.recentCapacity;
    }
    this.seen++;
    if (this.kept.length < this.capacity) {
      this.kept.push({ key, result });
      return;
    }
    const i = this.random.int(0, this.seen - 1);
    if (i < this.capacity) this.kept[i] = { key, result };
  }

  /**
   * Looks every kept command up, one after the other: `lookup` gives the stored result of a key,
   * undefined when the engine does not know it, and throws when it got no answer.
   */
  async verify(lookup: (key: string) => Promise<Result | undefined>): Promise<SampleCheck> {
    const check: SampleCheck = { checked: 0, lost: 0, unanswered: 0 };
    const keys = new Set<string>();
    for (const { key, result } of [...this.kept, ...this.pinned]) {
      if (keys.has(key)) continue;
      keys.add(key);
      check.checked++;
      try {
        const stored = await lookup(key);
        if (stored === undefined || !isDeepStrictEqual(stored, result)) check.lost++;
      } catch {
        check.unanswered++;
      }
    }
    return check;
  }
}
