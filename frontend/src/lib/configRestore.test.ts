import { describe, expect, it } from 'vitest';
import { actionTone, changesAnything, countsByEntity, entityLabel, sortChanges, visibleChanges, type Change } from './configRestore';

const CHANGES: Change[] = [
  { entity: 'jobs', action: 'create', name: 'Nightly' },
  { entity: 'users', action: 'unchanged', name: 'admin@example.com' },
  { entity: 'adapters', action: 'update', name: 'database/Orders' },
  { entity: 'settings', action: 'unchanged', name: 'maxConcurrentJobs' },
  { entity: 'adapters', action: 'create', name: 'storage/Disk' },
  { entity: 'users', action: 'skip', name: 'bob@example.com', reason: 'no password hash in the backup' },
  { entity: 'adapters', action: 'create', name: 'database/Accounts' },
  { entity: 'ssoProviders', action: 'update', name: 'okta' },
];

describe('config restore dry run', () => {
  it('orders by restore order, action, name', () => {
    expect(sortChanges(CHANGES).map((c) => `${c.entity}:${c.action}:${c.name}`)).toEqual([
      'settings:unchanged:maxConcurrentJobs',
      'adapters:create:database/Accounts',
      'adapters:create:storage/Disk',
      'adapters:update:database/Orders',
      'users:unchanged:admin@example.com',
      'users:skip:bob@example.com',
      'ssoProviders:update:okta',
      'jobs:create:Nightly',
    ]);
  });
  it('counts per entity', () => {
    const counts = countsByEntity(CHANGES);
    expect(counts.map((c) => c.entity)).toEqual(['settings', 'adapters', 'users', 'ssoProviders', 'jobs']);
    expect(counts[1].counts).toEqual({ create: 2, update: 1, unchanged: 0, skip: 0 });
    expect(counts[2].counts).toEqual({ create: 0, update: 0, unchanged: 1, skip: 1 });
  });
  it('filters unchanged rows and by entity', () => {
    expect(visibleChanges(CHANGES, { hideUnchanged: true })).toHaveLength(6);
    expect(visibleChanges(CHANGES, { hideUnchanged: false, entity: 'users' }).map((c) => c.action)).toEqual(['unchanged', 'skip']);
    expect(visibleChanges(CHANGES, { hideUnchanged: true, entity: 'users' }).map((c) => c.reason)).toEqual(['no password hash in the backup']);
  });
  it('knows when nothing would change, labels and tones', () => {
    expect(changesAnything({ counts: { create: 0, update: 0, unchanged: 4, skip: 1 } })).toBe(false);
    expect(changesAnything({ counts: { create: 0, update: 2, unchanged: 0, skip: 0 } })).toBe(true);
    expect(entityLabel('encryptionProfiles')).toBe('Encryption profiles');
    expect(entityLabel('ssoProviders')).toBe('SSO providers');
    expect(entityLabel('jobs')).toBe('Jobs');
    expect(actionTone('create')).toBe('success');
    expect(actionTone('skip')).toBe('warn');
    expect(actionTone('unchanged')).toBe('neutral');
  });
});
