import { describe, expect, it } from 'vitest';
import { settingsPatch } from './Settings';
import { configErrors } from './ConfigBackup';
import type { ConfigBackupConfig, Settings } from '../api/types';

const STORED: Settings = {
  sessionLifetimeHours: 168,
  auditLogRetentionDays: 90,
  maxConcurrentJobs: 1,
  stallTimeoutMinutes: 10,
  healthCheckInterval: 60,
  healthReminderInterval: 3600,
  'auth.disablePasskeyLogin': false,
  'scheduler.timezone': 'UTC',
  systemNotificationChannels: ['a', 'b'],
};
const numbers = Object.fromEntries(Object.entries(STORED).map(([k, v]) => [k, String(v)]));
const same = { 'auth.disablePasskeyLogin': false, 'scheduler.timezone': 'UTC', systemNotificationChannels: ['b', 'a'] };

describe('settingsPatch', () => {
  it('sends nothing when nothing changed (channel order does not matter)', () => {
    expect(settingsPatch(STORED, numbers, same)).toEqual({});
  });
  it('sends exactly the changed keys with their types', () => {
    expect(
      settingsPatch(STORED, { ...numbers, healthCheckInterval: '5' }, { 'auth.disablePasskeyLogin': true, 'scheduler.timezone': 'Europe/Berlin', systemNotificationChannels: ['c'] }),
    ).toEqual({ healthCheckInterval: 5, 'auth.disablePasskeyLogin': true, 'scheduler.timezone': 'Europe/Berlin', systemNotificationChannels: ['c'] });
    expect(settingsPatch(STORED, numbers, { ...same, systemNotificationChannels: [] })).toEqual({ systemNotificationChannels: [] });
  });
});

describe('configErrors (config backup form)', () => {
  const ok: ConfigBackupConfig = { enabled: true, schedule: '0 3 * * *', timezone: 'UTC', destinationId: 'd', encryptionProfileId: null, includeSecrets: false, includePasswordHashes: false, keep: 10 };
  it('accepts a complete form', () => expect(configErrors(ok)).toEqual({}));
  it('names each refused field', () => {
    expect(Object.keys(configErrors({ ...ok, includeSecrets: true }))).toEqual(['encryptionProfileId']);
    expect(Object.keys(configErrors({ ...ok, includePasswordHashes: true, encryptionProfileId: 'p' }))).toEqual([]);
    expect(Object.keys(configErrors({ ...ok, destinationId: null }))).toEqual(['destinationId']);
    expect(Object.keys(configErrors({ ...ok, enabled: false, destinationId: null }))).toEqual([]);
    expect(Object.keys(configErrors({ ...ok, keep: 0, schedule: ' ' }))).toEqual(['schedule', 'keep']);
    expect(Object.keys(configErrors({ ...ok, keep: 1001 }))).toEqual(['keep']);
  });
});
