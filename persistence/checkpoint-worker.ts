/**
 * Worker-thread entry of the checkpointer: owns one SnapshotWriter and answers
 * `{ id, throughSeq }` requests with `{ id, result }` or `{ id, error }`. Runs off the command loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SnapshotWriter } from './snapshot-writer.ts';

interface Init {
  dataDir: string;
  warehouseId: string;
}

const port = parentPort;
if (port === null) throw new Error('checkpoint-worker must run in a worker thread');
const init = workerData as Init;
const writer = new SnapshotWriter(init.dataDir, init.warehouseId);

port.on('message', (message: { id: number; throughSeq: number } | { close: true }) => {
  if ('close' in message) {
    writer.close();
    port.close();
    return;
  }
  try {
    port.postMessage({ id: message.id, result: writer.checkpoint(message.throughSeq) });
  } catch (error) {
    port.postMessage({ id: message.id, error: String((error as Error).stack ?? error) });
  }
});
port.postMessage({ ready: true });
