/**
 * A payment provider for crash tests whose memory survives the process that calls it being killed:
 * the semantics of `SimulatedPaymentProvider` (idempotent by key: a repeated key answers the first
 * outcome and moves no money; a capture, void or refund is checked against its authorization) kept
 * in an append-only journal file, one JSON line per answered call, fsynced before the answer is
 * returned and loaded again at start. Every answered call is journaled, repeats included, so a test
 * can count what each order was held, captured, voided and refunded, and prove nothing moved twice.
 * Tokens ending in `-decline` are declined. Optional latency (real timers) before the money moves
 * and after, so that a kill can land while a call is in flight or after the provider answered but
 * before the caller heard. Test-only: one process writes the journal at a time.
 */
import * as fs from 'node:fs';
import type { AuthorizeRequest, PaymentGateway, PaymentResult } from '../../payments/index.ts';
import { Random } from '../../sim/index.ts';

export type JournalOperation = 'authorize' | 'capture' | 'void' | 'refund';

/** One answered call, as its journal line. */
export interface JournalEntry {
  key: string;
  operation: JournalOperation;
  orderId: string;
  authorizationId?: string;
  amountCents: number;
  /** The key was answered before: this call got the first outcome again and moved no money. */
  repeat: boolean;
  outcome: PaymentResult<unknown>;
  pid: number;
}

/** What the provider tells its observer about a call: when it arrives and once it is answered. */
export interface CallNotice {
  phase: 'called' | 'answered';
  operation: JournalOperation;
  orderId: string;
  key: string;
  outcome?: PaymentResult<unknown>;
  repeat?: boolean;
}

export interface JournaledProviderOptions {
  file: string;
  seed: number;
  /** Real milliseconds before the money moves and after it moved, each drawn from [min, max]. */
  latencyMs?: { min: number; max: number };
  onCall?: (notice: CallNotice) => void;
}

interface Authorization {
  orderId: string;
  heldCents: number;
  capturedCents: number;
  refundedCents: number;
  voided: boolean;
}

/** The suffix of a payment token the provider declines. */
export const DECLINE_SUFFIX = '-decline';

/** Reads a journal; a line cut short by a kill (no newline after it) is not an answer and is dropped. */
export function readJournal(file: string): JournalEntry[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  const end = text.lastIndexOf('\n');
  if (end < 0) return [];
  return text
    .slice(0, end)
    .split('\n')
    .map((line) => JSON.parse(line) as JournalEntry);
}

/** The order a provider key names (`<warehouse>:<order>:<operation>`). */
function orderOfKey(key: string): string {
  const parts = key.split(':');
  return parts.slice(1, -1).join(':');
}

export class JournaledPaymentProvider implements PaymentGateway {
  readonly authorizations = new Map<string, Authorization>();
  private readonly outcomes = new Map<string, PaymentResult<unknown>>();
  private readonly random: Random;
  private readonly fd: number;

  constructor(private readonly options: JournaledProviderOptions) {
    this.random = new Random(options.seed);
    if (fs.existsSync(options.file)) {
      // Drop a torn last line so the next append starts on a line of its own.
      const text = fs.readFileSync(options.file, 'utf8');
      fs.truncateSync(options.file, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
    }
    for (const entry of readJournal(options.file)) if (!entry.repeat) this.replay(entry);
    this.fd = fs.openSync(options.file, 'a');
  }

  /** Closes the journal file. */
  close(): void {
    fs.closeSync(this.fd);
  }

  private replay(entry: JournalEntry): void {
    this.outcomes.set(entry.key, entry.outcome);
    if (!entry.outcome.ok) return;
    if (entry.operation === 'authorize') {
      const { authorizationId } = entry.outcome.value as { authorizationId: string };
      this.authorizations.set(authorizationId, {
        orderId: entry.orderId,
        heldCents: entry.amountCents,
        capturedCents: 0,
        refundedCents: 0,
        voided: false,
      });
      return;
    }
    const auth = this.authorizations.get(entry.authorizationId ?? '');
    if (auth === undefined) return;
    if (entry.operation === 'capture') auth.capturedCents = entry.amountCents;
    else if (entry.operation === 'void') auth.voided = true;
    else auth.refundedCents += entry.amountCents;
  }

  private async sleep(): Promise<void> {
    const latency = this.options.latencyMs;
    if (latency === undefined) return;
    const ms = this.random.int(latency.min, latency.max);
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  /**
   * Latency, then the idempotent decision and its journal line (the money moves here, at once
   * with the line), then latency again before the caller hears the answer.
   */
  private async call<T>(
    entry: Omit<JournalEntry, 'repeat' | 'outcome' | 'pid'>,
    decide: () => PaymentResult<T>,
  ): Promise<PaymentResult<T>> {
    const { operation, orderId, key } = entry;
    this.options.onCall?.({ phase: 'called', operation, orderId, key });
    await this.sleep();
    const earlier = this.outcomes.get(key);
    const repeat = earlier !== undefined;
    const outcome = (earlier ?? decide()) as PaymentResult<T>;
    const line: JournalEntry = { ...entry, repeat, outcome, pid: process.pid };
    fs.appendFileSync(this.fd, `${JSON.stringify(line)}\n`);
    fs.fsyncSync(this.fd);
    if (!repeat) this.replay(line);
    this.options.onCall?.({ phase: 'answered', operation, orderId, key, outcome, repeat });
    await this.sleep();
    return outcome;
  }

  authorize(request: AuthorizeRequest): Promise<PaymentResult<{ authorizationId: string }>> {
    const { idempotencyKey: key, orderId, amountCents, paymentToken } = request;
    return this.call({ key, operation: 'authorize', orderId, amountCents }, () => {
      if (paymentToken.endsWith(DECLINE_SUFFIX)) return { ok: false, reason: 'declined', message: 'card declined' };
      return { ok: true, value: { authorizationId: `auth-${orderId}-${this.authorizations.size + 1}` } };
    });
  }

  capture(key: string, authorizationId: string, amountCents: number) {
    const orderId = this.authorizations.get(authorizationId)?.orderId ?? orderOfKey(key);
    return this.call({ key, operation: 'capture', orderId, authorizationId, amountCents }, () => {
      const auth = this.authorizations.get(authorizationId);
      if (auth === undefined || auth.voided || auth.capturedCents > 0 || amountCents > auth.heldCents) {
        return fail(`cannot capture ${amountCents} on ${authorizationId}`);
      }
      return { ok: true, value: { capturedCents: amountCents } };
    });
  }

  void(key: string, authorizationId: string) {
    const orderId = this.authorizations.get(authorizationId)?.orderId ?? orderOfKey(key);
    return this.call({ key, operation: 'void', orderId, authorizationId, amountCents: 0 }, () => {
      const auth = this.authorizations.get(authorizationId);
      if (auth === undefined || auth.capturedCents > 0) return fail(`cannot void ${authorizationId}`);
      return { ok: true, value: { voided: true as const } };
    });
  }

  refund(key: string, authorizationId: string, amountCents: number) {
    const orderId = this.authorizations.get(authorizationId)?.orderId ?? orderOfKey(key);
    return this.call({ key, operation: 'refund', orderId, authorizationId, amountCents }, () => {
      const auth = this.authorizations.get(authorizationId);
      if (auth === undefined || auth.refundedCents + amountCents > auth.capturedCents) {
        return fail(`cannot refund ${amountCents} on ${authorizationId}`);
      }
      return { ok: true, value: { refundedCents: amountCents } };
    });
  }
}

function fail(message: string): { ok: false; reason: 'declined'; message: string } {
  return { ok: false, reason: 'declined', message };
}
