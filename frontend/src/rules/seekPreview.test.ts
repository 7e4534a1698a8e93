import { describe, expect, it } from 'vitest';
import { offsetAtPointer, previewLabel, previewLeft } from './seekPreview';

describe('offsetAtPointer', () => {
  const box = { left: 100, width: 600 };
  it('maps the pointer onto the programme', () => {
    expect(offsetAtPointer(400, box, 1800, { start: 0, end: 1800 })).toBe(900);
  });
  it('never goes past live or before what is available', () => {
    expect(offsetAtPointer(690, box, 1800, { start: 0, end: 600 })).toBe(600);
    expect(offsetAtPointer(50, box, 1800, { start: 120, end: 1800 })).toBe(120);
  });
  it('copes with a bar not laid out yet', () => {
    expect(offsetAtPointer(400, { left: 0, width: 0 }, 1800, { start: 30, end: 60 })).toBe(30);
  });
});

describe('previewLabel', () => {
  it('is the position in a catch-up programme', () => {
    expect(previewLabel(true, 754, 0)).toBe('12:34');
  });
  it('is the distance behind live otherwise', () => {
    expect(previewLabel(false, 0, 754)).toBe('-12:34');
    expect(previewLabel(false, 0, 3)).toBe('Live');
  });
});

describe('previewLeft', () => {
  it('follows the pointer in the middle', () => {
    expect(previewLeft(900, 1800, 160, 800)).toBe(50);
  });
  it('stays inside the bar at the ends', () => {
    expect(previewLeft(0, 1800, 160, 800)).toBe(10);
    expect(previewLeft(1800, 1800, 160, 800)).toBe(90);
  });
});
