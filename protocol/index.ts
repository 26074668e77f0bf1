/**
 * Public surface of the wire protocol shared by the region process and its clients: the subject
 * scheme, the request/reply format and its bounds, and NATS connection settings (auth, TLS). Light
 * on purpose: a client imports this, not the region process.
 */
export {
  connectNats,
  type NatsAuthOptions,
  type NatsConnectOptions,
  natsOptions,
  PING_INTERVAL_MS,
} from './connect.ts';
export * from './subjects.ts';
export {
  BATCH_MAX,
  type BatchRequest,
  type BatchResult,
  batchOf,
  type DecodedRequest,
  decodeRequest,
  encodeReply,
  errorReply,
  fitReply,
  MAX_PAYLOAD_DEFAULT,
  REQUEST_BYTES_MAX,
} from './wire.ts';
