import { describe, expect, it } from 'vitest';
import { compareVersions } from './Storage';

describe('compareVersions (restore version warning)', () => {
  it('compares major then minor', () => {
    expect(compareVersions('17.2', '16.4')).toBe(1);
    expect(compareVersions('16.4 (Debian 16.4-1)', '16.4')).toBe(0);
    expect(compareVersions('16.1', '16.4')).toBe(-1);
    expect(compareVersions('10.11.6-MariaDB', '11.4.2-MariaDB')).toBe(-1);
  });
  it('is unknown without both versions', () => {
    expect(compareVersions(null, '16')).toBeNull();
    expect(compareVersions('16', undefined)).toBeNull();
    expect(compareVersions('x', '16')).toBeNull();
  });
});
