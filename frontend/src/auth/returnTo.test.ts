import { describe, expect, it } from 'vitest';
import { safeReturnPath, signInPath } from './returnTo';

describe('return after sign-in', () => {
  it('keeps app paths and refuses other sites', () => {
    expect(safeReturnPath('/watch/live/abc?x=1')).toBe('/watch/live/abc?x=1');
    expect(safeReturnPath('//evil.example/x')).toBe('/');
    expect(safeReturnPath('https://evil.example')).toBe('/');
    expect(safeReturnPath('/\\evil.example')).toBe('/');
    expect(safeReturnPath(null)).toBe('/');
    expect(safeReturnPath('/signin?next=/x')).toBe('/');
  });
  it('builds the sign-in link with the notice', () => {
    expect(signInPath('/watch/live/abc', true)).toBe('/signin?next=%2Fwatch%2Flive%2Fabc&expired=1');
    expect(signInPath('/', false)).toBe('/signin');
  });
});
