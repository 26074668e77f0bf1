#!/usr/bin/env node
/**
 * Installs the system tools the tests need when they are missing: `nats-server` (Debian's package,
 * with JetStream) and, for the tests only, Debian's `chromium` (test/sim renders the simulator's
 * HTML report in it headless). Run by `npm test` (pretest) so the suite works on a fresh machine;
 * `--bench` (prebench) also installs PostgreSQL's server for the `nats` suite's baseline. Uses
 * apt-get (with sudo when not root). Prints what it did; for the tests, fails with a clear message
 * when it cannot install; for the bench, only warns (the suites that need a missing tool skip or
 * report it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const bench = process.argv.includes('--bench');

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Debian's server packages put initdb under /usr/lib/postgresql/<major>/bin, off the PATH. */
function postgresInstalled() {
  const root = '/usr/lib/postgresql';
  const debian = existsSync(root) && readdirSync(root).some((v) => existsSync(`${root}/${v}/bin/initdb`));
  return debian || onPath('initdb');
}

const wanted = [{ pkg: 'nats-server', present: () => onPath('nats-server') || existsSync('/usr/sbin/nats-server') }];
if (bench) wanted.push({ pkg: 'postgresql', present: postgresInstalled });
// The HTML report test runs `/usr/bin/chromium --headless` by that exact path, so check the path.
else wanted.push({ pkg: 'chromium', present: () => existsSync('/usr/bin/chromium') });

const missing = wanted.filter((w) => !w.present());
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
  console.error(`Install them by hand (Debian: apt-get install ${packages.join(' ')}) and run again.`);
  if (bench) console.error('ensure-tools: going on; the nats suite needs nats-server and skips PostgreSQL without it.');
  process.exit(bench ? 0 : 1);
}
