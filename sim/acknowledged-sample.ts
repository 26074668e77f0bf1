/**
 * A bounded, uniform sample of the commands one warehouse acknowledged (reservoir sampling: every
 * acknowledgement has the same chance to be kept, however many there are), looked up by key at the
 * end of a run: each must be known to the engine with the very result it was acknowledged with.
 * Owns the sample; the lookup is the caller's.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Result } from '../engine/index.ts';
import type { Random } from './random.ts';

export interface SampleCheck {
  checked: number;
  /** Missing, or known with another result. */
  lost: number;
  /** Lookups that got no answer (counted as lost too: a check not made must not pass). */
  unanswered: number;
}

export class AcknowledgedSample {
  private seen = 0;
  private readonly kept: { key: string; result: Result }[] = [];

  constructor(
    private readonly capacity: number,
    private readonly random: Random,
  ) {}

  add(key: string, result: Result): void {
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
    for (const { key, result } of this.kept) {
      check.checked++;
      try {
        const stored = await lookup(key);
        if (stored === undefined || !isDeepStrictEqual(stored, result)) check.lost++;
      } catch {
        check.lost++;
        check.unanswered++;
      }
    }
    return check;
  }
}
