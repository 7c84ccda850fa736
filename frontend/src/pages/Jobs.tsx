import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { api } from '../api/client';
import type { Compression, Job, JobBody, JobDestination, Retention } from '../api/types';
import { Button, Card, Dialog, Field, Input, PageHeader, Select, Switch, Table, Td, Th } from '../components/ui';
import { ConfirmButton, Empty, ErrorAlert, QueryState } from '../components/common';
import { useCan } from '../lib/session';
import { useDateFormat } from '../lib/useDateFormat';
import { StatusBadge } from '../components/StatusBadge';
import { DatabasePicker } from '../components/pickers';
import { COMPRESSION_TABLE, compressionHint } from '../lib/compression';

/** Simple-mode schedules and the cron they stand for. */
export const PRESETS: { label: string; cron: string }[] = [
  { label: 'Every hour', cron: '0 * * * *' },
  { label: 'Every day at 02:00', cron: '0 2 * * *' },
  { label: 'Every Sunday at 03:00', cron: '0 3 * * 0' },
  { label: 'First of the month at 04:00', cron: '0 4 1 * *' },
];

/** The writable fields of a job (the PUT body). */
function jobBody(j: Job): JobBody {
  return {
    name: j.name,
    schedule: j.schedule,
    timezone: j.timezone,
    enabled: j.enabled,
    sourceId: j.sourceId,
    databases: j.databases ?? [],
    destinations: (j.destinations ?? []).map((d) => ({ destinationId: d.destinationId, retention: d.retention })),
    compression: j.compression,
    compressionLevel: j.compressionLevel ?? undefined,
    encryptionProfileId: j.encryptionProfileId ?? null,
    notificationIds: j.notificationIds ?? [],
    notificationEvents: j.notificationEvents,
    verifyAfterUpload: j.verifyAfterUpload,
  };
}

export default function JobsPage() {
  const fmt = useDateFormat();
  const canWrite = useCan('jobs:write');
  const canRun = useCan('jobs:execute');
  const qc = useQueryClient();
  const navigate = useNavigate();
  const jobs = useQuery({ queryKey: ['jobs'], queryFn: api.jobs, retry: false, refetchInterval: 15_000 });
  const [editing, setEditing] = useState<Job | 'new' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ['jobs'] });
  const toggle = async (j: Job, enabled: boolean) => {
    setError(null);
    try {
      await api.updateJob(j.id, { ...jobBody(j), enabled });
      refresh();
    } catch (e) {
      setError(e);
    }
  };
  const run = async (j: Job) => {
    setError(null);
    try {
      const { executionId } = await api.runJob(j.id);
      refresh();
      navigate(`/history/${executionId}`);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div>
      <PageHeader title="Jobs" actions={canWrite && !jobs.error && <Button onClick={() => setEditing('new')}>New job</Button>}>
        Scheduled backups: what, when, where, and how long to keep them.
      </PageHeader>
      <ErrorAlert error={error} className="mb-3" />
      <QueryState query={jobs} what="jobs">
        {jobs.data?.length === 0 ? (
          <Empty title="No jobs yet" />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Schedule</Th>
                <Th>Last status</Th>
                <Th>Next run</Th>
                <Th>Enabled</Th>
                <Th className="text-right">Actions</Th>
              </tr>
            </thead>
            <tbody>
              {jobs.data?.map((j) => (
                <tr key={j.id}>
                  <Td className="font-medium">{j.name}</Td>
                  <Td className="font-mono text-xs">{j.schedule}</Td>
                  <Td>{j.lastExecution ? <StatusBadge status={j.lastExecution.status} /> : <span className="text-muted">never run</span>}</Td>
                  <Td className="whitespace-nowrap">{j.enabled === false ? '—' : fmt.dateTime(j.nextRunAt)}</Td>
                  <Td>
                    <Switch checked={j.enabled !== false} disabled={!canWrite} aria-label={`Enable ${j.name}`} onCheckedChange={(c) => toggle(j, c)} />
                  </Td>
                  <Td className="whitespace-nowrap text-right">
                    <div className="inline-flex gap-1">
                      {canRun && (
                        <Button size="sm" onClick={() => run(j)}>
                          Run now
                        </Button>
                      )}
                      {canWrite && (
                        <>
                          <Button size="sm" variant="secondary" onClick={() => setEditing(j)}>
                            Edit
                          </Button>
                          <ConfirmButton label="Delete" title={`Delete job ${j.name}?`} description="Its backups stay in storage; its history stays." onConfirm={() => api.deleteJob(j.id).then(refresh)} />
                        </>
                      )}
                    </div>
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </QueryState>
      {editing && (
        <JobEditor
          job={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            refresh();
          }}
        />
      )}
    </div>
  );
}

function RetentionEditor({ value, onChange }: { value: Retention; onChange: (r: Retention) => void }) {
  return (
    <div className="flex flex-wrap items-end gap-2">
      <Select
        aria-label="Retention"
        className="w-36"
        value={value.mode}
        onChange={(e) => {
          const m = e.target.value;
          onChange(m === 'SIMPLE' ? { mode: 'SIMPLE', simple: { keepCount: 7 } } : m === 'SMART' ? { mode: 'SMART', smart: { daily: 7, weekly: 4, monthly: 12, yearly: 2 } } : { mode: 'NONE' });
        }}
      >
        <option value="NONE">Keep all</option>
        <option value="SIMPLE">Keep last N</option>
        <option value="SMART">Smart (GFS)</option>
      </Select>
      {value.mode === 'SIMPLE' && (
        <Input aria-label="Keep count" type="number" min={1} className="w-24" value={value.simple.keepCount} onChange={(e) => onChange({ mode: 'SIMPLE', simple: { keepCount: Number(e.target.value) } })} />
      )}
      {value.mode === 'SMART' &&
        (['daily', 'weekly', 'monthly', 'yearly'] as const).map((k) => (
          <label key={k} className="text-xs">
            {k}
            <Input type="number" min={0} className="w-16" value={value.smart[k]} onChange={(e) => onChange({ mode: 'SMART', smart: { ...value.smart, [k]: Number(e.target.value) } })} />
          </label>
        ))}
    </div>
  );
}

function JobEditor({ job, onClose, onSaved }: { job: Job | null; onClose: () => void; onSaved: () => void }) {
  const fmt = useDateFormat();
  const sources = useQuery({ queryKey: ['adapters', 'database'], queryFn: () => api.adapters('database'), retry: false });
  const dests = useQuery({ queryKey: ['adapters', 'storage'], queryFn: () => api.adapters('storage'), retry: false });
  const channels = useQuery({ queryKey: ['adapters', 'notification'], queryFn: () => api.adapters('notification'), retry: false });
  const profiles = useQuery({ queryKey: ['encryption-profiles'], queryFn: api.encryptionProfiles, retry: false });
  const nextRuns = useQuery({
    queryKey: ['next-runs', job?.id, job?.schedule],
    queryFn: () => api.nextRuns(job!.id, 5),
    enabled: !!job,
    retry: false,
  });
  const [body, setBody] = useState<JobBody>(
    job
      ? jobBody(job)
      : { name: '', schedule: PRESETS[1].cron, timezone: Intl.DateTimeFormat().resolvedOptions().timeZone, enabled: true, sourceId: '', databases: [], destinations: [], compression: 'ZSTD', notificationEvents: 'FAILURE_ONLY', notificationIds: [], encryptionProfileId: null },
  );
  const [cronMode, setCronMode] = useState(() => !PRESETS.some((p) => p.cron === body.schedule));
  const [error, setError] = useState<unknown>(null);
  // Updates apply to the latest state, so two changes in one render never undo each other.
  const set = (patch: Partial<JobBody>) => setBody((b) => ({ ...b, ...patch }));
  const setDest = (i: number, d: JobDestination | null) =>
    setBody((b) => {
      const next = [...b.destinations];
      if (d) next[i] = d;
      else next.splice(i, 1);
      return { ...b, destinations: next };
    });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      if (job) await api.updateJob(job.id, body);
      else await api.createJob(body);
      onSaved();
    } catch (err) {
      setError(err);
    }
  };
  const runs = nextRuns.data?.runs ?? null;
  return (
    <Dialog open wide onOpenChange={(o) => !o && onClose()} title={job ? `Edit ${job.name}` : 'New job'}>
      <form onSubmit={submit} className="space-y-4">
        <div className="grid gap-3 md:grid-cols-2">
          <Field label="Name">{(id) => <Input id={id} value={body.name} onChange={(e) => set({ name: e.target.value })} required />}</Field>
          <Field label="Source">
            {(id) => (
              <Select id={id} value={body.sourceId} onChange={(e) => set({ sourceId: e.target.value })} required>
                <option value="">Choose a source…</option>
                {sources.data?.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field label="Encryption profile">
            {(id) => (
              <Select id={id} value={body.encryptionProfileId ?? ''} onChange={(e) => set({ encryptionProfileId: e.target.value || null })}>
                <option value="">Not encrypted</option>
                {profiles.data?.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field
            label="Compression"
            hint={
              <>
                {compressionHint(body.compression)}{' '}
                <span title={COMPRESSION_TABLE.filter((r) => r.seconds !== null).map((r) => `${r.label}: ${r.storedMb} MB, ${r.seconds} s, ${r.cpuSeconds} CPU-s`).join('\n')}>(measured: docs/BENCH.md)</span>
              </>
            }
          >
            {(id, d) => (
              <Select id={id} aria-describedby={d} value={body.compression} onChange={(e) => set({ compression: e.target.value as Compression })}>
                {['ZSTD', 'GZIP', 'NONE', 'BROTLI'].map((c) => (
                  <option key={c} value={c}>
                    {c === 'ZSTD' ? 'ZSTD (default)' : c}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field label="Compression level" hint="Empty for the default.">
            {(id, d) => <Input id={id} aria-describedby={d} type="number" value={body.compressionLevel ?? ''} disabled={body.compression === 'NONE'} onChange={(e) => set({ compressionLevel: e.target.value === '' ? undefined : Number(e.target.value) })} />}
          </Field>
        </div>
        <label className="flex items-center gap-2 text-sm" title="After the upload, each destination's object is read back, authenticated chunk by chunk and its SHA-256 compared (a second transfer on remote storage).">
          <Switch checked={body.verifyAfterUpload !== false} onCheckedChange={(c) => set({ verifyAfterUpload: c })} aria-label="Verify after upload" />
          Verify each destination's copy after upload
        </label>

        <Card className="space-y-2">
          <h3 className="font-medium">What to back up</h3>
          <DatabasePicker sourceId={body.sourceId} value={body.databases} onChange={(databases) => set({ databases })} />
        </Card>

        <Card className="space-y-2">
          <div className="flex items-center justify-between">
            <h3 className="font-medium">Schedule</h3>
            <label className="flex items-center gap-2 text-sm">
              Cron <Switch checked={cronMode} onCheckedChange={setCronMode} aria-label="Cron mode" />
            </label>
          </div>
          {cronMode ? (
            <Field label="Cron expression" hint="5 or 6 fields, or @daily, @hourly…">
              {(id, d) => <Input id={id} aria-describedby={d} className="font-mono" value={body.schedule} onChange={(e) => set({ schedule: e.target.value })} required />}
            </Field>
          ) : (
            <Field label="Runs">
              {(id) => (
                <Select id={id} value={body.schedule} onChange={(e) => set({ schedule: e.target.value })}>
                  {PRESETS.map((p) => (
                    <option key={p.cron} value={p.cron}>
                      {p.label}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
          )}
          <Field label="Time zone">{(id) => <Input id={id} value={body.timezone ?? ''} onChange={(e) => set({ timezone: e.target.value })} />}</Field>
          {job && (
            <div className="text-sm">
              <p className="font-medium">Next runs {job.schedule !== body.schedule && <span className="text-muted">(of the saved schedule)</span>}</p>
              {runs ? (
                <ul className="text-muted" data-testid="next-runs">
                  {runs.map((r) => (
                    <li key={r}>{fmt.dateTime(r)}</li>
                  ))}
                </ul>
              ) : nextRuns.error ? (
                <ErrorAlert error={nextRuns.error} />
              ) : (
                <p className="text-muted">…</p>
              )}
            </div>
          )}
        </Card>

        <Card className="space-y-2">
          <div className="flex items-center justify-between">
            <h3 className="font-medium">Destinations</h3>
            <Button size="sm" variant="secondary" disabled={!dests.data?.length} onClick={() => setBody((b) => ({ ...b, destinations: [...b.destinations, { destinationId: dests.data?.[0]?.id ?? '', retention: { mode: 'SIMPLE', simple: { keepCount: 7 } } }] }))}>
              Add destination
            </Button>
          </div>
          {body.destinations.length === 0 && <p className="text-sm text-muted">Add at least one destination.</p>}
          {body.destinations.map((d, i) => (
            <div key={i} className="flex flex-wrap items-end gap-2 border-t border-border pt-2">
              <Select aria-label="Destination" className="w-48" value={d.destinationId} onChange={(e) => setDest(i, { ...d, destinationId: e.target.value })}>
                {dests.data?.map((x) => (
                  <option key={x.id} value={x.id}>
                    {x.name}
                  </option>
                ))}
              </Select>
              <RetentionEditor value={d.retention} onChange={(r) => setDest(i, { ...d, retention: r })} />
              <Button size="sm" variant="ghost" onClick={() => setDest(i, null)} aria-label="Remove destination">
                Remove
              </Button>
            </div>
          ))}
        </Card>

        <Card className="space-y-2">
          <h3 className="font-medium">Notifications</h3>
          <Select aria-label="Notify on" value={body.notificationEvents ?? 'FAILURE_ONLY'} onChange={(e) => set({ notificationEvents: e.target.value as JobBody['notificationEvents'] })}>
            <option value="ALWAYS">Always</option>
            <option value="FAILURE_ONLY">On failure</option>
            <option value="SUCCESS_ONLY">On success</option>
          </Select>
          <div className="flex flex-wrap gap-3">
            {channels.data?.map((c) => (
              <label key={c.id} className="flex items-center gap-1.5 text-sm">
                <input
                  type="checkbox"
                  checked={body.notificationIds?.includes(c.id) ?? false}
                  onChange={(e) => set({ notificationIds: e.target.checked ? [...(body.notificationIds ?? []), c.id] : (body.notificationIds ?? []).filter((x) => x !== c.id) })}
                />
                {c.name}
              </label>
            ))}
            {!channels.data?.length && <p className="text-sm text-muted">No channels configured.</p>}
          </div>
        </Card>

        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit">{job ? 'Save job' : 'Create job'}</Button>
        </div>
      </form>
    </Dialog>
  );
}
