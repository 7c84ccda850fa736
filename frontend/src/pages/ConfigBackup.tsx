/**
 * Settings → Configuration backup: the self-backup job (form, run now, list) and restore
 * (from a listed object or an uploaded file: dry run first, then confirm and apply).
 * docs/CONTRACTS.md "v3 additions" → Config self-backup.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import type { ConfigBackupConfig, ConfigBackupRun, ConfigBackupState, ConfigRestoreResult, Adapter, EncryptionProfile } from '../api/types';
import { Badge, Button, Card, Dialog, Field, Input, Select, Switch, Table, Td, Th } from '../components/ui';
import { ConfirmButton, Empty, ErrorAlert, QueryState } from '../components/common';
import { SearchableSelect } from '../components/pickers';
import { useCan } from '../lib/session';
import { formatBytes } from '../lib/utils';
import { useDateFormat } from '../lib/useDateFormat';
import { timeZones } from '../lib/datetime';
import { ACTIONS, actionTone, changesAnything, countsByEntity, entityLabel, visibleChanges } from '../lib/configRestore';

const SCHEDULES: { label: string; cron: string }[] = [
  { label: 'Every day at 03:00', cron: '0 3 * * *' },
  { label: 'Every 6 hours', cron: '0 */6 * * *' },
  { label: 'Every hour', cron: '0 * * * *' },
  { label: 'Every Sunday at 04:00', cron: '0 4 * * 0' },
];

/** Why the form cannot be saved as it is, by field (mirrors the server's 400s). */
export function configErrors(c: ConfigBackupConfig): Record<string, string> {
  const e: Record<string, string> = {};
  if (!c.schedule.trim()) e.schedule = 'Enter a schedule';
  if (c.enabled && !c.destinationId) e.destinationId = 'Choose a destination to enable the backup';
  if ((c.includeSecrets || c.includePasswordHashes) && !c.encryptionProfileId)
    e.encryptionProfileId = 'Required when secrets or password hashes are included';
  if (!Number.isInteger(c.keep) || c.keep < 1 || c.keep > 1000) e.keep = 'Keep 1 to 1000 backups';
  return e;
}

export default function ConfigBackupPanel() {
  const state = useQuery({ queryKey: ['config-backup'], queryFn: api.configBackup, retry: false });
  const storages = useQuery({ queryKey: ['adapters', 'storage'], queryFn: () => api.adapters('storage'), retry: false });
  const profiles = useQuery({ queryKey: ['encryption-profiles'], queryFn: api.encryptionProfiles, retry: false });
  return (
    <QueryState query={state} what="the configuration backup">
      {state.data && (
        <div className="space-y-4">
          <ConfigForm state={state.data} storages={storages.data ?? []} profiles={profiles.data ?? []} />
          <Backups state={state.data} storages={storages.data ?? []} profiles={profiles.data ?? []} />
        </div>
      )}
    </QueryState>
  );
}

function ConfigForm({ state, storages, profiles }: { state: ConfigBackupState; storages: Adapter[]; profiles: EncryptionProfile[] }) {
  const canWrite = useCan('settings:write');
  const qc = useQueryClient();
  const fmt = useDateFormat();
  const [c, setC] = useState<ConfigBackupConfig>(state.config);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [running, setRunning] = useState(false);
  const [run, setRun] = useState<ConfigBackupRun | null>(null);
  const [runError, setRunError] = useState<unknown>(null);
  const zones = useMemo(() => timeZones().map((z) => ({ value: z })), []);
  useEffect(() => setC(state.config), [state.config]);
  const set = (p: Partial<ConfigBackupConfig>) => {
    setC({ ...c, ...p });
    setSaved(false);
  };
  const dirty = JSON.stringify(c) !== JSON.stringify(state.config);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const errs = configErrors(c);
    setFieldErrors(errs);
    if (Object.keys(errs).length) return;
    try {
      qc.setQueryData(['config-backup'], await api.updateConfigBackup(c));
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  };
  const runNow = async () => {
    setRunning(true);
    setRun(null);
    setRunError(null);
    try {
      setRun(await api.runConfigBackup());
    } catch (err) {
      setRunError(err);
    } finally {
      setRunning(false);
      qc.invalidateQueries({ queryKey: ['config-backup'] });
      qc.invalidateQueries({ queryKey: ['config-backups'] });
    }
  };
  const preset = SCHEDULES.find((s) => s.cron === c.schedule);
  const secretsNeedKey = c.includeSecrets || c.includePasswordHashes;
  const last = state.lastRun;
  return (
    <Card>
      <form onSubmit={submit} className="space-y-4">
        <div className="flex flex-wrap items-start justify-between gap-3">
          <div>
            <h2 className="font-semibold">Configuration backup</h2>
            <p className="text-sm text-muted">
              Settings, sources, destinations, channels, encryption profiles, users, groups, SSO providers and jobs as one file in
              <code className="mx-1 rounded bg-subtle px-1">config-backups/</code>of a destination.
            </p>
          </div>
          <label className="flex items-center gap-2 text-sm font-medium">
            <Switch checked={c.enabled} disabled={!canWrite} onCheckedChange={(v) => set({ enabled: v })} aria-label="Scheduled configuration backup" />
            Scheduled
          </label>
        </div>
        <div className="grid gap-3 md:grid-cols-2">
          <Field label="Schedule" hint="Cron, 5 or 6 fields." error={fieldErrors.schedule}>
            {(id, d) => (
              <div className="flex gap-2">
                <Select aria-label="Schedule preset" className="w-44 shrink-0" value={preset?.cron ?? ''} disabled={!canWrite} onChange={(e) => e.target.value && set({ schedule: e.target.value })}>
                  <option value="">Custom</option>
                  {SCHEDULES.map((s) => (
                    <option key={s.cron} value={s.cron}>
                      {s.label}
                    </option>
                  ))}
                </Select>
                <Input id={id} aria-describedby={d} className="font-mono" value={c.schedule} disabled={!canWrite} onChange={(e) => set({ schedule: e.target.value })} />
              </div>
            )}
          </Field>
          <Field label="Time zone">
            {(id) => <SearchableSelect id={id} value={c.timezone} onChange={(z) => set({ timezone: z })} options={zones} disabled={!canWrite} />}
          </Field>
          <Field label="Destination" error={fieldErrors.destinationId}>
            {(id, d) => (
              <Select id={id} aria-describedby={d} value={c.destinationId ?? ''} disabled={!canWrite} onChange={(e) => set({ destinationId: e.target.value || null })}>
                <option value="">None</option>
                {storages.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field label="Encryption profile" hint={secretsNeedKey ? 'Required: the file holds secrets.' : 'Optional without secrets.'} error={fieldErrors.encryptionProfileId}>
            {(id, d) => (
              <Select id={id} aria-describedby={d} value={c.encryptionProfileId ?? ''} disabled={!canWrite} onChange={(e) => set({ encryptionProfileId: e.target.value || null })}>
                <option value="">Not encrypted</option>
                {profiles.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <label className="flex items-center gap-2 text-sm">
            <Switch checked={c.includeSecrets} disabled={!canWrite} onCheckedChange={(v) => set({ includeSecrets: v })} aria-label="Include secrets" />
            Include secrets (passwords, keys of adapters and profiles)
          </label>
          <label className="flex items-center gap-2 text-sm">
            <Switch checked={c.includePasswordHashes} disabled={!canWrite} onCheckedChange={(v) => set({ includePasswordHashes: v })} aria-label="Include password hashes" />
            Include users' password hashes
          </label>
          <Field label="Keep" hint="Older config backups are deleted after a success." error={fieldErrors.keep}>
            {(id, d) => <Input id={id} aria-describedby={d} type="number" min={1} max={1000} value={c.keep} disabled={!canWrite} onChange={(e) => set({ keep: Number(e.target.value) })} />}
          </Field>
          <div className="text-sm" data-testid="config-backup-next-run">
            <p className="font-medium">Next run</p>
            <p className="text-muted">
              {state.config.enabled && state.nextRunAt ? fmt.dateTime(state.nextRunAt) : 'not scheduled'}
              {dirty && ' (of the saved settings)'}
            </p>
            <p className="mt-1 font-medium">Last run</p>
            <p className="text-muted" data-testid="config-backup-last-run">
              {last ? (
                <>
                  {fmt.dateTime(last.at)} · <Badge tone={last.status === 'success' ? 'success' : 'danger'}>{last.status}</Badge>
                  {last.objectName && <span className="ml-1 break-all font-mono text-xs">{last.objectName}</span>}
                  {last.error && <span className="ml-1 text-danger">{last.error}</span>}
                </>
              ) : (
                'never'
              )}
            </p>
          </div>
        </div>
        <ErrorAlert error={error} />
        {saved && (
          <p role="status" className="text-sm text-success">
            Configuration backup saved.
          </p>
        )}
        <div className="flex flex-wrap gap-2">
          {canWrite && <Button type="submit">Save</Button>}
          {canWrite && (
            <Button variant="secondary" disabled={running || dirty || !state.config.destinationId} onClick={runNow} title={dirty ? 'Save first' : undefined}>
              {running ? 'Backing up…' : 'Back up now'}
            </Button>
          )}
        </div>
        <ErrorAlert error={runError} />
        {run && <RunResult run={run} />}
      </form>
    </Card>
  );
}

function RunResult({ run }: { run: ConfigBackupRun }) {
  return (
    <div role="status" data-testid="config-backup-result" className="rounded-md border border-green-300 bg-green-50 px-3 py-2 text-sm text-green-900 dark:border-green-800 dark:bg-green-950/40 dark:text-green-200">
      <p>
        <strong>Backed up</strong> <span className="break-all font-mono text-xs">{run.objectName}</span> · {formatBytes(run.size)} · {run.encrypted ? 'encrypted' : 'not encrypted'}
      </p>
      <p className="mt-0.5 text-xs">
        {Object.entries(run.counts)
          .map(([k, n]) => `${n} ${entityLabel(k).toLowerCase()}`)
          .join(', ')}
      </p>
    </div>
  );
}

type RestoreSource = { kind: 'object'; destinationId: string; name: string } | { kind: 'file'; file: File };

function Backups({ state, storages, profiles }: { state: ConfigBackupState; storages: Adapter[]; profiles: EncryptionProfile[] }) {
  const canWrite = useCan('settings:write');
  const fmt = useDateFormat();
  const [destination, setDestination] = useState<string>('');
  const dest = destination || state.config.destinationId || '';
  const list = useQuery({
    queryKey: ['config-backups', dest],
    queryFn: () => api.configBackups(dest || undefined),
    enabled: !!dest,
    retry: false,
  });
  const [file, setFile] = useState<File | null>(null);
  const [restoring, setRestoring] = useState<RestoreSource | null>(null);
  return (
    <Card className="space-y-3">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <h2 className="font-semibold">Config backups</h2>
        <Field label="Destination shown">
          {(id) => (
            <Select id={id} className="w-56" value={dest} onChange={(e) => setDestination(e.target.value)}>
              <option value="">Choose…</option>
              {storages.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </Select>
          )}
        </Field>
      </div>
      {!dest ? (
        <Empty title="No destination">Choose one above, or set one for the configuration backup.</Empty>
      ) : (
        <QueryState query={list} what="config backups">
          {list.data?.backups.length === 0 ? (
            <Empty title="No config backups on this destination yet" />
          ) : (
            <Table>
              <thead>
                <tr>
                  <Th>Name</Th>
                  <Th>Size</Th>
                  <Th>Modified</Th>
                  <Th>Encrypted</Th>
                  {canWrite && <Th className="text-right">Actions</Th>}
                </tr>
              </thead>
              <tbody>
                {list.data?.backups.map((b) => (
                  <tr key={b.name} data-testid="config-backup-row">
                    <Td className="break-all font-mono text-xs">{b.name}</Td>
                    <Td className="whitespace-nowrap">{formatBytes(b.size)}</Td>
                    <Td className="whitespace-nowrap">{fmt.dateTime(b.modifiedAt)}</Td>
                    <Td>{b.encrypted ? <Badge tone="info">encrypted</Badge> : <Badge>no</Badge>}</Td>
                    {canWrite && (
                      <Td className="text-right">
                        <Button size="sm" variant="secondary" onClick={() => setRestoring({ kind: 'object', destinationId: dest, name: b.name })}>
                          Restore…
                        </Button>
                      </Td>
                    )}
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </QueryState>
      )}
      {canWrite && (
        <div className="flex flex-wrap items-end gap-2 border-t border-border pt-3">
          <Field label="Restore from a file" hint="A downloaded dbackup-config_….json.gz[.dbk].">
            {(id, d) => <Input id={id} aria-describedby={d} type="file" accept=".gz,.dbk,.json,application/octet-stream" className="h-auto py-1.5" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />}
          </Field>
          <Button variant="secondary" disabled={!file} onClick={() => file && setRestoring({ kind: 'file', file })}>
            Restore from file…
          </Button>
        </div>
      )}
      {restoring && <RestoreDialog source={restoring} profiles={profiles} onClose={() => setRestoring(null)} />}
    </Card>
  );
}

function RestoreDialog({ source, profiles, onClose }: { source: RestoreSource; profiles: EncryptionProfile[]; onClose: () => void }) {
  const qc = useQueryClient();
  const [profileId, setProfileId] = useState('');
  const [preview, setPreview] = useState<ConfigRestoreResult | null>(null);
  const [applied, setApplied] = useState<ConfigRestoreResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const call = (dryRun: boolean) => {
    const key = profileId || undefined;
    return source.kind === 'object'
      ? api.configRestore({ source: { destinationId: source.destinationId, name: source.name }, dryRun, ...(key ? { encryptionProfileId: key } : {}) })
      : api.configRestoreUpload(source.file, { dryRun, encryptionProfileId: key });
  };
  const dryRun = async () => {
    setBusy(true);
    setError(null);
    setPreview(null);
    try {
      setPreview(await call(true));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const apply = async () => {
    const r = await call(false);
    setApplied(r);
    qc.invalidateQueries();
  };
  const label = source.kind === 'object' ? source.name : source.file.name;
  return (
    <Dialog open wide onOpenChange={(o) => !o && onClose()} title="Restore the configuration" description={`From ${label}. A dry run shows what would change; nothing is written until you confirm.`}>
      {applied ? (
        <div className="space-y-3">
          <p role="status" data-testid="config-restore-applied" className="text-sm text-success">
            Restored: {applied.counts.create} created, {applied.counts.update} updated, {applied.counts.unchanged} unchanged, {applied.counts.skip} skipped.
          </p>
          {applied.warnings.length > 0 && <Warnings warnings={applied.warnings} />}
          <div className="flex justify-end">
            <Button onClick={onClose}>Done</Button>
          </div>
        </div>
      ) : (
        <div className="space-y-3">
          <div className="flex flex-wrap items-end gap-2">
            <Field label="Key" hint="Found by the fingerprint in the file unless you choose one.">
              {(id, d) => (
                <Select id={id} aria-describedby={d} className="w-56" value={profileId} onChange={(e) => (setProfileId(e.target.value), setPreview(null))}>
                  <option value="">Find automatically</option>
                  {profiles.map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.name}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <Button variant="secondary" disabled={busy} onClick={dryRun}>
              {busy ? 'Checking…' : preview ? 'Dry run again' : 'Dry run'}
            </Button>
          </div>
          <ErrorAlert error={error} />
          {preview && <DryRunTable result={preview} />}
          <div className="flex justify-end gap-2">
            <Button variant="secondary" onClick={onClose}>
              Cancel
            </Button>
            {preview && (
              <ConfirmButton
                size="md"
                label="Restore…"
                title="Apply this restore?"
                description={`${preview.counts.create} to create and ${preview.counts.update} to update, in one transaction. Existing entries with the same names are overwritten; this cannot be undone.`}
                confirmLabel="Restore"
                disabled={!changesAnything(preview)}
                onConfirm={apply}
              />
            )}
          </div>
        </div>
      )}
    </Dialog>
  );
}

function Warnings({ warnings }: { warnings: string[] }) {
  return (
    <ul role="list" aria-label="Warnings" className="list-inside list-disc rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/40 dark:text-amber-200">
      {warnings.map((w, i) => (
        <li key={i}>{w}</li>
      ))}
    </ul>
  );
}

/** The dry run: totals, per-entity counts, warnings, and the change table. */
export function DryRunTable({ result }: { result: ConfigRestoreResult }) {
  const fmt = useDateFormat();
  const [hideUnchanged, setHideUnchanged] = useState(true);
  const [entity, setEntity] = useState('');
  const perEntity = countsByEntity(result.changes);
  const rows = visibleChanges(result.changes, { hideUnchanged, entity: entity || undefined });
  return (
    <div className="space-y-3" data-testid="config-dry-run">
      <p className="text-sm text-muted">
        Backup of {fmt.dateTime(result.createdAt)} (format {result.formatVersion}).
      </p>
      <div className="flex flex-wrap gap-2" aria-label="Totals" data-testid="config-dry-run-counts">
        {ACTIONS.map((a) => (
          <Badge key={a} tone={actionTone(a)}>
            {result.counts[a] ?? 0} {a}
          </Badge>
        ))}
      </div>
      {result.warnings.length > 0 && <Warnings warnings={result.warnings} />}
      <div className="flex flex-wrap items-center gap-3">
        <Select aria-label="Entity" className="w-48" value={entity} onChange={(e) => setEntity(e.target.value)}>
          <option value="">All entities</option>
          {perEntity.map((p) => (
            <option key={p.entity} value={p.entity}>
              {entityLabel(p.entity)} ({Object.values(p.counts).reduce((a, b) => a + b, 0)})
            </option>
          ))}
        </Select>
        <label className="flex items-center gap-2 text-sm">
          <Switch checked={hideUnchanged} onCheckedChange={setHideUnchanged} aria-label="Hide unchanged" />
          Hide unchanged
        </label>
      </div>
      <Table>
        <thead>
          <tr>
            <Th>Entity</Th>
            <Th>Action</Th>
            <Th>Name</Th>
            <Th>Reason</Th>
          </tr>
        </thead>
        <tbody>
          {rows.map((c, i) => (
            <tr key={`${c.entity}-${c.name}-${i}`} data-testid="config-change-row">
              <Td className="whitespace-nowrap">{entityLabel(c.entity)}</Td>
              <Td>
                <Badge tone={actionTone(c.action)}>{c.action}</Badge>
              </Td>
              <Td className="break-all">{c.name}</Td>
              <Td className="text-muted">{c.reason ?? ''}</Td>
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <Td colSpan={4} className="text-center text-muted">
                {hideUnchanged ? 'Nothing would change.' : 'No entries.'}
              </Td>
            </tr>
          )}
        </tbody>
      </Table>
    </div>
  );
}
