/**
 * The sample of acknowledged commands the simulator looks up at the end of a run over NATS: a
 * uniform sample of them all, and every one of the last acknowledgements before a crash (where
 * what a crash loses clusters), each looked up once; a lookup that gets no answer counts as lost.
 */
import { describe, expect, it } from 'vitest';
import type { Result } from '../../engine/index.ts';
import { AcknowledgedSample } from '../../sim/acknowledged-sample.ts';
import { Random } from '../../sim/index.ts';

const ok = (n: number): Result => ({ ok: true, value: { kind: 'tick', expired: n } }) as Result;

describe('acknowledged sample', () => {
  it('checks every one of the last acknowledgements before a crash, besides its uniform sample', async () => {
    const sample = new AcknowledgedSample(4, new Random(1), 8);
    for (let i = 0; i < 1_000; i++) sample.add(`k${i}`, ok(i));
    sample.pinRecent();
    for (let i = 1_000; i < 2_000; i++) sample.add(`k${i}`, ok(i));
    // The engine lost the five commands acknowledged just before the crash.
    const lostKeys = new Set(['k995', 'k996', 'k997', 'k998', 'k999']);
    const looked: string[] = [];
    const check = await sample.verify(async (key) => {
      looked.push(key);
      return lostKeys.has(key) ? undefined : ok(Number(key.slice(1)));
    });
    for (const key of ['k992', 'k995', 'k999']) expect(looked).toContain(key);
    expect(new Set(looked).size).toBe(looked.length);
    expect(check.checked).toBe(looked.length);
    expect(check.lost).toBeGreaterThanOrEqual(5);
  });

  it('counts a different result as lost, and a lookup without an answer as unanswered', async () => {
    const sample = new AcknowledgedSample(10, new Random(2), 0);
    sample.add('a', ok(1));
    sample.add('b', ok(2));
    sample.add('c', ok(3));
    const check = await sample.verify(async (key) => {
      if (key === 'b') return ok(99);
      if (key === 'c') throw new Error('no answer');
      return ok(1);
    });
    expect(check).toEqual({ checked: 3, lost: 1, unanswered: 1 });
  });
});
