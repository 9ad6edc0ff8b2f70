/**
 * A circuit breaker per model: after `failures` calls in a row failed for good (after their
 * retries), the model is not called for `cooldownMs`; its calls fail at once with a
 * CircuitOpenError. Then one probe call goes out (half-open): an answer closes the breaker, a
 * failure opens it again for twice as long (up to `maxCooldownMs`). A dead model thus stops
 * getting requests, and a model that comes back is used again without a restart.
 */
import { EngineError } from './errors.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Calls failed in a row that open the breaker; 0 turns it off. */
  failures: number;
  cooldownMs: number;
  maxCooldownMs: number;
}

export const defaultBreakerOptions: BreakerOptions = {
  failures: 5,
  cooldownMs: 5_000,
  maxCooldownMs: 60_000,
};

/** What the cost table and the log show of a breaker. */
export interface BreakerReport {
  state: BreakerState;
  /** Times it opened. */
  opened: number;
  /** Calls refused while it was open. */
  refused: number;
  lastError?: string;
}

/** A call refused because the model's breaker is open: no request was sent. */
export class CircuitOpenError extends EngineError {
  constructor(model: string, message: string, lastError?: string) {
    super(message, {
      model,
      attempts: 0,
      reason: `circuit breaker open (last: ${lastError ?? 'unknown'})`,
    });
    this.name = 'CircuitOpenError';
  }
}

export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private inRow = 0;
  private openUntil = 0;
  private cooldown: number;
  private probing = false;
  private opened = 0;
  private refused = 0;
  private lastError?: string;

  constructor(
    readonly model: string,
    private readonly options: BreakerOptions = defaultBreakerOptions,
    private readonly onChange: (message: string) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {
    this.cooldown = options.cooldownMs;
  }

  /** Throws CircuitOpenError when the call may not go out now; else the call is admitted. */
  admit(): void {
    if (this.options.failures <= 0 || this.state === 'closed') return;
    if (this.state === 'open' && this.now() >= this.openUntil) {
      this.state = 'half-open';
      this.probing = false;
    }
    if (this.state === 'half-open' && !this.probing) {
      this.probing = true; // this call is the probe
      return;
    }
    this.refused++;
    const wait = Math.max(0, this.openUntil - this.now());
    throw new CircuitOpenError(
      this.model,
      `model "${this.model}": not called, its circuit breaker is open after ${this.options.failures} failed calls in a row (last: ${this.lastError ?? 'unknown'}); next try in ${Math.ceil(wait / 1000)} s`,
      this.lastError,
    );
  }

  success(): void {
    this.inRow = 0;
    if (this.state !== 'closed') {
      this.state = 'closed';
      this.probing = false;
      this.cooldown = this.options.cooldownMs;
      this.onChange(`model "${this.model}": answered again, circuit breaker closed`);
    }
  }

  failure(reason: string): void {
    this.lastError = reason;
    if (this.options.failures <= 0) return;
    this.inRow++;
    if (this.state === 'half-open') {
      this.cooldown = Math.min(this.options.maxCooldownMs, this.cooldown * 2);
      this.open(`the probe call failed (${reason})`);
    } else if (this.state === 'closed' && this.inRow >= this.options.failures) {
      this.open(`${this.inRow} calls failed in a row (last: ${reason})`);
    }
  }

  /** A call that ended without a verdict on the model (aborted by the caller). */
  release(): void {
    if (this.state === 'half-open') this.probing = false;
  }

  report(): BreakerReport {
    if (this.state === 'open' && this.now() >= this.openUntil) this.state = 'half-open';
    return {
      state: this.state,
      opened: this.opened,
      refused: this.refused,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private open(why: string): void {
    this.state = 'open';
    this.probing = false;
    this.opened++;
    this.openUntil = this.now() + this.cooldown;
    this.onChange(
      `model "${this.model}": circuit breaker open, ${why}; its calls fail at once for ${Math.round(this.cooldown / 1000)} s, then one probe call`,
    );
  }
}
