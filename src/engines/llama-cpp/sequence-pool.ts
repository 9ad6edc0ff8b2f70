import type { LlamaContextSequence, Token } from 'node-llama-cpp';

interface Waiter {
  tokens: readonly Token[];
  resolve: (seq: LlamaContextSequence) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * Lends the context sequences of one loaded model to concurrent requests. A free sequence whose
 * evaluated tokens share the longest prefix with the new prompt is preferred, so requests that share
 * instructions and demonstrations reuse that evaluated prefix. When every sequence is busy, requests
 * wait in FIFO order.
 */
export class SequencePool {
  private readonly free: LlamaContextSequence[];
  private readonly waiters: Waiter[] = [];
  private closed = false;

  constructor(sequences: LlamaContextSequence[]) {
    this.free = [...sequences];
  }

  get idle(): number {
    return this.free.length;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  acquire(tokens: readonly Token[], signal?: AbortSignal): Promise<LlamaContextSequence> {
    if (this.closed) return Promise.reject(new Error('the engine is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.free.length > 0 && this.waiters.length === 0) return Promise.resolve(this.takeBest(tokens));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { tokens, resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  release(seq: LlamaContextSequence): void {
    if (this.closed) return;
    const next = this.waiters.shift();
    if (!next) {
      this.free.push(seq);
      return;
    }
    if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
    // The waiter may fit a different free sequence better; put this one back and choose again.
    this.free.push(seq);
    next.resolve(this.takeBest(next.tokens));
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(new Error('the engine was closed while the request waited for a free sequence'));
    }
  }

  private takeBest(tokens: readonly Token[]): LlamaContextSequence {
    let best = 0;
    let bestShared = -1;
    for (let i = 0; i < this.free.length; i++) {
      const shared = this.free[i].compareContextTokens(tokens as Token[]).firstDifferentIndex;
      if (shared > bestShared) {
        best = i;
        bestShared = shared;
      }
    }
    return this.free.splice(best, 1)[0];
  }
}
