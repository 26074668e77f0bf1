/**
 * `darkstore serve` refuses flags it cannot honour with exit 2 and says which, before it connects
 * anywhere: a checkpointer it does not know (it used to run the worker silently), a metrics port
 * that is empty or not a number (it used to bind a random port).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'bin', 'darkstore.js');
const dir = mkdtempSync(join(tmpdir(), 'darkstore-serve-cli-'));
const config = join(dir, 'region.json');
writeFileSync(
  config,
  JSON.stringify({
    region: 'r',
    warehouses: [{ id: 'w1', location: { lat: 52.5, lon: 13.4 }, radiusKm: 3, slaMinutes: 30 }],
  }),
);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function serve(flags: string[]): Promise<{ code: number; stderr: string }> {
  const args = [
    CLI,
    'serve',
    '--nats',
    'nats://127.0.0.1:1',
    '--config',
    config,
    '--data',
    join(dir, 'data'),
    ...flags,
  ];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 30_000 }, (error, _stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code), stderr });
    });
  });
}

describe('darkstore serve flags', () => {
  it.each([
    [['--checkpoint', 'inlne'], /--checkpoint must be worker, inline or off/],
    [['--metrics-port='], /--metrics-port must be an integer from 0 to 65535/],
    [['--metrics-port', '80x'], /--metrics-port must be an integer from 0 to 65535/],
    [['--metrics-port', '70000'], /--metrics-port must be an integer from 0 to 65535/],
  ])('refuses %j with exit 2', async (flags, message) => {
    const { code, stderr } = await serve(flags);
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(message);
  });
});
