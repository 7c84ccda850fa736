import { describe, expect, it } from 'vitest';
import { filterDatabases, filterOptions, gridKeyTarget, healthCells, healthTone, matches, parseNames, toggled, unlisted, uptimePercent } from './pickers';

const DBS = [
  { name: 'template1', system: true },
  { name: 'orders', system: false },
  { name: 'postgres', system: true },
  { name: 'analytics_2026', system: false },
  { name: 'orders_archive', system: false },
];

describe('database filtering', () => {
  it('hides system databases unless asked, user databases first and sorted', () => {
    expect(filterDatabases(DBS, '', false).map((d) => d.name)).toEqual(['analytics_2026', 'orders', 'orders_archive']);
    expect(filterDatabases(DBS, '', true).map((d) => d.name)).toEqual(['analytics_2026', 'orders', 'orders_archive', 'postgres', 'template1']);
  });
  it('searches case-insensitively, every term, prefixes first', () => {
    expect(filterDatabases(DBS, 'ORD', false).map((d) => d.name)).toEqual(['orders', 'orders_archive']);
    expect(filterDatabases(DBS, 'arch ord', false).map((d) => d.name)).toEqual(['orders_archive']);
    expect(filterDatabases(DBS, 'o', true).map((d) => d.name)).toEqual(['orders', 'orders_archive', 'postgres']);
    expect(filterDatabases(DBS, 'nothing', true)).toEqual([]);
  });
  it('names typed by hand are parsed, toggled and reported when unlisted', () => {
    expect(parseNames(' a, b ,,\nc, a ')).toEqual(['a', 'b', 'c']);
    expect(toggled(['a'], 'b', true)).toEqual(['a', 'b']);
    expect(toggled(['a', 'b'], 'b', true)).toEqual(['a', 'b']);
    expect(toggled(['a', 'b'], 'a', false)).toEqual(['b']);
    expect(unlisted(['orders', 'gone', 'postgres'], DBS)).toEqual(['gone']);
  });
});

describe('filterOptions', () => {
  const zones = ['UTC', 'America/New_York', 'Europe/Berlin', 'Europe/Amsterdam', 'Asia/Tokyo'];
  it('puts prefix and segment-prefix matches first and limits', () => {
    expect(filterOptions(zones, 'ber', (z) => z)).toEqual(['Europe/Berlin']);
    expect(filterOptions(zones, 'am', (z) => z)).toEqual(['America/New_York', 'Europe/Amsterdam']);
    expect(filterOptions(zones, 'e', (z) => z, 2)).toEqual(['Europe/Berlin', 'Europe/Amsterdam']);
    expect(filterOptions(zones, '  ', (z) => z, 3)).toEqual(zones.slice(0, 3));
    expect(matches('Europe/Berlin', 'eu BER')).toBe(true);
    expect(matches('Europe/Berlin', 'eu paris')).toBe(false);
  });
});

describe('health grid', () => {
  const check = (status: string | null, i: number) => ({ status, latencyMs: i, error: status === 'ONLINE' ? null : 'refused', createdAt: `2026-01-01T00:00:0${i}Z` });
  const entries = ['ONLINE', 'ONLINE', 'DEGRADED', 'OFFLINE', 'ONLINE', null].map(check);
  it('keeps the newest checks, newest last, with their tone', () => {
    const cells = healthCells(entries, 3);
    expect(cells.map((c) => c.tone)).toEqual(['bad', 'ok', 'unknown']);
    expect(cells[0].check.createdAt).toBe('2026-01-01T00:00:03Z');
    expect(healthCells(entries, 100)).toHaveLength(6);
    expect(healthCells([], 10)).toEqual([]);
    expect(healthTone('DEGRADED')).toBe('warn');
  });
  it('computes the uptime and the keyboard moves', () => {
    expect(uptimePercent(entries)).toBe(50);
    expect(uptimePercent(entries.slice(0, 3))).toBe(66.7);
    expect(uptimePercent([])).toBeNull();
    expect(gridKeyTarget('ArrowRight', 4, 5)).toBe(4);
    expect(gridKeyTarget('ArrowLeft', 0, 5)).toBe(0);
    expect(gridKeyTarget('ArrowLeft', 3, 5)).toBe(2);
    expect(gridKeyTarget('End', 0, 5)).toBe(4);
    expect(gridKeyTarget('Home', 3, 5)).toBe(0);
    expect(gridKeyTarget('Enter', 3, 5)).toBeNull();
    expect(gridKeyTarget('End', 0, 0)).toBeNull();
  });
});
