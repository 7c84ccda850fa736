import { useEffect, useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import type { Settings } from '../api/types';
import { Button, Card, Field, Input, PageHeader } from '../components/ui';
import { ErrorAlert, QueryState } from '../components/common';
import { useCan } from '../lib/session';

const FIELDS: { key: keyof Settings & string; label: string; hint: string; min: number; max: number }[] = [
  { key: 'sessionLifetimeHours', label: 'Session lifetime (hours)', hint: 'Sliding; 1 hour to 90 days.', min: 1, max: 2160 },
  { key: 'auditLogRetentionDays', label: 'Audit log retention (days)', hint: 'Older entries are deleted hourly; 1 to 365.', min: 1, max: 365 },
  { key: 'maxConcurrentJobs', label: 'Concurrent executions', hint: 'Backups and restores running at once; 1 to 32.', min: 1, max: 32 },
  { key: 'stallTimeoutMinutes', label: 'Stall timeout (minutes)', hint: 'A running execution without progress for this long fails; 1 to 1440.', min: 1, max: 1440 },
  { key: 'healthCheckInterval', label: 'Health check interval (seconds)', hint: 'How often sources and destinations are checked; 1 to 86400.', min: 1, max: 86400 },
  { key: 'healthReminderInterval', label: 'Offline reminder interval (seconds)', hint: 'Repeat notice while an adapter stays offline; 60 to 604800.', min: 60, max: 604800 },
];

export default function SettingsPage() {
  const canWrite = useCan('settings:write');
  const qc = useQueryClient();
  const settings = useQuery({ queryKey: ['settings'], queryFn: api.settings });
  const [values, setValues] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (settings.data) setValues(Object.fromEntries(Object.entries(settings.data).map(([k, v]) => [k, String(v)])));
  }, [settings.data]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    const body: Record<string, number> = {};
    for (const f of FIELDS) if (settings.data && String(settings.data[f.key]) !== values[f.key]) body[f.key] = Number(values[f.key]);
    try {
      const next = await api.updateSettings(body);
      qc.setQueryData(['settings'], next);
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div>
      <PageHeader title="Settings" />
      <QueryState query={settings} what="settings">
        <Card className="max-w-xl">
          <form onSubmit={submit} className="space-y-4">
            {FIELDS.filter((f) => settings.data && f.key in settings.data).map((f) => (
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
            <ErrorAlert error={error} />
            {saved && <p role="status" className="text-sm text-success">Saved.</p>}
            {canWrite && <Button type="submit">Save settings</Button>}
          </form>
        </Card>
      </QueryState>
    </div>
  );
}
