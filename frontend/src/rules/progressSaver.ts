// Saving where the viewer is (docs/PRODUCT.md, J4): the latest position goes out on every heartbeat, pause,
// seek, end and leave; a save that fails is retried with backoff until one succeeds, never dropped.

export const HEARTBEAT_SECONDS = 30;
export const RETRY_FIRST_MS = 1000;
export const RETRY_MAX_MS = 30_000;

export interface SaveOptions {
  completed: boolean;
  /** The page is going away: the request must outlive it (fetch keepalive). */
  leaving: boolean;
}

export type SendPosition = (positionSeconds: number, options: SaveOptions) => Promise<void>;

export type SaverState = 'idle' | 'saving' | 'saved' | 'retrying';

interface Timers {
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

export function retryDelayMs(attempt: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.max(0, attempt - 1));
}

export class ProgressSaver {
  private latest: number | null = null;
  private saved: number | null = null;
  private completed = false;
  private savedCompleted = false;
  private sending = false;
  private again = false;
  private failures = 0;
  private retry: unknown = null;
  private disposed = false;

  constructor(
    private readonly send: SendPosition,
    private readonly onState: (state: SaverState) => void = () => undefined,
    private readonly timers: Timers = realTimers,
  ) {}

  /** Note the current position (cheap; call it as often as the player reports time). */
  update(positionSeconds: number): void {
    if (Number.isFinite(positionSeconds) && positionSeconds >= 0) this.latest = positionSeconds;
  }

  /** The programme was watched to its end. */
  complete(positionSeconds: number): void {
    this.update(positionSeconds);
    this.completed = true;
    void this.flush();
  }

  get pending(): boolean {
    return this.latest !== null && (this.latest !== this.saved || this.completed !== this.savedCompleted);
  }

  /** Send the latest position if it has not been saved yet. */
  async flush(leaving = false): Promise<void> {
    if (!this.pending) return;
    if (this.sending) {
      this.again = true;
      return;
    }
    this.cancelRetry();
    const position = this.latest ?? 0;
    const completed = this.completed;
    this.sending = true;
    this.onState('saving');
    try {
      await this.send(position, { completed, leaving });
      this.saved = position;
      this.savedCompleted = completed;
      this.failures = 0;
      this.onState('saved');
    } catch {
      this.failures += 1;
      this.onState('retrying');
      if (!this.disposed) {
        this.retry = this.timers.setTimeout(() => {
          this.retry = null;
          void this.flush();
        }, retryDelayMs(this.failures));
      }
    } finally {
      this.sending = false;
    }
    if (this.again && this.failures === 0) {
      this.again = false;
      await this.flush(leaving);
    }
  }

  /** The player is going away: one last save that outlives the page, then no more retries. */
  dispose(): void {
    this.cancelRetry();
    void this.flush(true).finally(() => {
      this.disposed = true;
      this.cancelRetry();
    });
  }

  private cancelRetry(): void {
    if (this.retry !== null) {
      this.timers.clearTimeout(this.retry);
      this.retry = null;
    }
  }
}
