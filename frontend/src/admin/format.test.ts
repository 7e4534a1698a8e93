import { describe, expect, it } from 'vitest';
import {
  cleanupSummary,
  diskForecast,
  formatBytes,
  formatCount,
  formatDateTime,
  formatDuration,
  formatHours,
  formatProgrammeTimes,
  formatSpan,
  formatWindow,
  plural,
} from './format';

describe('sizes and counts', () => {
  it('writes bytes in decimal units with one decimal below 100', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(-3)).toBe('0 B');
    expect(formatBytes(Number.NaN)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1_000)).toBe('1 kB');
    expect(formatBytes(12_345_678)).toBe('12.3 MB');
    expect(formatBytes(345_000_000)).toBe('345 MB');
    expect(formatBytes(1_234_567_890)).toBe('1.2 GB');
    expect(formatBytes(999_999_999)).toBe('1 GB');
    expect(formatBytes(2.5e12)).toBe('2.5 TB');
  });
  it('groups thousands and says one or many', () => {
    expect(formatCount(2345)).toBe('2,345');
    expect(plural(1, 'segment')).toBe('1 segment');
    expect(plural(2345, 'segment')).toBe('2,345 segments');
    expect(plural(0, 'channel')).toBe('0 channels');
  });
});

describe('durations', () => {
  it('writes an uptime to the unit that matters', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(45.7)).toBe('45 s');
    expect(formatDuration(12 * 60 + 5)).toBe('12 min');
    expect(formatDuration(3 * 3600 + 5 * 60)).toBe('3 h 05 min');
    expect(formatDuration(2 * 86_400 + 4 * 3600 + 59)).toBe('2 d 4 h');
    expect(formatDuration(3 * 86_400)).toBe('3 d');
    expect(formatDuration(Number.NaN)).toBe('0 s');
  });
  it('writes a gap exactly', () => {
    expect(formatSpan(6)).toBe('6 s');
    expect(formatSpan(120)).toBe('2 min');
    expect(formatSpan(123)).toBe('2 min 3 s');
    expect(formatSpan(3720)).toBe('1 h 2 min');
    expect(formatSpan(7200)).toBe('2 h');
    expect(formatSpan(3 * 86_400 + 4 * 3600)).toBe('3 d 4 h');
  });
  it('writes hours and windows', () => {
    expect(formatHours(41.234)).toBe('41.2 h');
    expect(formatHours(0.0833)).toBe('0.08 h');
    expect(formatHours(168)).toBe('168 h');
    expect(formatWindow(2)).toBe('2 hours');
    expect(formatWindow(24)).toBe('24 hours (1 day)');
    expect(formatWindow(168)).toBe('168 hours (7 days)');
  });
  it('writes programme times to the second only when they need it', () => {
    const at = (t: string) => new Date(`2026-06-02T${t}Z`);
    expect(formatProgrammeTimes(at('13:00:00'), at('13:10:00'), 'Europe/London')).toBe('14:00 – 14:10');
    expect(formatProgrammeTimes(at('13:02:20'), at('13:02:40'), 'UTC')).toBe('13:02:20 – 13:02:40');
  });
  it('writes a date and time in the zone asked for', () => {
    const at = new Date('2026-06-02T13:02:05Z');
    expect(formatDateTime(at, 'Europe/London')).toBe('Tue 2 Jun, 14:02:05');
    expect(formatDateTime(at, 'UTC', false)).toBe('Tue 2 Jun, 13:02');
  });
});

describe('cleanupSummary', () => {
  it('says what was freed, in the words of docs/PRODUCT.md, J7', () => {
    expect(
      cleanupSummary({ channels_processed: 5, total_segments_deleted: 2345, total_bytes_freed: 1_234_000_000 }),
    ).toBe('Freed 1.2 GB in 2,345 segments across 5 channels.');
    expect(cleanupSummary({ channels_processed: 1, total_segments_deleted: 1, total_bytes_freed: 900 })).toBe(
      'Freed 900 B in 1 segment across 1 channel.',
    );
  });
  it('says so when there was nothing to free', () => {
    expect(cleanupSummary({ channels_processed: 5, total_segments_deleted: 0, total_bytes_freed: 0 })).toBe(
      "Nothing to free: no segment was older than its channel's retention (5 channels checked).",
    );
  });
});

describe('diskForecast', () => {
  const disk = { full_in_seconds: null as number | null, growth_bytes_per_second: null as number | null, storage_full: false };
  it('says when the floor is reached at the growth rate', () => {
    expect(diskForecast({ ...disk, full_in_seconds: 3.2 * 86_400, growth_bytes_per_second: 10 })).toBe(
      "Full in 3.2 days at today's rate",
    );
    expect(diskForecast({ ...disk, full_in_seconds: 5400, growth_bytes_per_second: 10 })).toBe(
      "Full in 1.5 hours at today's rate",
    );
    expect(diskForecast({ ...disk, full_in_seconds: 600, growth_bytes_per_second: 10 })).toBe(
      "Full in 10 min at today's rate",
    );
  });
  it('names the states without a forecast', () => {
    expect(diskForecast(disk)).toBe("Measuring today's rate…");
    expect(diskForecast({ ...disk, growth_bytes_per_second: 0 })).toBe("Not filling up at today's rate");
    expect(diskForecast({ ...disk, full_in_seconds: 0 })).toMatch(/^At the floor/);
    expect(diskForecast({ ...disk, full_in_seconds: 0, storage_full: true })).toMatch(/new recordings are refused/);
  });
});
