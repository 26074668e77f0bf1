/**
 * The echo responder of the `nats` suite, run as its own process: answers every request on one
 * subject with the bytes it received, nothing else. This is the ceiling of request/reply through
 * nats-server with a Node client on each side. Prints READY once subscribed; exits on SIGTERM.
 *
 *   node --import tsx bench/nats-echo.ts NATS_URL SUBJECT
 */
import { connect } from '@nats-io/transport-node';

const [url, subject] = process.argv.slice(2);
if (url === undefined || subject === undefined) {
  process.stderr.write('usage: nats-echo.ts NATS_URL SUBJECT\n');
  process.exit(2);
}
const nc = await connect({ servers: url, name: 'darkstore-bench-echo' });
nc.subscribe(subject, {
  callback: (error, msg) => {
    if (error === null) msg.respond(msg.data);
  },
});
await nc.flush();
process.stdout.write('READY\n');
await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
await nc.drain();
