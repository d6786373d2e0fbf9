/**
 * The in-flight budget: the body bytes of all requests being read, parsed and written at once. A
 * request's memory (its body, the parsed documents, their line protocol) grows with its body, so
 * bounding the sum of the bodies in flight bounds the gateway's memory under parallel load.
 */
export class InflightBudget {
  private used = 0;
  /** The most ever in flight at once: never above `limit`. */
  peak = 0;

  constructor(
    readonly limit: number,
    private readonly onChange: (used: number, peak: number) => void = () => undefined,
  ) {}

  get inFlight(): number {
    return this.used;
  }

  /** A request's share, empty until it grows; release it when the request is answered. */
  reservation(): BodyReservation {
    return new BodyReservation(this);
  }

  /** Takes `bytes` more if they fit under the limit. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    this.peak = Math.max(this.peak, this.used);
    this.onChange(this.used, this.peak);
    return true;
  }

  give(bytes: number): void {
    this.used -= bytes;
    this.onChange(this.used, this.peak);
  }
}

/** One request's bytes of the budget. */
export class BodyReservation {
  private held = 0;

  constructor(private readonly budget: InflightBudget) {}

  get bytes(): number {
    return this.held;
  }

  /** The most this reservation could reach now: what it holds and what is free. */
  reachable(): number {
    return this.held + this.budget.limit - this.budget.inFlight;
  }

  /** Grows the reservation to `total` bytes; false (and unchanged) when the budget has no room for it. */
  grow(total: number): boolean {
    if (total <= this.held) return true;
    if (!this.budget.take(total - this.held)) return false;
    this.held = total;
    return true;
  }

  release(): void {
    if (this.held > 0) this.budget.give(this.held);
    this.held = 0;
  }
}
