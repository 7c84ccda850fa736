import { useState } from 'react';
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from 'react-router';
import { api, ApiError, query, request } from '../api/client';
import type { Adapter } from '../api/types';
import { Badge, Button, Checkbox, Dialog, Field, Input, PageHeader, Select, Table, Td, Th } from '../components/ui';
import { ConfirmButton, Empty, ErrorAlert, LoadMore, QueryState } from '../components/common';
import { useCan } from '../lib/session';
import { formatBytes } from '../lib/utils';
import { useDateFormat } from '../lib/useDateFormat';
import { PrivateKeyField, privateKeyToSend } from './WriteOnlyProfile';

/** One backup of `GET /api/storage/{destinationId}/backups` (components/storage). */
export interface StoredBackup {
  path: string;
  size: number;
  createdAt: string | null;
  modifiedAt: string | null;
  hasMetadata: boolean;
  jobId: string | null;
  jobName: string | null;
  sourceId: string | null;
  databases: string[];
  engine: string | null;
  engineVersion: string | null;
  format: string | null;
  compression: string | null;
  encrypted: boolean;
  keyFingerprint: string | null;
  encryptionProfileId: string | null;
  locked: boolean;
  /** `dbackup`: written by DBackup (restored with a "DBackup import" profile). */
  origin?: 'dbackup' | null;
}

interface BackupPage {
  items: StoredBackup[];
  nextCursor: string | null;
  total: number;
}

const enc = encodeURIComponent;

/** The storage explorer's endpoints. */
export const storageApi = {
  backups: (dest: string, f: { jobId?: string; cursor?: string | null; limit?: number }) =>
    request<BackupPage>('GET', `/api/storage/${enc(dest)}/backups${query(f)}`),
  remove: (dest: string, path: string) => request<void>('DELETE', `/api/storage/${enc(dest)}/backups${query({ path })}`),
  lock: (dest: string, path: string, locked: boolean) =>
    request<StoredBackup>('POST', `/api/storage/${enc(dest)}/backups/${locked ? 'lock' : 'unlock'}`, { path }),
  downloadUrl: (dest: string, path: string, decrypt = false) =>
    `/api/storage/${enc(dest)}/download${query({ path, decrypt: decrypt ? 'true' : undefined })}`,
  restore: (b: {
    destinationId: string;
    path: string;
    targetSourceId: string;
    databaseMapping?: Record<string, string>;
    privileged?: { user: string; password?: string };
    force?: boolean;
    /** A files backup: the directory to restore into, and whether existing files are replaced. */
    targetPath?: string;
    overwrite?: boolean;
    /** A backup of a write-only profile: its private key (64 hex), for this restore only. */
    privateKey?: string;
    /** A DBackup backup: the "DBackup import" profile (absent = the only one). */
    encryptionProfileId?: string;
    /** A DBackup backup that is not encrypted: restore it although nothing authenticates it. */
    acceptUnauthenticated?: boolean;
  }) =>
    request<{ executionId: string }>('POST', '/api/restores', b),
};

/**
 * Whether a restore is of a files backup (into a directory) rather than a database: the backup's
 * sidecar says so, or (a backup without one) the chosen target is a files source.
 */
export function isFilesRestore(backup: Pick<StoredBackup, 'engine'>, target?: Pick<Adapter, 'adapterId'>): boolean {
  return backup.engine === 'files' || target?.adapterId === 'files';
}

/** The sources a backup can be restored onto: files sources for a files backup, databases otherwise. */
export function restoreTargets<T extends Pick<Adapter, 'adapterId'>>(backup: Pick<StoredBackup, 'engine'>, sources: T[]): T[] {
  if (!backup.engine) return sources;
  return sources.filter((s) => (s.adapterId === 'files') === (backup.engine === 'files'));
}

/** Compares "major.minor" of two versions (-1, 0, 1), or null when either is unknown. */
export function compareVersions(a: string | null | undefined, b: string | null | undefined): number | null {
  const pa = /(\d+)(?:\.(\d+))?/.exec(a ?? '');
  const pb = /(\d+)(?:\.(\d+))?/.exec(b ?? '');
  if (!pa || !pb) return null;
  const [ma, na, mb, nb] = [Number(pa[1]), Number(pa[2] ?? 0), Number(pb[1]), Number(pb[2] ?? 0)];
  if (ma !== mb) return ma < mb ? -1 : 1;
  if (na !== nb) return na < nb ? -1 : 1;
  return 0;
}

export default function StoragePage() {
  const { destinationId } = useParams();
  const destinations = useQuery({ queryKey: ['adapters', 'storage'], queryFn: () => api.adapters('storage'), retry: false });
  const navigate = useNavigate();
  const current = destinations.data?.find((d) => d.id === destinationId) ?? null;
  return (
    <div>
      <PageHeader
        title={current ? `Storage: ${current.name}` : 'Storage'}
        actions={
          destinations.data && destinations.data.length > 0 ? (
            <Field label="Destination">
              {(fid) => (
                <Select
                  id={fid}
                  value={destinationId ?? ''}
                  onChange={(e) => navigate(e.target.value ? `/storage/${enc(e.target.value)}` : '/storage')}
                >
                  <option value="">Choose…</option>
                  {destinations.data.map((d) => (
                    <option key={d.id} value={d.id}>
                      {d.name}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
          ) : undefined
        }
      >
        The backups stored on a destination, read from the storage itself.
      </PageHeader>
      <QueryState query={destinations} what="destinations">
        {destinationId ? (
          <Backups destinationId={destinationId} />
        ) : destinations.data && destinations.data.length > 0 ? (
          <ul className="grid gap-2 sm:grid-cols-2 lg:grid-cols-3">
            {destinations.data.map((d) => (
              <li key={d.id}>
                <Link
                  to={`/storage/${enc(d.id)}`}
                  className="block rounded-lg border border-border bg-card p-4 hover:bg-subtle"
                >
                  <p className="font-medium">{d.name}</p>
                  <p className="text-xs text-muted">{d.adapterId}</p>
                </Link>
              </li>
            ))}
          </ul>
        ) : (
          <Empty title="No destinations yet">Add one under Destinations.</Empty>
        )}
      </QueryState>
    </div>
  );
}

function Backups({ destinationId }: { destinationId: string }) {
  const fmt = useDateFormat();
  const [jobId, setJobId] = useState('');
  const [restoring, setRestoring] = useState<StoredBackup | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const qc = useQueryClient();
  const canDelete = useCan('storage:delete');
  const canDownload = useCan('storage:download');
  const canRestore = useCan('storage:restore');
  const jobs = useQuery({ queryKey: ['jobs'], queryFn: api.jobs, enabled: useCan('jobs:read'), retry: false });
  const list = useInfiniteQuery({
    queryKey: ['storage', destinationId, jobId],
    queryFn: ({ pageParam }) => storageApi.backups(destinationId, { jobId, cursor: pageParam, limit: 50 }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
    retry: false,
  });
  const rows = list.data?.pages.flatMap((p) => p.items) ?? [];
  const refresh = () => qc.invalidateQueries({ queryKey: ['storage', destinationId] });
  const toggleLock = async (b: StoredBackup) => {
    setActionError(null);
    try {
      await storageApi.lock(destinationId, b.path, !b.locked);
      await refresh();
    } catch (e) {
      setActionError(e);
    }
  };
  return (
    <div>
      <div className="mb-4 flex flex-wrap items-end gap-3">
        {jobs.data && (
          <Field label="Job">
            {(fid) => (
              <Select id={fid} value={jobId} onChange={(e) => setJobId(e.target.value)}>
                <option value="">All jobs</option>
                {jobs.data.map((j) => (
                  <option key={j.id} value={j.id}>
                    {j.name}
                  </option>
                ))}
              </Select>
            )}
          </Field>
        )}
        <Button variant="secondary" onClick={refresh}>
          Refresh
        </Button>
        {list.data && (
          <p className="text-sm text-muted" data-testid="backup-count">
            {list.data.pages[0]?.total ?? 0} backup(s)
          </p>
        )}
      </div>
      <ErrorAlert error={actionError} className="mb-3" />
      <QueryState query={list} what="the storage explorer">
        {rows.length === 0 ? (
          <Empty title="No backups on this destination" testId="no-backups" />
        ) : (
          <Table aria-label="Backups">
            <thead>
              <tr>
                <Th>Backup</Th>
                <Th>Databases</Th>
                <Th>Size</Th>
                <Th>Created</Th>
                <Th>Encrypted</Th>
                <Th>Locked</Th>
                <Th className="text-right">Actions</Th>
              </tr>
            </thead>
            <tbody>
              {rows.map((b) => (
                <tr key={b.path} data-testid="backup-row">
                  <Td>
                    <p className="font-medium">{b.jobName ?? '—'}</p>
                    <p className="break-all font-mono text-xs text-muted">{b.path}</p>
                    {b.engine && (
                      <p className="text-xs text-muted">
                        {b.origin === 'dbackup' && (
                          <Badge tone="info" className="mr-1" title="Written by DBackup">
                            DBackup
                          </Badge>
                        )}
                        {b.engine}
                        {b.engineVersion ? ` ${b.engineVersion}` : ''}
                        {b.compression ? ` · ${b.compression}` : ''}
                      </p>
                    )}
                  </Td>
                  <Td>{b.databases.length ? b.databases.join(', ') : '—'}</Td>
                  <Td className="whitespace-nowrap">{formatBytes(b.size)}</Td>
                  <Td className="whitespace-nowrap">{fmt.dateTime(b.createdAt)}</Td>
                  <Td>
                    {b.encrypted ? (
                      <Badge tone="info" title={b.keyFingerprint ? `Key ${b.keyFingerprint}` : undefined}>
                        Encrypted
                      </Badge>
                    ) : (
                      <span className="text-muted">No</span>
                    )}
                  </Td>
                  <Td>{b.locked ? <Badge tone="warn">Locked</Badge> : <span className="text-muted">No</span>}</Td>
                  <Td>
                    <div className="flex flex-wrap justify-end gap-1">
                      {canDownload && (
                        <Button asChild size="sm" variant="secondary">
                          <a href={storageApi.downloadUrl(destinationId, b.path)} download>
                            Download
                          </a>
                        </Button>
                      )}
                      {canDownload && b.encrypted && b.origin !== 'dbackup' && (
                        <Button asChild size="sm" variant="ghost">
                          <a href={storageApi.downloadUrl(destinationId, b.path, true)} download>
                            Decrypted
                          </a>
                        </Button>
                      )}
                      {canRestore && (
                        <Button size="sm" variant="secondary" onClick={() => setRestoring(b)}>
                          Restore
                        </Button>
                      )}
                      {canDelete && b.hasMetadata && (
                        <Button size="sm" variant="ghost" onClick={() => toggleLock(b)}>
                          {b.locked ? 'Unlock' : 'Lock'}
                        </Button>
                      )}
                      {canDelete && (
                        <ConfirmButton
                          label="Delete"
                          title="Delete this backup?"
                          description={`${b.path} and its metadata are removed from the storage. This cannot be undone.`}
                          disabled={b.locked}
                          onConfirm={async () => {
                            await storageApi.remove(destinationId, b.path);
                            await refresh();
                          }}
                        />
                      )}
                    </div>
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
        <LoadMore hasMore={!!list.hasNextPage} loading={list.isFetchingNextPage} onClick={() => list.fetchNextPage()} />
      </QueryState>
      {restoring && (
        <RestoreDialog destinationId={destinationId} backup={restoring} onClose={() => setRestoring(null)} />
      )}
    </div>
  );
}

function RestoreDialog({
  destinationId,
  backup,
  onClose,
}: {
  destinationId: string;
  backup: StoredBackup;
  onClose: () => void;
}) {
  const fmt = useDateFormat();
  const navigate = useNavigate();
  const sources = useQuery({ queryKey: ['adapters', 'database'], queryFn: () => api.adapters('database'), retry: false });
  const [targetId, setTargetId] = useState('');
  const [mapping, setMapping] = useState<Record<string, string>>(() =>
    Object.fromEntries(backup.databases.map((d) => [d, d])),
  );
  const [asUser, setAsUser] = useState('');
  const [asPassword, setAsPassword] = useState('');
  const [targetPath, setTargetPath] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  // A backup sealed to a write-only profile opens only with the private key the user brings.
  const [privateKey, setPrivateKey] = useState('');
  const profiles = useQuery({
    queryKey: ['encryption-profiles'],
    queryFn: api.encryptionProfiles,
    retry: false,
    enabled: backup.encrypted,
  });
  const writeOnly =
    backup.encrypted &&
    (profiles.data ?? []).some(
      (p) => p.kind === 'public' && (p.id === backup.encryptionProfileId || p.fingerprint === backup.keyFingerprint),
    );
  const dbackup = backup.origin === 'dbackup';
  const importProfiles = useQuery({
    queryKey: ['encryption-profiles'],
    queryFn: api.encryptionProfiles,
    retry: false,
    enabled: dbackup && backup.encrypted,
  });
  const imports = (importProfiles.data ?? []).filter((p) => p.kind === 'dbackup-import');
  const [profileId, setProfileId] = useState('');
  const [acceptUnauthenticated, setAcceptUnauthenticated] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const targets = restoreTargets(backup, sources.data ?? []);
  const target: Adapter | undefined = targets.find((s) => s.id === targetId);
  const files = isFilesRestore(backup, target);
  const targetVersion = (target?.metadata?.engineVersion as string | undefined) ?? null;
  const newer = !files && compareVersions(backup.engineVersion, targetVersion) === 1;
  const pathError =
    error instanceof ApiError && (error.details as { field?: unknown } | undefined)?.field === 'targetPath' ? error.message : undefined;
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      if (files) {
        const r = await storageApi.restore({
          destinationId,
          path: backup.path,
          targetSourceId: targetId,
          targetPath: targetPath.trim(),
          overwrite: overwrite || undefined,
        });
        onClose();
        navigate(`/history/${enc(r.executionId)}`);
        return;
      }
      const databaseMapping = Object.fromEntries(
        Object.entries(mapping).filter(([, to]) => to.trim() !== ''),
      );
      const r = await storageApi.restore({
        destinationId,
        path: backup.path,
        targetSourceId: targetId,
        databaseMapping: Object.keys(databaseMapping).length ? databaseMapping : undefined,
        privileged: asUser.trim() ? { user: asUser.trim(), password: asPassword || undefined } : undefined,
        // The warning above was shown: starting anyway is the user's decision.
        force: newer || undefined,
        privateKey: writeOnly ? privateKeyToSend(privateKey) : undefined,
        encryptionProfileId: dbackup && profileId ? profileId : undefined,
        acceptUnauthenticated: dbackup && !backup.encrypted ? acceptUnauthenticated : undefined,
      });
      onClose();
      navigate(`/history/${enc(r.executionId)}`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open
      onOpenChange={(o) => !o && onClose()}
      title="Restore backup"
      description={`${backup.path} (${formatBytes(backup.size)}, ${fmt.dateTime(backup.createdAt)})`}
    >
      <div className="space-y-3">
        <Field label="Target source">
          {(fid) => (
            <Select id={fid} value={targetId} onChange={(e) => setTargetId(e.target.value)}>
              <option value="">Choose…</option>
              {targets.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </Select>
          )}
        </Field>
        {sources.error instanceof ApiError && <ErrorAlert error={sources.error} />}
        {target && backup.engineVersion && (
          <p className="text-xs text-muted">
            Backup from {backup.engine ?? 'the engine'} {backup.engineVersion}; target{' '}
            {targetVersion ?? 'version unknown (test its connection to record it)'}.
          </p>
        )}
        {newer && (
          <div
            role="alert"
            data-testid="version-warning"
            className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-200"
          >
            The backup comes from a newer server ({backup.engineVersion}) than the target ({targetVersion}). The restore
            may fail or lose features.
          </div>
        )}
        {files && (
          <fieldset className="space-y-2" data-testid="files-restore">
            <legend className="text-sm font-medium">Restore into a directory</legend>
            <Field
              label="Target directory"
              hint="An absolute path on the worker's machine, inside its allowed roots (DBACKUP_LOCAL_ROOTS); each backed-up folder is restored as <directory>/<its name>."
              error={pathError}
            >
              {(fid, d) => (
                <Input
                  id={fid}
                  aria-describedby={d}
                  value={targetPath}
                  placeholder="/srv/restore"
                  onChange={(e) => setTargetPath(e.target.value)}
                  autoComplete="off"
                  spellCheck={false}
                />
              )}
            </Field>
            <div className="flex items-start gap-2">
              <Checkbox id="restore-overwrite" checked={overwrite} onCheckedChange={(c) => setOverwrite(c === true)} className="mt-0.5" />
              <label htmlFor="restore-overwrite" className="text-sm">
                Replace existing files
                <span className="block text-xs text-muted">
                  Off: a file that already exists fails the restore before anything is put in place. Directories are never replaced.
                </span>
              </label>
            </div>
          </fieldset>
        )}
        {dbackup && backup.encrypted && (
          <Field label="DBackup key" hint="An encryption profile of kind “DBackup import” holding the key DBackup encrypted this backup with.">
            {(fid, d) => (
              <Select id={fid} aria-describedby={d} value={profileId} onChange={(e) => setProfileId(e.target.value)}>
                <option value="">{imports.length === 1 ? imports[0].name : 'Choose…'}</option>
                {imports.length > 1 &&
                  imports.map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.name}
                    </option>
                  ))}
              </Select>
            )}
          </Field>
        )}
        {dbackup && !backup.encrypted && (
          <div
            role="alert"
            data-testid="unauthenticated-warning"
            className="space-y-2 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-200"
          >
            <p>
              This DBackup backup is not encrypted, so nothing proves it is the dump DBackup wrote: anyone who could write to this
              storage could have replaced it.
            </p>
            <div className="flex items-start gap-2">
              <Checkbox
                id="restore-unauthenticated"
                checked={acceptUnauthenticated}
                onCheckedChange={(c) => setAcceptUnauthenticated(c === true)}
                className="mt-0.5"
              />
              <label htmlFor="restore-unauthenticated">Restore it anyway (recorded in the audit log)</label>
            </div>
          </div>
        )}
        {writeOnly && <PrivateKeyField value={privateKey} onChange={setPrivateKey} />}
        {!files && backup.databases.length > 0 && (
          <fieldset className="space-y-2">
            <legend className="text-sm font-medium">Database mapping</legend>
            <p className="text-xs text-muted">Restore each database under this name (created if missing).</p>
            {backup.databases.map((d) => (
              <Field key={d} label={`Restore ${d} as`}>
                {(fid) => (
                  <Input
                    id={fid}
                    value={mapping[d] ?? ''}
                    onChange={(e) => setMapping((m) => ({ ...m, [d]: e.target.value }))}
                  />
                )}
              </Field>
            ))}
          </fieldset>
        )}
        {!files && (
        <fieldset className="space-y-2">
          <legend className="text-sm font-medium">Create the database as (optional)</legend>
          <p className="text-xs text-muted">
            A privileged account that creates the target database and hands it to the source&apos;s user.
          </p>
          <Field label="User">
            {(fid) => <Input id={fid} value={asUser} onChange={(e) => setAsUser(e.target.value)} autoComplete="off" />}
          </Field>
          <Field label="Password">
            {(fid) => (
              <Input
                id={fid}
                type="password"
                value={asPassword}
                onChange={(e) => setAsPassword(e.target.value)}
                autoComplete="new-password"
                disabled={!asUser.trim()}
              />
            )}
          </Field>
        </fieldset>
        )}
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button
            disabled={!targetId || busy || (files && !targetPath.trim()) || (dbackup && !backup.encrypted && !acceptUnauthenticated)}
            onClick={submit}
          >
            {busy ? 'Starting…' : 'Start restore'}
          </Button>
        </div>
      </div>
    </Dialog>
  );
}
