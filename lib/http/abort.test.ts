import { getEventListeners } from 'node:events';
import { detachedAbort } from './abort';

test('requests in flight on one signal share one listener on it, all follow its abort, and the last to end removes it', () => {
  const deadline = new AbortController();
  const requests = Array.from({ length: 12 }, () => detachedAbort(deadline.signal));
  expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(1);
  requests[0].detach();
  deadline.abort(new Error('deadline'));
  expect(requests.map((request) => request.signal.aborted)).toEqual([false, ...Array(11).fill(true)]);
  expect(requests[5].signal.reason).toEqual(new Error('deadline'));
  for (const request of requests.slice(1)) request.detach();
  expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(0);
});

test('the listener goes when the last request ends, and comes back for the next', () => {
  const deadline = new AbortController();
  const first = detachedAbort(deadline.signal);
  first.detach();
  expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(0);
  const second = detachedAbort(deadline.signal);
  expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(1);
  deadline.abort();
  expect(second.signal.aborted).toBe(true);
  expect(detachedAbort(deadline.signal).signal.aborted).toBe(true);
});
