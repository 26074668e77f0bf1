/**
 * A real `nats-server` for tests: started on a free loopback port with JetStream and a temporary
 * store directory (optionally with users or a token from a generated config file), stopped and
 * cleaned up afterwards; it can be SIGKILLed and started again on the same port and store (a crash). The binary comes from Debian's package, installed by `npm test`'s pretest
 * (scripts/ensure-tools.mjs). Never a fake.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface NatsServerOptions {
  /** Users allowed (plain user/password); none means no authentication. */
  users?: { user: string; pass: string; permissions?: { publish?: string[]; subscribe?: string[] } }[];
  token?: string;
}

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** SIGKILLs the server (a crash); its store stays for a restart. */
  kill(): Promise<void>;
  /** Starts it again (after killing it if it runs) on the same port, with the same store. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A free TCP port on loopback (the OS picks it; there is a small race, retried by `startNatsServer`). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function binary(): string {
  for (const candidate of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (fs.existsSync(candidate)) return candidate;
  }
  return 'nats-server';
}

function configText(port: number, storeDir: string, options: NatsServerOptions): string {
  const lines = [
    `listen: 127.0.0.1:${port}`,
    `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
    'max_payload: 1048576',
  ];
  if (options.token !== undefined) lines.push(`authorization { token: ${JSON.stringify(options.token)} }`);
  if (options.users !== undefined) {
    const users = options.users.map((u) => {
      const perms = u.permissions === undefined ? '' : `, permissions: ${JSON.stringify(u.permissions)}`;
      return `{ user: ${JSON.stringify(u.user)}, password: ${JSON.stringify(u.pass)}${perms} }`;
    });
    lines.push(`authorization { users: [ ${users.join(', ')} ] }`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs nats-server on a config file; resolves once it is ready to take connections. */
async function spawnServer(configFile: string): Promise<ChildProcess> {
  const child: ChildProcess = spawn(binary(), ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start: ${log}`)), 10_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code}: ${log}`));
    });
  });
  child.stderr?.removeAllListeners('data');
  child.stderr?.resume();
  child.removeAllListeners('exit');
  return child;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

async function startOnce(options: NatsServerOptions): Promise<NatsServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkstore-nats-'));
  const storeDir = path.join(dir, 'store');
  const configFile = path.join(dir, 'nats.conf');
  fs.writeFileSync(configFile, configText(port, storeDir, options));
  let child = await spawnServer(configFile);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    kill: () => stopChild(child, 'SIGKILL'),
    restart: async () => {
      await stopChild(child, 'SIGKILL');
      child = await spawnServer(configFile);
    },
    stop: async () => {
      await stopChild(child, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a nats-server (retrying once if the free port was taken meanwhile). */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  try {
    return await startOnce(options);
  } catch {
    return startOnce(options);
  }
}
