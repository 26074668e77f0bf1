/**
 * Turns per key (`KeyedTurns`): the pieces of one key run in the order they were enrolled, however
 * long each takes and whichever is ready first; other keys never wait; a failed piece still ends
 * its turn; nothing is kept once every turn is done. A property test against the order of
 * enrollment, with random delays.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedTurns } from '../../service/index.ts';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('keyed turns', () => {
  it('runs one key in enrollment order and different keys at once', async () => {
    const turns = new KeyedTurns();
    const log: string[] = [];
    const run = async (key: string, name: string, ms: number) => {
      const turn = turns.enroll(key);
      await turn.ready;
      log.push(`${name} start`);
      try {
        await tick(ms);
        if (name === 'a2') throw new Error('fails');
      } finally {
        log.push(`${name} end`);
        turn.done();
      }
    };
    await Promise.allSettled([run('a', 'a1', 30), run('a', 'a2', 0), run('b', 'b1', 0), run('a', 'a3', 0)]);
    expect(log.indexOf('b1 end')).toBeLessThan(log.indexOf('a1 end'));
    const ofA = log.filter((l) => l.startsWith('a'));
    expect(ofA).toEqual(['a1 start', 'a1 end', 'a2 start', 'a2 end', 'a3 start', 'a3 end']);
    expect(turns.size).toBe(0);
  });

  it('says whether a turn has to wait for an earlier one of its key', () => {
    const turns = new KeyedTurns();
    const first = turns.enroll('a');
    const second = turns.enroll('a');
    expect([first.waits, second.waits, turns.enroll('b').waits]).toEqual([false, true, false]);
    first.done();
    second.done();
    expect(turns.enroll('a').waits).toBe(false);
  });

  it('keeps every key in enrollment order under random delays', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: fc.constantFrom('k1', 'k2', 'k3'), ms: fc.integer({ min: 0, max: 3 }) }), {
          maxLength: 25,
        }),
        async (pieces) => {
          const turns = new KeyedTurns();
          const ran: number[] = [];
          await Promise.all(
            pieces.map(async ({ key, ms }, i) => {
              const turn = turns.enroll(key);
              await tick(3 - ms); // the later ones are often ready first
              await turn.ready;
              await tick(ms);
              ran.push(i);
              turn.done();
            }),
          );
          for (const key of ['k1', 'k2', 'k3']) {
            const enrolled = pieces.flatMap((p, i) => (p.key === key ? [i] : []));
            expect(ran.filter((i) => pieces[i]?.key === key)).toEqual(enrolled);
          }
          expect(turns.size).toBe(0);
        },
      ),
      { numRuns: 30 },
    );
  });
});
