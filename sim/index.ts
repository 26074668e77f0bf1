/**
 * Public surface of the simulator. For now: seeded randomness shared by load writers and
 * benchmarks; the simulated city arrives with the simulator issue.
 */
export { Random } from './random.ts';
