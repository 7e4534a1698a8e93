import { describe, expect, it } from 'vitest';
import { openingChannel } from './catchupChannel';

const channels = [{ id: 'one' }, { id: 'two' }, { id: 'three' }];

describe('openingChannel', () => {
  it('opens on the channel asked for', () => {
    expect(openingChannel(channels, 'three', new Set(['two']))?.id).toBe('three');
  });
  it('opens on the first channel with aired programmes when none is asked for', () => {
    expect(openingChannel(channels, null, new Set(['three', 'two']))?.id).toBe('two');
  });
  it('falls back to content, then to the first channel, for an unknown channel', () => {
    expect(openingChannel(channels, 'gone', new Set(['three']))?.id).toBe('three');
    expect(openingChannel(channels, 'gone', new Set())?.id).toBe('one');
  });
  it('has nothing to open without channels', () => {
    const none: { id: string }[] = [];
    expect(openingChannel(none, null, new Set(['x']))).toBeUndefined();
  });
});
