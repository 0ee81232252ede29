import { msToNextSecond } from '../core/send-pacing.js';
import { PACING_JITTER_MS, PACING_SECOND_MARGIN_MS, PACING_WAIT_BUDGET_MS } from './limits.js';

/**
 * One batch's share of the rate: tokens reserved for the current second on the shared
 * counter item, asked for as many as the batch's records still waiting (at most a second's
 * worth), so a batch usually makes one reservation.
 */
export class BatchPacer {
  private tokens = 0;
  /** The epoch second the tokens are for; they lapse with it. */
  private second = -1;
  private refilling: Promise<void> | undefined;
  /** Reservations that found the second full; bounded too, so that a stopped clock cannot wait forever. */
  private misses = 0;
  waiting: number;
  constructor(
    records: number,
    private readonly reserve: (second: number, asked: number) => Promise<number>,
    private readonly limit: number,
    private readonly deadline: number,
    private readonly clock: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {
    this.waiting = records;
  }

  async take(): Promise<boolean> {
    for (;;) {
      if (this.tokens > 0 && Math.floor(this.clock() / 1000) !== this.second) this.tokens = 0;
      if (this.tokens > 0) break;
      if (this.clock() >= this.deadline || this.misses > PACING_WAIT_BUDGET_MS / 100) return false;
      this.refilling ??= this.refill().finally(() => {
        this.refilling = undefined;
      });
      await this.refilling;
    }
    this.tokens--;
    this.waiting--;
    return true;
  }

  private async refill(): Promise<void> {
    const intoSecond = this.clock() % 1000;
    if (intoSecond > 1000 - PACING_SECOND_MARGIN_MS) {
      await this.sleep(1000 - intoSecond);
      return;
    }
    const second = Math.floor(this.clock() / 1000);
    const got = await this.reserve(second, Math.max(1, Math.min(this.waiting, this.limit)));
    if (got > 0) {
      this.tokens = got;
      this.second = second;
      return;
    }
    this.misses++;
    const wait = msToNextSecond(this.clock(), PACING_JITTER_MS);
    if (this.clock() + wait < this.deadline) await this.sleep(wait);
    else await this.sleep(Math.max(0, this.deadline - this.clock()));
  }
}

/** At most `free` holders at once; the others wait in order. */
export class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
