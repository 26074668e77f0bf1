#!/usr/bin/env node
/**
 * Installs the system tools the tests need when they are missing: `nats-server` (Debian's package,
 * with JetStream). Run by `npm test` (pretest) so the suite works on a fresh machine; `--bench` also
 * installs PostgreSQL for the benchmark's baseline. Uses apt-get (with sudo when not root). Prints
 * what it did; fails with a clear message when it cannot install.
 */
import { execFileSync, spawnSync } from 'node:child_process';

const wanted = [{ command: 'nats-server', pkg: 'nats-server' }];
if (process.argv.includes('--bench')) wanted.push({ command: 'pg_ctlcluster', pkg: 'postgresql' });

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

const missing = wanted.filter((w) => !onPath(w.command) && !onPath(`/usr/sbin/${w.command}`));
if (missing.length === 0) process.exit(0);

const packages = missing.map((m) => m.pkg);
const root = typeof process.getuid === 'function' && process.getuid() === 0;
const prefix = root ? [] : ['sudo', '-n'];
console.error(`ensure-tools: installing ${packages.join(', ')} with apt-get`);
try {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) =>
    execFileSync(prefix[0] ?? args[0], prefix.length > 0 ? [...prefix.slice(1), ...args] : args.slice(1), {
      stdio: 'inherit',
      env,
    });
  const install = () => run(['apt-get', 'install', '-y', '--no-install-recommends', ...packages]);
  try {
    install();
  } catch {
    run(['apt-get', 'update']);
    install();
  }
} catch (error) {
  console.error(`ensure-tools: could not install ${packages.join(', ')}: ${error.message}`);
  console.error('Install them by hand (Debian: apt-get install nats-server) and run the tests again.');
  process.exit(1);
}
