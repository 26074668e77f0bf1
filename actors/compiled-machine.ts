/**
 * Runs an XState v5 machine definition without XState's interpreter: the machine is walked once
 * into a table (leaf state × event → guarded transitions with their target leaf and actions), and a
 * transition is then a lookup, guard calls and context updates on plain data. Why: the order core
 * holds every open order as plain data (a live actor keeps ~3.9 KB, over the 4 KB budget per open
 * order once the order itself is added), and XState's pure `transition()` on a stored snapshot is
 * ~6× slower than a live actor (bench rows `baseline.xstate.*`). The machine stays the single
 * definition; tests check that the table answers exactly as XState's `transition()` does.
 *
 * Supported: atomic, compound and final states; `on` transitions with one target or none, named
 * guards, named actions and `{ type }` effects; `assign` with an object of values or functions.
 * Anything else (parallel or history states, `always`, `after`, entry/exit actions, invoke) is
 * refused when compiling, so a machine that outgrows this fails loudly, never silently.
 */
import type { AnyStateMachine } from 'xstate';

/** A state as plain data: the leaf's path (`reserved.authorizing`) and the context. */
export interface CompiledSnapshot<C> {
  value: string;
  context: C;
}

export interface CompiledStep<C> {
  snapshot: CompiledSnapshot<C>;
  /** Names of the transition's actions in order, context updates (`assign`) left out, as XState does. */
  actions: string[];
}

type Assignment = Record<string, unknown>;

interface CompiledTransition {
  guard?: (args: { context: unknown; event: unknown }) => boolean;
  /** Leaf path to go to; undefined for a transition that stays. */
  target?: string;
  actions: { name: string; assignment?: Assignment }[];
}

// XState's state-node tree is reached through structural types: only the fields read here.
interface StateNodeLike {
  key: string;
  type: string;
  path: string[];
  states: Record<string, StateNodeLike>;
  initial?: { target: StateNodeLike[] };
  transitions: Map<string, TransitionLike[]>;
  always?: unknown[];
  entry: unknown[];
  exit: unknown[];
  config: { after?: unknown; invoke?: unknown; history?: unknown };
}

interface TransitionLike {
  target?: StateNodeLike[];
  guard?: unknown;
  actions: unknown[];
}

interface Implementations {
  actions: Record<string, unknown>;
  guards: Record<string, (args: { context: unknown; event: unknown }) => boolean>;
}

function refuse(node: StateNodeLike, what: string): never {
  throw new Error(`compileMachine: state ${node.path.join('.') || '(root)'} uses ${what}, which is not supported`);
}

function check(node: StateNodeLike): void {
  if (node.type === 'parallel' || node.type === 'history') refuse(node, `${node.type} states`);
  if ((node.always?.length ?? 0) > 0) refuse(node, 'always transitions');
  if (node.entry.length > 0 || node.exit.length > 0) refuse(node, 'entry/exit actions');
  if (node.config.after !== undefined) refuse(node, 'delayed transitions');
  if (node.config.invoke !== undefined) refuse(node, 'invoked actors');
}

/** The leaf a target resolves to: compound states enter their initial child, recursively. */
function leafOf(node: StateNodeLike): StateNodeLike {
  let current = node;
  while (current.type === 'compound')
    current = (current.initial as { target: StateNodeLike[] }).target[0] as StateNodeLike;
  return current;
}

function compileAction(
  action: unknown,
  impl: Implementations,
  node: StateNodeLike,
): { name: string; assignment?: Assignment } {
  const name = typeof action === 'string' ? action : (action as { type?: unknown }).type;
  if (typeof name !== 'string') refuse(node, 'an inline action function');
  const implementation = impl.actions[name] as { type?: string; assignment?: Assignment } | undefined;
  if (implementation?.type === 'xstate.assign') {
    if (typeof implementation.assignment !== 'object' || implementation.assignment === null)
      refuse(node, 'assign with a function');
    return { name, assignment: implementation.assignment };
  }
  return { name };
}

function compileTransition(t: TransitionLike, impl: Implementations, node: StateNodeLike): CompiledTransition {
  const compiled: CompiledTransition = { actions: t.actions.map((a) => compileAction(a, impl, node)) };
  if (t.guard !== undefined) {
    const name = typeof t.guard === 'string' ? t.guard : (t.guard as { type?: unknown }).type;
    const guard = typeof name === 'string' ? impl.guards[name] : undefined;
    if (guard === undefined) refuse(node, 'a guard that is not a named implementation');
    compiled.guard = guard;
  }
  const targets = t.target ?? [];
  if (targets.length > 1) refuse(node, 'a transition with several targets');
  if (targets[0] !== undefined) compiled.target = leafOf(targets[0]).path.join('.');
  return compiled;
}

export class CompiledMachine<C extends object, E extends { type: string }> {
  private readonly table = new Map<string, Map<string, CompiledTransition[]>>();
  private readonly initialLeaf: string;

  private readonly initialContext: (input: unknown) => C;

  constructor(machine: AnyStateMachine) {
    // The machine's own context factory (it may read only `input`), or a copy of a fixed context.
    const context = (machine.config as { context?: unknown }).context;
    this.initialContext =
      typeof context === 'function'
        ? (input) => (context as (args: { input: unknown }) => C)({ input })
        : () => structuredClone(context ?? {}) as C;
    const root = machine.root as unknown as StateNodeLike;
    const impl = (machine as unknown as { implementations: Implementations }).implementations;
    this.initialLeaf = leafOf(root).path.join('.');
    this.compileNode(root, [], impl);
  }

  /** Walks the tree; every leaf gets its own transitions, then its ancestors' for other events. */
  private compileNode(node: StateNodeLike, inherited: [string, CompiledTransition[]][], impl: Implementations): void {
    check(node);
    const own: [string, CompiledTransition[]][] = [...node.transitions].map(([event, ts]) => [
      event,
      ts.map((t) => compileTransition(t, impl, node)),
    ]);
    const available = [...own, ...inherited.filter(([event]) => !node.transitions.has(event))];
    const children = Object.values(node.states);
    if (children.length === 0) {
      this.table.set(node.path.join('.'), new Map(available));
      return;
    }
    for (const child of children) this.compileNode(child, available, impl);
  }

  initial(input: unknown): CompiledSnapshot<C> {
    return { value: this.initialLeaf, context: this.initialContext(input) };
  }

  /** The next snapshot and actions, or undefined when the state does not accept the event. */
  transition(snapshot: CompiledSnapshot<C>, event: E): CompiledStep<C> | undefined {
    const candidates = this.table.get(snapshot.value)?.get(event.type);
    if (candidates === undefined) return undefined;
    const args = { context: snapshot.context, event };
    for (const t of candidates) {
      if (t.guard !== undefined && !t.guard(args)) continue;
      let context = snapshot.context;
      for (const action of t.actions) {
        if (action.assignment === undefined) continue;
        const next: Record<string, unknown> = { ...(context as Record<string, unknown>) };
        for (const [key, value] of Object.entries(action.assignment)) {
          next[key] = typeof value === 'function' ? value({ context, event }) : value;
        }
        context = next as C;
      }
      const actions = t.actions.filter((a) => a.assignment === undefined).map((a) => a.name);
      return { snapshot: { value: t.target ?? snapshot.value, context }, actions };
    }
    return undefined;
  }
}
