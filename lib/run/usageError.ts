/** Bad usage: a missing or unreadable argument (exit status 2). Its own module: every run's start-up loads it. */
export class UsageError extends Error {
  override name = 'UsageError';
}
