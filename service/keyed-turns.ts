/**
 * Turns per key: work of one key runs one piece after another, in the order the pieces were
 * enrolled, while different keys run at once. An event consumer handling messages concurrently
 * enrolls each event as it takes its message (in stream order), so the events of one order still
 * reach their handler in order. Only promises; no timers.
 */

/** One enrolled turn: wait for `ready`, do the work, then call `done` (also when the work failed). */
export interface Turn {
  ready: Promise<void>;
  /** An earlier turn of the key is not done: `ready` is still to come (else it resolved already). */
  waits: boolean;
  done: () => void;
}

const NOW = Promise.resolve();

export class KeyedTurns {
  /** Per key with turns not yet done, the end of its last one. */
  private readonly last = new Map<string, Promise<void>>();

  /** Enrolls a turn of `key` after every turn of it enrolled before (synchronously, in call order). */
  enroll(key: string): Turn {
    const earlier = this.last.get(key);
    const ready = earlier ?? NOW;
    let finish: () => void = () => {};
    const ended = new Promise<void>((resolve) => {
      finish = resolve;
    });
    // A turn ends only after it was ready, so waiting on the last turn waits on them all.
    this.last.set(key, ended);
    return {
      ready,
      waits: earlier !== undefined,
      done: () => {
        finish();
        if (this.last.get(key) === ended) this.last.delete(key);
      },
    };
  }

  /** Keys with turns not yet done. */
  get size(): number {
    return this.last.size;
  }
}
