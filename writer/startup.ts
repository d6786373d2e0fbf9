/**
 * A writer's start: NATS may not listen yet, or JetStream may not answer (no meta leader right after a
 * cluster start, an API timeout, a server down). Each step is tried again with a capped backoff until
 * it works or the writer is stopped; only what no retry can fix ends the start.
 */
import { ConfigError } from '../lib/config/config';
import type { Logger } from '../lib/run/log';
import { StreamSetupError } from '../lib/stream/streams';

/** The first wait after a failed attempt, doubled after each further one up to MAX_RETRY_MS. */
export const FIRST_RETRY_MS = 500;
/** Bounded: the writer should be at work soon after NATS comes back. */
export const MAX_RETRY_MS = 10_000;

/** Bad settings, or a stream JetStream will never make as [stream] describes it: no retry helps. */
export function isPermanent(error: unknown): boolean {
  return error instanceof ConfigError || (error instanceof StreamSetupError && !error.transient);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * `attempt()` until it resolves; undefined once `signal` aborted. A permanent error (isPermanent) is
 * thrown at once; any other is logged once per distinct message (the repeats at debug level) and tried
 * again after a wait that doubles from FIRST_RETRY_MS up to MAX_RETRY_MS.
 */
export async function retryUntilReady<T>(what: string, attempt: () => Promise<T>, options: { signal: AbortSignal; log: Logger; firstDelayMs?: number; maxDelayMs?: number }): Promise<T | undefined> {
  const { signal, log } = options;
  let wait = options.firstDelayMs ?? FIRST_RETRY_MS;
  const maxDelayMs = options.maxDelayMs ?? MAX_RETRY_MS;
  let warned: string | undefined;
  let failures = 0;
  while (!signal.aborted) {
    try {
      const result = await attempt();
      if (failures) log.info(`${what}: done after ${failures} failed attempts`);
      return result;
    } catch (error) {
      // Stopped while trying: the failure may be the stop itself.
      if (signal.aborted) return undefined;
      if (isPermanent(error)) throw error;
      failures++;
      const reason = (error as Error).message;
      if (reason !== warned) {
        warned = reason;
        log.warn(`${what} failed, trying again (every ${maxDelayMs / 1000} s at most) until it works or the writer is stopped: ${reason}`);
      } else log.debug(`${what}: attempt ${failures} failed: ${reason}`);
    }
    await sleep(wait, signal);
    wait = Math.min(wait * 2, maxDelayMs);
  }
  return undefined;
}
