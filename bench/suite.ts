/**
 * The shape of a benchmark: a suite is a named async function that measures and returns rows, and
 * the registry the runner picks suites from. A row is one stable, named number (`engine.durable`,
 * `baseline.sqlite.reserve`); ratios against a baseline row are computed by the runner, in the same
 * run, so no number is ever compared with one measured elsewhere. Owns no measurement itself.
 */

/** A threshold a row should meet: `>=` for throughputs, `<` for latencies and stalls. */
export interface Target {
  op: '>=' | '<';
  value: number;
}

export interface Row {
  /** Stable id, `<area>.<what>[.<variant>]`: consumers of the JSON key on it. */
  id: string;
  value: number;
  /** Unit of `value`: 'ops/s', 'commands/s', 'records/s', 'pairs/s', 'ms', 'µs'. */
  unit: string;
  /** Id of the row this one is compared with; the runner fills `ratio = value / baseline.value`. */
  baseline?: string;
  ratio?: number;
  /** What `value` should meet. */
  target?: Target;
  /** What `ratio` should meet (e.g. ≥ 10× the SQLite baseline at equal durability). */
  ratioTarget?: Target;
  /** How the number was measured, in a sentence or two, when that matters to read it. */
  note?: string;
}

export interface SuiteContext {
  /** Short durations: a smoke run that proves the suite works, not a measurement. */
  quick: boolean;
  /** Progress for humans; goes to stderr so stdout stays clean for --json. */
  log(message: string): void;
  /** A fresh directory under os.tmpdir(), removed by the runner when every suite has finished. */
  tempDir(prefix: string): string;
  /** `--pg URL`: the PostgreSQL server the baseline uses instead of a throwaway cluster of its own. */
  pgUrl?: string;
}

export interface Suite {
  name: string;
  run(ctx: SuiteContext): Promise<Row[]>;
}

/** Whether `value` meets `target`. */
export function meets(value: number, target: Target): boolean {
  return target.op === '>=' ? value >= target.value : value < target.value;
}

/** The suites the runner knows, in the order they run. */
export class SuiteRegistry {
  private readonly byName = new Map<string, Suite>();

  /** Adds a suite; a second suite with the same name is a bug and throws. */
  add(suite: Suite): this {
    if (this.byName.has(suite.name)) throw new Error(`suite ${suite.name} registered twice`);
    this.byName.set(suite.name, suite);
    return this;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /**
   * The suites named, in registration order, or every suite when none is named. Returns the unknown
   * names instead when there are any.
   */
  select(names: readonly string[]): { suites: Suite[] } | { unknown: string[] } {
    const unknown = names.filter((name) => !this.byName.has(name));
    if (unknown.length > 0) return { unknown };
    const all = [...this.byName.values()];
    return { suites: names.length === 0 ? all : all.filter((suite) => names.includes(suite.name)) };
  }
}
