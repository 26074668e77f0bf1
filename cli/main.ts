/**
 * The `darkstore` command line: parses arguments and hands over to one command module. Exit codes:
 * 0 success, 1 a check failed (verify found mismatches, sim oversold or lost an acknowledged order),
 * 2 usage error, 3 an unexpected failure.
 */
import { inspectDataDir, verifyDataDir } from '../persistence/index.ts';
import { SCENARIO_NAMES } from '../sim/index.ts';
import { parseArgs, UsageError } from './args.ts';
import { runDemo } from './demo.ts';
import { runServe, SERVE_FLAGS } from './serve.ts';
import { runSim, SIM_FLAGS, SIM_HOURS_MAX, SIM_SWITCHES, SIM_WAREHOUSES_MAX } from './sim.ts';
import { runWalCut } from './wal-cut.ts';
import { runWriter } from './writer.ts';

/** The column where the help's descriptions start, and their width. */
const HELP_INDENT = 39;
const HELP_TEXT_WIDTH = 60;

/** Wraps words to `width` columns; lines after the first are indented by `indent` spaces. */
function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current !== '' && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current === '' ? word : `${current} ${word}`;
  }
  lines.push(current);
  return lines.join(`\n${' '.repeat(indent)}`);
}

const HELP = `darkstore: fulfillment engine for dark-store delivery

Usage:
  darkstore sim [--scenario NAME] [--seed N] [--warehouses N] [--hours H] [--json] [--report DIR]
          [--nats URL [--speed N] [--start-hour H] [--processes N] [--data DIR]]
                                       simulate a city of dark stores against the embedded engine
                                       (default: scenario default, seed 1, 10 warehouses, 24 h)
                                       and print a summary, or with --json the report as one JSON
                                       object; --report DIR writes DIR/index.html.
                                       Warehouses 1 to ${SIM_WAREHOUSES_MAX}, hours 1 to ${SIM_HOURS_MAX}. With --nats: against
                                       darkstore serve processes it starts on that NATS, at --speed
                                       simulated seconds per second (default 60) from --start-hour,
                                       killing one for region-kill.
                                       Exit 1 when units were oversold or an acknowledged order
                                       was lost.
                                       Scenarios: ${wrap(SCENARIO_NAMES.join(', '), HELP_TEXT_WIDTH - 11, HELP_INDENT + 11)}
  darkstore demo [--data DIR]          scripted warehouse: receive, reserve, commit, crash, recover
  darkstore inspect DIR [--json]       what a data directory holds: snapshot seq, WAL records after
                                       it, warehouses, SKU count, open reservations, ledger rows
  darkstore verify DIR [--repair] [--json]
                                       rebuild stock from the ledger and compare it with the newest
                                       snapshot of every warehouse; --repair writes a rebuilt
                                       snapshot when they disagree (exit 1 on a mismatch left)
  darkstore wal-cut DIR [--warehouse ID] [--yes] [--json]
                                       after a WalCorruptionError on a damaged record: what cutting
                                       each warehouse's WAL at its first damaged frame would take
                                       (records lost unless a snapshot covers them); --yes cuts,
                                       keeping what it takes in DIR/ID/wal-cut-<time>/
  darkstore writer DIR --warehouse ID [--seed N] [--run NAME] [--limit N]
                                       load writer printing one ACK line per durable command
                                       (used by the crash tests and the demo)
  darkstore serve --config FILE --data DIR [--nats URL[,URL]] [--metrics-port N] [--pretty]
          [--user U --pass P | --token T | --nkey-seed FILE | --creds FILE]
          [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--checkpoint worker|inline|off]
                                       the region process: hosts the config's warehouses behind
                                       NATS until SIGTERM/SIGINT (graceful: drain, snapshot, close)
  darkstore --help                     this text
`;

const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);

function dataDirOf(positionals: string[]): string {
  const dir = positionals[0];
  if (dir === undefined) throw new UsageError('a data directory is required');
  return dir;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    out(HELP);
    return command === undefined ? 2 : 0;
  }
  switch (command) {
    case 'demo': {
      const args = parseArgs(rest, ['data'], []);
      const data = args.flags.get('data');
      await runDemo(typeof data === 'string' ? data : undefined);
      return 0;
    }
    case 'inspect': {
      const args = parseArgs(rest, [], ['json']);
      const report = inspectDataDir(dataDirOf(args.positionals));
      if (args.flags.has('json')) out(JSON.stringify(report));
      else if (report.length === 0) out('no warehouses in this directory');
      else {
        for (const w of report) {
          out(
            `${w.warehouseId}: snapshot seq ${w.snapshot?.walSeq ?? '-'} (${w.snapshots} kept), ` +
              `${w.walRecordsAfterSnapshot} WAL records after it in ${w.walSegments} segment(s) of ${w.walBytes} bytes, ` +
              `${w.skuCount} SKUs, ${w.openReservations} open reservations, ${w.ledgerRows} ledger rows`,
          );
        }
      }
      return 0;
    }
    case 'verify': {
      const args = parseArgs(rest, [], ['json', 'repair']);
      const report = verifyDataDir(dataDirOf(args.positionals), args.flags.has('repair'));
      if (args.flags.has('json')) out(JSON.stringify(report));
      let failed = false;
      for (const v of report) {
        const fixed = v.repaired !== undefined;
        const bad = (v.mismatches.length > 0 && !fixed) || !v.ledgerComplete;
        failed ||= bad;
        if (args.flags.has('json')) continue;
        out(
          `${v.warehouseId}: ${v.skusChecked} SKUs checked against ${v.ledgerRows} ledger rows: ` +
            `${v.mismatches.length} mismatch(es)${fixed ? `, rebuilt as snapshot ${v.repaired?.id}` : ''}` +
            `${v.ledgerComplete ? '' : ', ledger incomplete'}` +
            `${v.damagedSnapshots.length > 0 ? `, damaged snapshots skipped: ${v.damagedSnapshots.map((d) => `${d.id} (${d.reason})`).join(', ')}` : ''}`,
        );
        for (const m of v.mismatches.slice(0, 20)) {
          out(
            `  ${m.sku}: snapshot onHand ${m.snapshot.onHand} reserved ${m.snapshot.reserved}; ledger onHand ${m.ledger.onHand} reserved ${m.ledger.reserved}; held ${m.held}`,
          );
        }
      }
      return failed ? 1 : 0;
    }
    case 'wal-cut':
      return runWalCut(parseArgs(rest, ['warehouse'], ['yes', 'json']));
    case 'serve':
      return runServe(parseArgs(rest, SERVE_FLAGS, ['pretty']));
    case 'sim':
      return runSim(parseArgs(rest, SIM_FLAGS, SIM_SWITCHES));
    case 'writer': {
      const args = parseArgs(rest, ['warehouse', 'seed', 'run', 'limit'], []);
      const flag = (name: string, fallback: string) => {
        const v = args.flags.get(name);
        return typeof v === 'string' ? v : fallback;
      };
      const limit = Number(flag('limit', String(Number.MAX_SAFE_INTEGER)));
      await runWriter(
        dataDirOf(args.positionals),
        flag('warehouse', 'W1'),
        Number(flag('seed', '1')),
        flag('run', 'run'),
        limit,
      );
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`darkstore: ${error.message}\n\n${HELP}`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`darkstore: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 3;
    }
  },
);
