import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressSaver, RETRY_MAX_MS, retryDelayMs, type SaveOptions } from './progressSaver';

interface Call {
  position: number;
  options: SaveOptions;
}

function recorder(failFirst = 0) {
  const calls: Call[] = [];
  let failures = failFirst;
  const send = vi.fn((position: number, options: SaveOptions) => {
    calls.push({ position, options });
    if (failures > 0) {
      failures -= 1;
      return Promise.reject(new Error('network down'));
    }
    return Promise.resolve();
  });
  return { calls, send };
}

describe('ProgressSaver', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends the latest position once, and nothing when it has not moved', async () => {
    const { calls, send } = recorder();
    const saver = new ProgressSaver(send);
    saver.update(10);
    saver.update(12.5);
    await saver.flush();
    await saver.flush();
    expect(calls).toEqual([{ position: 12.5, options: { completed: false, leaving: false } }]);
  });

  it('retries a failed save with backoff until it succeeds, with the newest position', async () => {
    const { calls, send } = recorder(3);
    const states: string[] = [];
    const saver = new ProgressSaver(send, (s) => states.push(s));
    saver.update(40);
    await saver.flush();
    expect(calls).toHaveLength(1);
    saver.update(45);
    await vi.advanceTimersByTimeAsync(retryDelayMs(1) - 1);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(retryDelayMs(2));
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(retryDelayMs(3));
    expect(calls).toHaveLength(4);
    expect(calls[3]?.position).toBe(45);
    expect(saver.pending).toBe(false);
    expect(states.at(-1)).toBe('saved');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(calls).toHaveLength(4); // nothing more once saved
  });

  it('caps the backoff', () => {
    expect(retryDelayMs(1)).toBe(1000);
    expect(retryDelayMs(2)).toBe(2000);
    expect(retryDelayMs(20)).toBe(RETRY_MAX_MS);
  });

  it('saves a position that arrives while a save is in flight', async () => {
    let release: () => void = () => undefined;
    const positions: number[] = [];
    const send = vi.fn((p: number) => {
      positions.push(p);
      return positions.length === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
    });
    const saver = new ProgressSaver(send);
    saver.update(5);
    const first = saver.flush();
    saver.update(9);
    await saver.flush();
    release();
    await first;
    expect(positions).toEqual([5, 9]);
  });

  it('marks the end and sends a last save that outlives the page', async () => {
    const { calls, send } = recorder();
    const saver = new ProgressSaver(send);
    saver.complete(1800);
    await vi.runAllTimersAsync();
    expect(calls[0]).toEqual({ position: 1800, options: { completed: true, leaving: false } });
    saver.update(1800);
    saver.update(1799);
    saver.dispose();
    await vi.runAllTimersAsync();
    expect(calls[1]).toEqual({ position: 1799, options: { completed: true, leaving: true } });
  });

  it('stops retrying once disposed', async () => {
    const { calls, send } = recorder(100);
    const saver = new ProgressSaver(send);
    saver.update(3);
    saver.dispose();
    await vi.advanceTimersByTimeAsync(10 * RETRY_MAX_MS);
    expect(calls).toHaveLength(1);
  });
});
