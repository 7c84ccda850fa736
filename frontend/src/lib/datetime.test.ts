import { describe, expect, it } from 'vitest';
import { formatInstant, formatPatternError, isKnownZone, timeZones } from './datetime';

const AT = '2026-01-31T23:30:05Z';

describe('formatInstant', () => {
  it('applies the zone and both patterns', () => {
    const p = { timezone: 'Europe/Berlin', dateFormat: 'dd.MM.yyyy', timeFormat: 'HH:mm' };
    // 23:30 UTC is 00:30 the next day in Berlin (CET, UTC+1).
    expect(formatInstant(AT, p)).toBe('01.02.2026 00:30');
    expect(formatInstant(AT, p, 'date')).toBe('01.02.2026');
    expect(formatInstant(AT, p, 'time')).toBe('00:30');
  });
  it('uses another zone for the same instant', () => {
    const p = { timezone: 'America/New_York', dateFormat: 'yyyy-MM-dd', timeFormat: 'h:mm a' };
    expect(formatInstant(AT, p)).toBe('2026-01-31 6:30 PM');
    expect(formatInstant(AT, { ...p, timezone: 'UTC', timeFormat: 'HH:mm:ss' })).toBe('2026-01-31 23:30:05');
  });
  it('falls back to the defaults for an unusable pattern or zone', () => {
    const bad = { timezone: 'Mars/Olympus', dateFormat: 'yyyy-MM-dd', timeFormat: 'HH:mm' };
    expect(formatInstant(AT, { ...bad, timezone: 'UTC', dateFormat: 'YYYY-q-bogus' }, 'date')).toBe('01/31/2026');
    // An unknown zone formats in the process zone rather than throwing.
    expect(formatInstant(AT, bad, 'date')).toMatch(/^2026-0[12]-\d\d$/);
  });
  it('renders absent and unparseable values visibly', () => {
    const p = { timezone: 'UTC', dateFormat: 'P', timeFormat: 'p' };
    expect(formatInstant(null, p)).toBe('—');
    expect(formatInstant('', p)).toBe('—');
    expect(formatInstant('not a date', p)).toBe('not a date');
    expect(formatInstant(AT, p)).toBe('01/31/2026 11:30 PM');
  });
});

describe('formatPatternError', () => {
  it('accepts date-fns patterns and refuses broken ones', () => {
    expect(formatPatternError('dd.MM.yyyy')).toBeNull();
    expect(formatPatternError("yyyy 'week' I")).toBeNull();
    expect(formatPatternError('')).toBe('Enter a format');
    expect(formatPatternError('YYYY')).toMatch(/YYYY/);
    expect(formatPatternError('yyyy-MM-dd j')).toMatch(/j/);
    expect(formatPatternError('x'.repeat(65))).toBe('At most 64 characters');
  });
});

describe('zones', () => {
  it('knows IANA zones and lists UTC first', () => {
    expect(isKnownZone('Asia/Tokyo')).toBe(true);
    expect(isKnownZone('Nowhere/Else')).toBe(false);
    expect(isKnownZone('')).toBe(false);
    const zones = timeZones();
    expect(zones[0]).toBe('UTC');
    expect(zones).toContain('Europe/Berlin');
    expect(new Set(zones).size).toBe(zones.length);
  });
});
