/** The requests in flight that follow one shared signal (a job's deadline), and its one listener. */
interface Following {
  requests: Set<AbortController>;
  listener: () => void;
}
const followers = new WeakMap<AbortSignal, Following>();

/**
 * A signal of its own for one request, following `signal`, with `detach` to call at the end: got leaves its
 * abort listener on the signal it is given, so a signal shared by many requests would collect them. The
 * requests in flight on one signal share one listener on it, removed when the last one detaches.
 */
export function detachedAbort(signal: AbortSignal | undefined): { signal: AbortSignal; detach: () => void } {
  const request = new AbortController();
  if (!signal) return { signal: request.signal, detach: () => undefined };
  if (signal.aborted) {
    request.abort(signal.reason);
    return { signal: request.signal, detach: () => undefined };
  }
  let following = followers.get(signal);
  if (!following) {
    const requests = new Set<AbortController>();
    const listener = (): void => {
      for (const follower of requests) follower.abort(signal.reason);
    };
    following = { requests, listener };
    followers.set(signal, following);
    signal.addEventListener('abort', listener, { once: true });
  }
  const shared = following;
  shared.requests.add(request);
  return {
    signal: request.signal,
    detach: () => {
      shared.requests.delete(request);
      if (shared.requests.size > 0 || followers.get(signal) !== shared) return;
      signal.removeEventListener('abort', shared.listener);
      followers.delete(signal);
    },
  };
}
