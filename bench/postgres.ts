/**
 * The PostgreSQL baseline of the `nats` suite: the same reservations done as conditional UPDATEs
 * (`reserved = reserved + 1 WHERE sku = $1 AND on_hand - reserved >= 1`, one autocommit transaction
 * each) by as many client connections as the NATS client keeps requests in flight, on rows chosen
 * uniformly among the SKUs and on one hot row. Each is run twice: by node-postgres through the same
 * load driver as the NATS rows (HDR p50/p99), and by pgbench (bench/pgbench.ts); a row's value is
 * the higher of the two rates, so the engine is compared with the best PostgreSQL did. Against the
 * server of `--pg URL`, or a throwaway cluster (bench/pg-cluster.ts). When neither is possible the
 * rows are skipped with the reason, never failing the suite. Creates and drops only its own table.
 */
import pg from 'pg';
import { seededSku } from '../service/index.ts';
import { Random } from '../sim/index.ts';
import { fmt } from './measure.ts';
import { closedLoop, type LoadResult } from './nats-load.ts';
import { type PgCluster, startPgCluster } from './pg-cluster.ts';
import { PGBENCH_THREADS, type PgbenchResult, type PgbenchTarget, runPgbench } from './pgbench.ts';
import type { Row, SuiteContext } from './suite.ts';

const TABLE = 'darkstore_bench_stock';
/** Units per row: no reservation of a run ever runs short. */
const ON_HAND = 1_000_000_000;
/** nats.reserve.hot should be at least this many times the hot row's rate: PostgreSQL's row stays below 1/5. */
const HOT_VS_NATS_TARGET = 1 / 5;
const SEED = 0x9e5;

interface Budget {
  warmupMs: number;
  timeMs: number;
}

/** What the clients connect to, and how to undo it afterwards. */
interface Server {
  config: pg.ClientConfig;
  describe: string;
  pgbench: PgbenchTarget;
  stop(): void;
}

function server(ctx: SuiteContext): Server {
  if (ctx.pgUrl !== undefined) {
    return {
      config: { connectionString: ctx.pgUrl },
      describe: 'the server of --pg',
      pgbench: { binDir: undefined, connection: ctx.pgUrl, table: TABLE },
      stop: () => undefined,
    };
  }
  const cluster: PgCluster = startPgCluster(ctx.tempDir('darkstore-bench-pg-'));
  return {
    config: { host: cluster.host, port: cluster.port, user: cluster.user, database: 'postgres' },
    describe: `a throwaway cluster (${cluster.binDir}, defaults: fsync on, synchronous_commit on, Unix socket)`,
    pgbench: {
      binDir: cluster.binDir,
      connection: `host=${cluster.host} port=${cluster.port} user=${cluster.user} dbname=postgres`,
      table: TABLE,
    },
    stop: () => cluster.stop(),
  };
}

async function createTable(client: pg.Client, skus: number): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await client.query(
    `CREATE TABLE ${TABLE} (sku text PRIMARY KEY, on_hand bigint NOT NULL, reserved bigint NOT NULL DEFAULT 0)`,
  );
  const ids = Array.from({ length: skus }, (_, i) => seededSku(i));
  await client.query(`INSERT INTO ${TABLE} (sku, on_hand) SELECT unnest($1::text[]), $2`, [ids, ON_HAND]);
  await client.query(`VACUUM ANALYZE ${TABLE}`);
}

/** Keeps `clients.length` UPDATEs in flight, one per connection, on the rows `skuOf` names. */
function reserveLoad(clients: pg.Client[], b: Budget, skuOf: (n: number) => string): Promise<LoadResult> {
  const idle = [...clients];
  const text = `UPDATE ${TABLE} SET reserved = reserved + 1 WHERE sku = $1 AND on_hand - reserved >= 1`;
  return closedLoop(
    {
      ...b,
      send: async (n) => {
        const client = idle.pop();
        if (client === undefined) throw new Error('more requests in flight than connections');
        try {
          return await client.query({ name: 'reserve', text, values: [skuOf(n)] });
        } finally {
          idle.push(client);
        }
      },
      check: (result) => {
        if (result.rowCount !== 1) throw new Error(`UPDATE changed ${result.rowCount} rows, not 1`);
        return 1;
      },
    },
    clients.length,
  );
}

/** One baseline (uniform or hot) measured both ways. */
interface Measured {
  node: LoadResult;
  pgbench: PgbenchResult;
}

/** Measures both baselines on one server, node-postgres first, then pgbench; drops the table after. */
async function measureOn(ctx: SuiteContext, s: Server, b: Budget, connections: number, skus: number) {
  const admin = new pg.Client(s.config);
  await admin.connect();
  const clients: pg.Client[] = [];
  try {
    const version = ((await admin.query('SHOW server_version')).rows[0] as { server_version: string }).server_version;
    await createTable(admin, skus);
    for (let i = 0; i < connections; i++) {
      const client = new pg.Client(s.config);
      await client.connect();
      clients.push(client);
    }
    // Each run starts on a vacuumed table, so none inherits the dead row versions of the one before.
    const vacuum = () => admin.query(`VACUUM ${TABLE}`);
    const random = new Random(SEED);
    ctx.log('nats: PostgreSQL baseline, uniform rows (node-postgres)');
    const uniform = await reserveLoad(clients, b, () => seededSku(random.int(0, skus - 1)));
    await vacuum();
    ctx.log('nats: PostgreSQL baseline, hot row (node-postgres)');
    const hot = await reserveLoad(clients, b, () => seededSku(0));
    // pgbench opens as many connections again: these go first, so a server's max_connections fits both.
    await Promise.all(clients.splice(0).map((c) => c.end()));
    const scripts = ctx.tempDir('darkstore-bench-pgbench-');
    const seconds = Math.max(1, Math.round(b.timeMs / 1_000));
    const pgbench = async (hot: boolean): Promise<PgbenchResult> => {
      if (ctx.quick) return { ok: false, reason: 'pgbench not run (--quick)' };
      await vacuum();
      return runPgbench(s.pgbench, scripts, hot, connections, skus, seconds);
    };
    if (!ctx.quick) ctx.log('nats: PostgreSQL baseline, uniform and hot (pgbench)');
    const pgbenchUniform = await pgbench(false);
    const pgbenchHot = await pgbench(true);
    await admin.query(`DROP TABLE ${TABLE}`);
    return {
      version,
      uniform: { node: uniform, pgbench: pgbenchUniform } satisfies Measured,
      hot: { node: hot, pgbench: pgbenchHot } satisfies Measured,
    };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await admin.end().catch(() => undefined);
  }
}

/** The row's value (the higher rate of the two clients: the stronger baseline) and both runs, for the note. */
function valueAndNote(m: Measured, connections: number): { value: number; note: string } {
  const l = m.node;
  const node =
    `node-postgres (prepared, through the NATS rows' load driver) ${fmt(l.requestsPerSec)} tx/s, ` +
    `${fmt(l.requests)} transactions in ${fmt(l.elapsedMs / 1_000, 1)} s, latency p50 ${fmt(l.p50Ms, 2)} ms, ` +
    `p99 ${fmt(l.p99Ms, 2)} ms, max ${fmt(l.maxMs, 1)} ms`;
  if (!m.pgbench.ok) return { value: l.requestsPerSec, note: `${node}; ${m.pgbench.reason}` };
  const p = m.pgbench;
  const pgbench =
    `pgbench (C client, ${connections} connections, ${PGBENCH_THREADS} threads, prepared) ${fmt(p.txPerSec)} ` +
    `tx/s, mean latency ${fmt(p.latencyMeanMs, 2)} ms`;
  const value = Math.max(p.txPerSec, l.requestsPerSec);
  return { value, note: `the higher of ${pgbench} and ${node}` };
}

/**
 * `baseline.postgres.uniform` and `baseline.postgres.hot` (tx/s), each compared with the NATS row it
 * stands beside; none when PostgreSQL cannot be reached or started (the reason goes to the log).
 */
export async function postgresRows(ctx: SuiteContext, b: Budget, connections: number, skus: number): Promise<Row[]> {
  let s: Server;
  try {
    s = server(ctx);
  } catch (error) {
    ctx.log(`nats: PostgreSQL baseline skipped: ${(error as Error).message}`);
    return [];
  }
  try {
    const { version, uniform, hot } = await measureOn(ctx, s, b, connections, skus);
    const how = `PostgreSQL ${version} on ${s.describe}, one autocommit conditional UPDATE per reservation`;
    const u = valueAndNote(uniform, connections);
    const h = valueAndNote(hot, connections);
    return [
      {
        id: 'baseline.postgres.uniform',
        value: u.value,
        unit: 'tx/s',
        baseline: 'nats.reserve.uniform',
        note: `${how}, on one of ${fmt(skus)} rows uniformly; ${u.note}.`,
      },
      {
        id: 'baseline.postgres.hot',
        value: h.value,
        unit: 'tx/s',
        baseline: 'nats.reserve.hot',
        ratioTarget: { op: '<', value: HOT_VS_NATS_TARGET },
        note:
          `${how}, every one on the same row; ${h.note}. The target is the issue's "nats.reserve.hot ≥ 5× ` +
          `PostgreSQL on the hot row", read from this side.`,
      },
    ];
  } catch (error) {
    ctx.log(`nats: PostgreSQL baseline skipped: ${(error as Error).message}`);
    return [];
  } finally {
    try {
      s.stop();
    } catch (error) {
      ctx.log(`nats: stopping PostgreSQL failed: ${(error as Error).message}`);
    }
  }
}
