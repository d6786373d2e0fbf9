/** A read shared by every caller for `ttlMs`, per key. */
export type ExpiringCache<T> = (key: string, read: () => Promise<T>) => Promise<T>;

/**
 * Many viewers refreshing at once share one reading of InfluxDB. A failed read is forgotten, so the next
 * request tries again; a clock that went back (a test's injected one) reads again too.
 */
export function expiringCache<T>(ttlMs: number, now: () => number): ExpiringCache<T> {
  const entries = new Map<string, { readAtMs: number; value: Promise<T> }>();
  return (key, read) => {
    const nowMs = now();
    const cached = entries.get(key);
    if (cached && nowMs >= cached.readAtMs && nowMs - cached.readAtMs < ttlMs) return cached.value;
    const entry = { readAtMs: nowMs, value: read() };
    entries.set(key, entry);
    // Only this entry: a newer read of the same key may have replaced it meanwhile.
    entry.value.catch(() => entries.get(key) === entry && entries.delete(key));
    return entry.value;
  };
}
