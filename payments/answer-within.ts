/**
 * A provider's answer, or a stand-in once a wall-clock bound passed without one: for calls to
 * outside services (a payment gateway, a push or SMS provider) that may hang. The call itself is not
 * cancelled; its late answer is ignored. The timer never keeps the process alive on its own.
 */
export function answerWithin<T>(call: Promise<T>, timeoutMs: number, late: () => T): Promise<T> {
  if (!Number.isFinite(timeoutMs)) return call;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late()), timeoutMs);
    timer.unref();
  });
  return Promise.race([call, bound]).finally(() => clearTimeout(timer));
}
