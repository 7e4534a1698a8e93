import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROMPT_VISIBLE_SECONDS, PromptMemory, secondsLeft, shouldOfferStartOver } from './startoverPrompt';

const base = { startoverAvailable: true, elapsedSeconds: 23 * 60, afterSeconds: 180, alreadyShown: false };

describe('shouldOfferStartOver', () => {
  it('offers an eligible programme that began more than 3 minutes ago', () => {
    expect(shouldOfferStartOver(base)).toBe(true);
    expect(shouldOfferStartOver({ ...base, elapsedSeconds: 181 })).toBe(true);
  });
  it('does not offer at or before 3 minutes', () => {
    expect(shouldOfferStartOver({ ...base, elapsedSeconds: 180 })).toBe(false);
    expect(shouldOfferStartOver({ ...base, elapsedSeconds: 30 })).toBe(false);
  });
  it('never offers without start-over rights, or twice', () => {
    expect(shouldOfferStartOver({ ...base, startoverAvailable: false })).toBe(false);
    expect(shouldOfferStartOver({ ...base, alreadyShown: true })).toBe(false);
  });
  it('follows a configured threshold', () => {
    expect(shouldOfferStartOver({ ...base, elapsedSeconds: 6, afterSeconds: 5 })).toBe(true);
  });
});

describe('countdown', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts 10 seconds down and is gone after them', () => {
    const shownAt = Date.now();
    expect(secondsLeft(shownAt, Date.now())).toBe(PROMPT_VISIBLE_SECONDS);
    vi.advanceTimersByTime(2500);
    expect(secondsLeft(shownAt, Date.now())).toBe(8);
    vi.advanceTimersByTime(7000);
    expect(secondsLeft(shownAt, Date.now())).toBe(1);
    vi.advanceTimersByTime(500);
    expect(secondsLeft(shownAt, Date.now())).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(secondsLeft(shownAt, Date.now())).toBe(0);
  });
});

describe('PromptMemory', () => {
  it('remembers each programme once per browser session', () => {
    const memory = new PromptMemory(window.sessionStorage);
    expect(memory.hasShown('a')).toBe(false);
    memory.markShown('a');
    expect(memory.hasShown('a')).toBe(true);
    expect(new PromptMemory(window.sessionStorage).hasShown('a')).toBe(true); // a reload
    expect(memory.hasShown('b')).toBe(false);
  });
  it('survives garbage in storage and a full storage', () => {
    window.sessionStorage.setItem('tstv.startover.prompted', '{not json');
    const memory = new PromptMemory(window.sessionStorage);
    expect(memory.hasShown('a')).toBe(false);
    const full = {
      getItem: () => null,
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    expect(() => new PromptMemory(full).markShown('a')).not.toThrow();
  });
});
