import { Injectable } from '@nestjs/common';

/** The service's notion of "now": real time, or driven by tests (derived states, staleness). */
@Injectable()
export class Clock {
  private fixed?: number;

  now(): Date {
    return new Date(this.fixed ?? Date.now());
  }

  /** Tests: pin the clock. */
  set(at: Date): void {
    this.fixed = at.getTime();
  }

  advance(ms: number): void {
    this.fixed = (this.fixed ?? Date.now()) + ms;
  }

  reset(): void {
    this.fixed = undefined;
  }
}
