import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import type { Settings } from '../api/types';
import { Button, Card, Field, Input, PageHeader, Switch, Tabs, TabsContent, TabsList, TabsTrigger } from '../components/ui';
import { ErrorAlert, QueryState } from '../components/common';
import { CheckList, SearchableSelect } from '../components/pickers';
import { useCan } from '../lib/session';
import { timeZones } from '../lib/datetime';
import ConfigBackupPanel from './ConfigBackup';

const FIELDS: { key: keyof Settings & string; label: string; hint: string; min: number; max: number }[] = [
  { key: 'sessionLifetimeHours', label: 'Session lifetime (hours)', hint: 'Sliding; 1 hour to 90 days.', min: 1, max: 2160 },
  { key: 'auditLogRetentionDays', label: 'Audit log retention (days)', hint: 'Older entries are deleted hourly; 1 to 365.', min: 1, max: 365 },
  { key: 'maxConcurrentJobs', label: 'Concurrent executions', hint: 'Backups and restores running at once; 1 to 32.', min: 1, max: 32 },
  { key: 'stallTimeoutMinutes', label: 'Stall timeout (minutes)', hint: 'A running execution without progress for this long fails; 1 to 1440.', min: 1, max: 1440 },
  { key: 'healthCheckInterval', label: 'Health check interval (seconds)', hint: 'How often sources and destinations are checked; 1 to 86400.', min: 1, max: 86400 },
  { key: 'healthReminderInterval', label: 'Offline reminder interval (seconds)', hint: 'Repeat notice while an adapter stays offline; 60 to 604800.', min: 60, max: 604800 },
];

const PASSKEY = 'auth.disablePasskeyLogin';
const ZONE = 'scheduler.timezone';
const CHANNELS = 'systemNotificationChannels';

export default function SettingsPage() {
  return (
    <div>
      <PageHeader title="Settings" />
      <Tabs defaultValue="general">
        <TabsList>
          <TabsTrigger value="general">General</TabsTrigger>
          <TabsTrigger value="config-backup">Configuration backup</TabsTrigger>
        </TabsList>
        <TabsContent value="general">
          <GeneralSettings />
        </TabsContent>
        <TabsContent value="config-backup">
          <ConfigBackupPanel />
        </TabsContent>
      </Tabs>
    </div>
  );
}

/** What changed between the stored settings and the form, as the PATCH body. */
export function settingsPatch(stored: Settings, numbers: Record<string, string>, extra: Pick<Settings, typeof PASSKEY | typeof ZONE | typeof CHANNELS>): Partial<Settings> {
  const body: Record<string, number | string | boolean | string[]> = {};
  for (const f of FIELDS) if (f.key in stored && String(stored[f.key]) !== numbers[f.key]) body[f.key] = Number(numbers[f.key]);
  if (PASSKEY in stored && stored[PASSKEY] !== extra[PASSKEY]) body[PASSKEY] = extra[PASSKEY];
  if (ZONE in stored && stored[ZONE] !== extra[ZONE]) body[ZONE] = extra[ZONE];
  const before = [...((stored[CHANNELS] as string[] | undefined) ?? [])].sort().join('\n');
  if (CHANNELS in stored && before !== [...extra[CHANNELS]].sort().join('\n')) body[CHANNELS] = extra[CHANNELS];
  return body as Partial<Settings>;
}

function GeneralSettings() {
  const canWrite = useCan('settings:write');
  const canChannels = useCan('notifications:read');
  const qc = useQueryClient();
  const settings = useQuery({ queryKey: ['settings'], queryFn: api.settings });
  const channels = useQuery({ queryKey: ['adapters', 'notification'], queryFn: () => api.adapters('notification'), enabled: canChannels, retry: false });
  const [values, setValues] = useState<Record<string, string>>({});
  const [passkeyOff, setPasskeyOff] = useState(false);
  const [zone, setZone] = useState('UTC');
  const [channelIds, setChannelIds] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const zones = useMemo(() => timeZones().map((z) => ({ value: z })), []);
  useEffect(() => {
    const s = settings.data;
    if (!s) return;
    setValues(Object.fromEntries(Object.entries(s).map(([k, v]) => [k, String(v)])));
    setPasskeyOff(s[PASSKEY] === true);
    setZone(String(s[ZONE] ?? 'UTC'));
    setChannelIds([...((s[CHANNELS] as string[] | undefined) ?? [])]);
  }, [settings.data]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!settings.data) return;
    setError(null);
    setSaved(false);
    try {
      const next = await api.updateSettings(settingsPatch(settings.data, values, { [PASSKEY]: passkeyOff, [ZONE]: zone, [CHANNELS]: channelIds }));
      qc.setQueryData(['settings'], next);
      qc.invalidateQueries({ queryKey: ['setup-status'] });
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  };
  const s = settings.data;
  // Channels the setting names but the list does not (deleted, or not readable here).
  const known = channels.data ?? [];
  const options = [
    ...known.map((c) => ({ value: c.id, label: c.name, hint: c.adapterId })),
    ...channelIds.filter((id) => !known.some((c) => c.id === id)).map((id) => ({ value: id, label: id, hint: 'unknown channel' })),
  ];
  return (
    <QueryState query={settings} what="settings">
      <form onSubmit={submit} className="grid max-w-5xl gap-4 lg:grid-cols-2">
        <Card className="space-y-4">
          <h2 className="font-semibold">Limits and intervals</h2>
          {FIELDS.filter((f) => s && f.key in s).map((f) => (
            <Field key={f.key} label={f.label} hint={f.hint}>
              {(id, d) => (
                <Input
                  id={id}
                  aria-describedby={d}
                  type="number"
                  min={f.min}
                  max={f.max}
                  value={values[f.key] ?? ''}
                  disabled={!canWrite}
                  onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
                />
              )}
            </Field>
          ))}
        </Card>
        <div className="space-y-4">
          <Card className="space-y-4">
            <h2 className="font-semibold">Sign-in and schedules</h2>
            {s && PASSKEY in s && (
              <div className="flex items-start justify-between gap-4">
                <div>
                  <label htmlFor="setting-passkey-login" className="text-sm font-medium">
                    Disable passkey sign-in
                  </label>
                  <p id="setting-passkey-login-hint" className="text-xs text-muted">
                    Hides "Sign in with a passkey" on the login page and refuses passwordless passkey logins. Passkeys as a second factor keep working.
                  </p>
                </div>
                <Switch id="setting-passkey-login" aria-describedby="setting-passkey-login-hint" checked={passkeyOff} disabled={!canWrite} onCheckedChange={setPasskeyOff} />
              </div>
            )}
            {s && ZONE in s && (
              <Field label="Scheduler time zone" hint="Default zone of job schedules (and the config backup) that name none.">
                {(id, d) => <SearchableSelect id={id} describedBy={d} value={zone} onChange={setZone} options={zones} disabled={!canWrite} />}
              </Field>
            )}
          </Card>
          {s && CHANNELS in s && (
            <Card className="space-y-2">
              <h2 className="font-semibold">System notification channels</h2>
              <p className="text-xs text-muted">Where adapter outages, recoveries and config backup failures are announced.</p>
              {canChannels && channels.error ? <ErrorAlert error={channels.error} /> : null}
              <CheckList
                label="System notification channels"
                options={options}
                selected={channelIds}
                onChange={setChannelIds}
                disabled={!canWrite}
                empty={canChannels ? 'No notification channels yet: add one under Notifications.' : 'You may not list notification channels.'}
              />
            </Card>
          )}
          <ErrorAlert error={error} />
          {saved && (
            <p role="status" className="text-sm text-success">
              Saved.
            </p>
          )}
          {canWrite && <Button type="submit">Save settings</Button>}
        </div>
      </form>
    </QueryState>
  );
}
