/**
 * A throwaway PostgreSQL cluster for the benchmark's baseline: `initdb` in a temp dir, started with
 * `pg_ctl` on a Unix socket inside that dir (no TCP port), stopped when the bench is done; the
 * runner deletes the dir. PostgreSQL refuses to run as root, so as root the server's programs run as
 * the `postgres` user (Debian's package creates it). Default durability settings (fsync on,
 * synchronous_commit on), as pgbench's reference numbers were taken. Throws with the reason when
 * there is no PostgreSQL to start; the caller skips the baseline then.
 */
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where Debian's packages put the server programs, one directory per major version. */
const DEBIAN_ROOT = '/usr/lib/postgresql';
const OTHER_BIN_DIRS = ['/usr/local/bin', '/usr/bin', '/usr/local/pgsql/bin'];
/** The socket's file name carries a port number; the socket lives in the cluster's own dir. */
const SOCKET_PORT = 5432;
const START_TIMEOUT_SEC = 60;

export interface PgCluster {
  /** Directory of the Unix socket (a `host` for node-postgres). */
  host: string;
  port: number;
  user: string;
  /** The server programs' directory (pgbench lives there too, when installed). */
  binDir: string;
  stop(): void;
}

/** The directory holding initdb and pg_ctl, newest Debian version first. */
function binDir(): string | undefined {
  const debian = existsSync(DEBIAN_ROOT)
    ? readdirSync(DEBIAN_ROOT)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => join(DEBIAN_ROOT, v, 'bin'))
    : [];
  return [...debian, ...OTHER_BIN_DIRS].find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl')));
}

/** uid and gid of a user, from /etc/passwd. */
function userIds(name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  const fields = line?.split(':');
  if (fields === undefined || fields.length < 4) return undefined;
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/**
 * Starts a cluster in `dir` (which must be empty and removed by the caller afterwards). Throws with
 * the reason when PostgreSQL is not installed or does not start.
 */
export function startPgCluster(dir: string): PgCluster {
  const bin = binDir();
  if (bin === undefined) {
    throw new Error(
      `no initdb/pg_ctl under ${DEBIAN_ROOT}/*/bin or ${OTHER_BIN_DIRS.join(', ')} (npm run bench installs Debian's postgresql)`,
    );
  }
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const ids = asRoot ? userIds('postgres') : undefined;
  if (asRoot && ids === undefined) throw new Error('PostgreSQL will not run as root and there is no postgres user');
  if (ids !== undefined) chownSync(dir, ids.uid, ids.gid);
  const user = asRoot ? 'postgres' : (process.env.USER ?? 'postgres');
  const options: SpawnSyncOptions = { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, ...ids };
  const run = (program: string, args: string[]) => {
    const result = spawnSync(join(bin, program), args, options);
    if (result.status !== 0) {
      const log = existsSync(join(dir, 'server.log'))
        ? readFileSync(join(dir, 'server.log'), 'utf8').slice(-2_000)
        : '';
      throw new Error(`${program} failed (${result.status ?? result.error?.message}): ${result.stderr}${log}`);
    }
  };
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', user, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  appendFileSync(
    join(data, 'postgresql.conf'),
    [
      `listen_addresses = ''`,
      `unix_socket_directories = '${dir}'`,
      `port = ${SOCKET_PORT}`,
      'max_connections = 100',
      '',
    ].join('\n'),
  );
  run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', String(START_TIMEOUT_SEC), 'start']);
  return {
    host: dir,
    port: SOCKET_PORT,
    user,
    binDir: bin,
    stop: () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
  };
}
