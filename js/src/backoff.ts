/**
 * Polling with backoff, for when no push event arrives: ask often while things change,
 * back off while they do not, and only while someone looks. No Lab imports.
 */

/** Options of {@link Backoff}. */
export interface IBackoffOptions {
  /** First and reset delay (ms). */
  min?: number;
  /** Largest delay (ms). */
  max?: number;
  /** Growth of the delay after each call that saw no change. */
  factor?: number;
}

/** A delay that grows by `factor` from `min` to `max`, and resets to `min`. */
export class Backoff {
  constructor(options: IBackoffOptions = {}) {
    this.min = options.min ?? 1000;
    this.max = Math.max(this.min, options.max ?? 30_000);
    this.factor = Math.max(1, options.factor ?? 2);
    this._delay = this.min;
  }

  /** The delay the next wait will take (ms). */
  get delay(): number {
    return this._delay;
  }

  /** The current delay, then grow it for the wait after. */
  next(): number {
    const delay = this._delay;
    this._delay = Math.min(this.max, this._delay * this.factor);
    return delay;
  }

  /** Back to `min`. */
  reset(): void {
    this._delay = this.min;
  }

  readonly min: number;
  readonly max: number;
  readonly factor: number;
  private _delay: number;
}

/** The timer functions a {@link Poller} uses (the window's, or fake ones in tests). */
export interface ITimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of {@link Poller}. */
export interface IPollerOptions extends IBackoffOptions {
  /** One poll: resolves `true` when it saw a change (the delay resets). */
  task: () => Promise<boolean>;
  /** Timer functions (default: the global ones). */
  timers?: ITimers;
}

const GLOBAL_TIMERS: ITimers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: handle => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>)
};

/**
 * Runs `task` repeatedly while started: at once on start, then after a delay that
 * resets to `min` when a poll saw a change (or on {@link kick}) and doubles up to `max`
 * when it did not. A failed poll counts as no change. One poll at a time.
 */
export class Poller {
  constructor(options: IPollerOptions) {
    this._task = options.task;
    this._timers = options.timers ?? GLOBAL_TIMERS;
    this.backoff = new Backoff(options);
  }

  /** Whether polling is on. */
  get running(): boolean {
    return this._running;
  }

  /** Polls done so far. */
  get count(): number {
    return this._count;
  }

  /** Start polling (a poll now, delay reset); nothing if already running. */
  start(): void {
    if (this._running) {
      return;
    }
    this._running = true;
    this.backoff.reset();
    void this._poll();
  }

  /** Stop polling (a poll in flight finishes, no further one is scheduled). */
  stop(): void {
    this._running = false;
    this._clear();
  }

  /** Something changed elsewhere (an event, a submit): reset the delay and poll now. */
  kick(): void {
    this.backoff.reset();
    if (!this._running) {
      return;
    }
    if (this._inFlight) {
      this._again = true;
      return;
    }
    this._clear();
    void this._poll();
  }

  /** Reset the delay without polling now (a push event already brought the change). */
  reset(): void {
    this.backoff.reset();
    if (this._running && !this._inFlight) {
      this._clear();
      this._schedule();
    }
  }

  private async _poll(): Promise<void> {
    this._inFlight = true;
    let changed = false;
    try {
      changed = await this._task();
    } catch {
      changed = false;
    }
    this._count += 1;
    this._inFlight = false;
    if (changed) {
      this.backoff.reset();
    }
    if (!this._running) {
      return;
    }
    if (this._again) {
      this._again = false;
      void this._poll();
      return;
    }
    this._schedule();
  }

  private _schedule(): void {
    this._clear();
    this._handle = this._timers.setTimeout(() => {
      this._handle = null;
      if (this._running) {
        void this._poll();
      }
    }, this.backoff.next());
  }

  private _clear(): void {
    if (this._handle !== null) {
      this._timers.clearTimeout(this._handle);
      this._handle = null;
    }
  }

  readonly backoff: Backoff;
  private _task: () => Promise<boolean>;
  private _timers: ITimers;
  private _running = false;
  private _inFlight = false;
  private _again = false;
  private _count = 0;
  private _handle: unknown = null;
}
