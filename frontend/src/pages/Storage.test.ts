import { describe, expect, it } from 'vitest';
import { compareVersions, isFilesRestore, restoreTargets } from './Storage';

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

describe('files restores', () => {
  const sources = [
    { id: 'pg', adapterId: 'postgres' },
    { id: 'site', adapterId: 'files' },
    { id: 'redis', adapterId: 'redis' },
  ];
  it('offers files sources for a files backup and database sources for a dump', () => {
    expect(restoreTargets({ engine: 'files' }, sources).map((s) => s.id)).toEqual(['site']);
    expect(restoreTargets({ engine: 'postgresql' }, sources).map((s) => s.id)).toEqual(['pg', 'redis']);
    // A backup without its sidecar: anything, the target decides.
    expect(restoreTargets({ engine: null }, sources)).toHaveLength(3);
  });
  it('asks for a target directory for a files backup or a files target', () => {
    expect(isFilesRestore({ engine: 'files' })).toBe(true);
    expect(isFilesRestore({ engine: null }, { adapterId: 'files' })).toBe(true);
    expect(isFilesRestore({ engine: null }, { adapterId: 'postgres' })).toBe(false);
    expect(isFilesRestore({ engine: 'postgresql' })).toBe(false);
  });
});
