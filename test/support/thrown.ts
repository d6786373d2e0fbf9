import { SourceFailure } from '../../lib/documents/failures';

/** The error `action` throws; fails the test when it throws nothing. */
export function thrownBy(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('nothing was thrown');
}

/** The SourceFailure a request ends with; fails the test when it succeeds or throws something else. */
export async function sourceFailureOf(request: Promise<unknown>): Promise<SourceFailure> {
  const error = await request.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof SourceFailure)) throw new Error(`expected a SourceFailure, got ${error === undefined ? 'a success' : String(error)}`);
  return error;
}
