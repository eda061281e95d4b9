import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { Backoff, Poller } from '../src/backoff';

describe('Backoff', () => {
  it('doubles from min to max and resets', () => {
    const b = new Backoff({ min: 1000, max: 30_000, factor: 2 });
    const delays = Array.from({ length: 7 }, () => b.next());
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    b.reset();
    expect(b.next()).toBe(1000);
  });
});

describe('Poller', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Times (fake ms) at which the task ran, with what it answered. */
  function make(answers: boolean[]) {
    const calls: number[] = [];
    const start = Date.now();
    const poller = new Poller({
      min: 1000,
      max: 8000,
      task: async () => {
        calls.push(Date.now() - start);
        return answers.shift() ?? false;
      }
    });
    return { poller, calls };
  }

  it('polls at once, then backs off while nothing changes', async () => {
    const { poller, calls } = make([]);
    poller.start();
    await vi.advanceTimersByTimeAsync(40_000);
    expect(calls).toEqual([0, 1000, 3000, 7000, 15000, 23000, 31000, 39000]);
    poller.stop();
    await vi.advanceTimersByTimeAsync(40_000);
    expect(calls).toHaveLength(8);
    expect(poller.running).toBe(false);
  });

  it('resets the delay when a poll sees a change', async () => {
    const { poller, calls } = make([false, false, true]);
    poller.start();
    await vi.advanceTimersByTimeAsync(10_000);
    // 0, +1 s, +2 s (changed: back to 1 s), +1 s, +2 s, +4 s
    expect(calls).toEqual([0, 1000, 3000, 4000, 6000, 10000]);
    poller.stop();
  });

  it('polls now on kick, and restarts fast after being shown again', async () => {
    const { poller, calls } = make([]);
    poller.start();
    await vi.advanceTimersByTimeAsync(7_500);
    expect(calls).toEqual([0, 1000, 3000, 7000]);
    poller.kick();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual([0, 1000, 3000, 7000, 7500]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toHaveLength(6);
    poller.stop();
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(7);
    poller.stop();
  });

  it('counts a failed poll as no change and keeps going', async () => {
    let n = 0;
    const poller = new Poller({
      min: 100,
      max: 100,
      task: async () => {
        n += 1;
        throw new Error('offline');
      }
    });
    poller.start();
    await vi.advanceTimersByTimeAsync(350);
    expect(n).toBe(4);
    expect(poller.count).toBe(4);
    poller.stop();
  });
});
