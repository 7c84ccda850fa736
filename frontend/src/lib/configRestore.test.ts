import { describe, expect, it } from 'vitest';
import { actionTone, changesAnything, countsByEntity, entityLabel, sortChanges, visibleChanges, type Change } from './configRestore';

const CHANGES: Change[] = [
  { entity: 'job', action: 'create', name: 'Nightly' },
  { entity: 'user', action: 'unchanged', name: 'admin@example.com' },
  { entity: 'adapter', action: 'update', name: 'database/Orders' },
  { entity: 'setting', action: 'unchanged', name: 'maxConcurrentJobs' },
  { entity: 'adapter', action: 'create', name: 'storage/Disk' },
  { entity: 'user', action: 'skip', name: 'bob@example.com', reason: 'no password hash in the backup' },
  { entity: 'adapter', action: 'create', name: 'database/Accounts' },
  { entity: 'ssoProvider', action: 'update', name: 'okta' },
];

describe('config restore dry run', () => {
  it('orders by restore order, action, name', () => {
    expect(sortChanges(CHANGES).map((c) => `${c.entity}:${c.action}:${c.name}`)).toEqual([
      'setting:unchanged:maxConcurrentJobs',
      'adapter:create:database/Accounts',
      'adapter:create:storage/Disk',
      'adapter:update:database/Orders',
      'user:unchanged:admin@example.com',
      'user:skip:bob@example.com',
      'ssoProvider:update:okta',
      'job:create:Nightly',
    ]);
  });
  it('counts per entity', () => {
    const counts = countsByEntity(CHANGES);
    expect(counts.map((c) => c.entity)).toEqual(['setting', 'adapter', 'user', 'ssoProvider', 'job']);
    expect(counts[1].counts).toEqual({ create: 2, update: 1, unchanged: 0, skip: 0 });
    expect(counts[2].counts).toEqual({ create: 0, update: 0, unchanged: 1, skip: 1 });
  });
  it('filters unchanged rows and by entity', () => {
    expect(visibleChanges(CHANGES, { hideUnchanged: true })).toHaveLength(6);
    expect(visibleChanges(CHANGES, { hideUnchanged: false, entity: 'user' }).map((c) => c.action)).toEqual(['unchanged', 'skip']);
    expect(visibleChanges(CHANGES, { hideUnchanged: true, entity: 'user' }).map((c) => c.reason)).toEqual(['no password hash in the backup']);
  });
  it('knows when nothing would change, labels and tones', () => {
    expect(changesAnything({ counts: { create: 0, update: 0, unchanged: 4, skip: 1 } })).toBe(false);
    expect(changesAnything({ counts: { create: 0, update: 2, unchanged: 0, skip: 0 } })).toBe(true);
    expect(entityLabel('encryptionProfile')).toBe('Encryption profile');
    expect(entityLabel('ssoProvider')).toBe('SSO provider');
    expect(entityLabel('job')).toBe('Job');
    expect(entityLabel('adapters')).toBe('Adapters');
    expect(actionTone('create')).toBe('success');
    expect(actionTone('skip')).toBe('warn');
    expect(actionTone('unchanged')).toBe('neutral');
  });
});
