/**
 * The one msgpack codec of darkstore: WAL records, snapshots and replies all go through it, so
 * whatever is written can be read back the same. `undefined` fields are dropped on encode (msgpack
 * has no undefined; keeping them would decode as null and break round trips). Decoding bounds every
 * string, array and map by the command size limit, so hostile input cannot make it allocate much.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { COMMAND_BYTES_MAX } from './limits.ts';

const encoder = new Encoder({ ignoreUndefined: true, initialBufferSize: 4096 });
const decoder = new Decoder();
const boundedDecoder = new Decoder({
  maxStrLength: COMMAND_BYTES_MAX,
  maxBinLength: COMMAND_BYTES_MAX,
  maxArrayLength: COMMAND_BYTES_MAX,
  maxMapLength: COMMAND_BYTES_MAX,
  maxExtLength: COMMAND_BYTES_MAX,
});

/** Encodes plain data to msgpack. The returned bytes are a copy the caller owns. */
export function encode(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/**
 * Encodes into the codec's own buffer and returns a view of it, valid only until the next encode:
 * for writers that copy the bytes at once (the WAL framing), saving an allocation per record.
 */
export function encodeShared(value: unknown): Uint8Array {
  return encoder.encodeSharedRef(value);
}

/** Decodes trusted msgpack (our own WAL and snapshots). Throws on malformed bytes. */
export function decode(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}

/** Decodes untrusted msgpack from the network with every length bounded. Throws on malformed bytes. */
export function decodeUntrusted(bytes: Uint8Array): unknown {
  if (bytes.byteLength > COMMAND_BYTES_MAX) throw new RangeError(`message of ${bytes.byteLength} bytes is too large`);
  return boundedDecoder.decode(bytes);
}
