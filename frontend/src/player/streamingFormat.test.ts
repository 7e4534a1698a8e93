import { describe, expect, it } from 'vitest';
import { formatFrom } from './streamingFormat';

describe('the streaming format', () => {
  it('is HLS unless DASH is asked for', () => {
    expect(formatFrom('', null)).toBe('hls');
    expect(formatFrom('?format=dash', null)).toBe('dash');
    expect(formatFrom('?format=webm', null)).toBe('hls');
  });
  it('keeps the last choice until the address asks for another', () => {
    expect(formatFrom('', 'dash')).toBe('dash');
    expect(formatFrom('?format=hls', 'dash')).toBe('hls');
  });
});
