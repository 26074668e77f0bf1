/**
 * The wire format of darkstore over NATS: msgpack bodies, decoded with the untrusted decoder and
 * bounded in size before any field is read. A command request is one command or a batch
 * `{ type: 'batch', commands: [...] }` (each command gets its own result, in order); a reply is a
 * `Result` (for a batch: `{ ok: true, value: { kind: 'batch', results } }`). Input that cannot be
 * decoded, is too large or has the wrong shape gets a VALIDATION_ERROR reply; nothing here throws
 * on input. Pure; never performs I/O.
 */
import {
  decodeUntrusted,
  type EngineError,
  encode,
  limitExceeded,
  limits,
  type Result,
  validationError,
} from '../engine/index.ts';

const { COMMAND_BYTES_MAX } = limits;

/** Largest request body accepted (bytes), a batch included: the engine's bound on decoding untrusted input. */
export const REQUEST_BYTES_MAX = COMMAND_BYTES_MAX;
/** Most commands in one batch request. */
export const BATCH_MAX = 1_024;

export interface BatchRequest {
  type: 'batch';
  commands: unknown[];
}

export type BatchResult = Result<{ kind: 'batch'; results: Result[] }>;

export type DecodedRequest = { ok: true; value: unknown } | { ok: false; error: EngineError };

/** Decodes a request body: bounded, untrusted msgpack. */
export function decodeRequest(body: Uint8Array): DecodedRequest {
  if (body.length === 0) return { ok: false, error: validationError('', 'is empty') };
  if (body.length > REQUEST_BYTES_MAX) {
    return { ok: false, error: validationError('', `is ${body.length} bytes, more than ${REQUEST_BYTES_MAX}`) };
  }
  try {
    return { ok: true, value: decodeUntrusted(body) };
  } catch (error) {
    return { ok: false, error: validationError('', `is not msgpack: ${(error as Error).message}`) };
  }
}

/** A batch request, or undefined when the body is a single command. A malformed batch is an error. */
export function batchOf(request: unknown): unknown[] | undefined | EngineError {
  if (typeof request !== 'object' || request === null || (request as { type?: unknown }).type !== 'batch') {
    return undefined;
  }
  const commands = (request as { commands?: unknown }).commands;
  if (!Array.isArray(commands)) return validationError('commands', 'must be an array');
  if (commands.length === 0 || commands.length > BATCH_MAX) {
    return validationError('commands', `must hold 1 to ${BATCH_MAX} commands`);
  }
  return commands;
}

export function encodeReply(reply: unknown): Uint8Array {
  return encode(reply);
}

export function errorReply(error: EngineError): Uint8Array {
  return encode({ ok: false, error } satisfies Result);
}

/** NATS's default largest message, when the server has not said. */
export const MAX_PAYLOAD_DEFAULT = 1024 * 1024;

/** The reply as encoded, or LIMIT_EXCEEDED when it would not fit in one NATS message of `maxPayload` bytes. */
export function fitReply(body: Uint8Array, maxPayload = MAX_PAYLOAD_DEFAULT): Uint8Array {
  return body.length <= maxPayload ? body : errorReply(limitExceeded('max_payload (reply bytes)', maxPayload));
}
