/**
 * Token bucket for inline retries: at most `perSecond` retries a second on average, bursts up to
 * `perSecond`, so a storm of deadlocks cannot amplify load on the server.
 */
export class RetryBudget {
  private tokensLeft: number;
  private last: number;
  exhausted = 0;

  constructor(
    private perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokensLeft = perSecond;
    this.last = now();
  }

  setRate(perSecond: number): void {
    this.refill();
    this.perSecond = perSecond;
    this.tokensLeft = Math.min(this.tokensLeft, perSecond);
  }

  private refill(): void {
    const t = this.now();
    const elapsed = (t - this.last) / 1000;
    this.last = t;
    this.tokensLeft = Math.min(this.perSecond, this.tokensLeft + elapsed * this.perSecond);
  }

  /** Take one token; false when the budget is spent (the caller passes the error through). */
  tryTake(): boolean {
    this.refill();
    if (this.tokensLeft >= 1) {
      this.tokensLeft -= 1;
      return true;
    }
    this.exhausted++;
    return false;
  }

  get tokens(): number {
    this.refill();
    return this.tokensLeft;
  }
}
