import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import type { EncryptionProfile } from '../api/types';
import { Badge, Button, Checkbox, Dialog, Field, Input, PageHeader, Table, Td, Th } from '../components/ui';
import { ConfirmButton, Empty, ErrorAlert, QueryState } from '../components/common';
import { useCan } from '../lib/session';
import { useDateFormat } from '../lib/useDateFormat';
import { saveBlob } from '../lib/utils';
import { WriteOnlyProfileDialog } from './WriteOnlyProfile';

export default function VaultPage() {
  const fmt = useDateFormat();
  const canWrite = useCan('vault:write');
  const qc = useQueryClient();
  const profiles = useQuery({ queryKey: ['encryption-profiles'], queryFn: api.encryptionProfiles, retry: false });
  const [creating, setCreating] = useState(false);
  const [creatingWriteOnly, setCreatingWriteOnly] = useState(false);
  const [revealing, setRevealing] = useState<EncryptionProfile | null>(null);
  const [kit, setKit] = useState<EncryptionProfile | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ['encryption-profiles'] });
  return (
    <div>
      <PageHeader
        title="Vault"
        actions={
          canWrite &&
          !profiles.error && (
            <div className="flex gap-2">
              <Button variant="secondary" onClick={() => setCreatingWriteOnly(true)}>
                New write-only profile
              </Button>
              <Button onClick={() => setCreating(true)}>New encryption profile</Button>
            </div>
          )
        }
      >
        Encryption keys for backups. Without its key a backup cannot be restored: keep a recovery kit.
      </PageHeader>
      <QueryState query={profiles} what="encryption profiles">
        {profiles.data?.length === 0 ? (
          <Empty title="No encryption profiles yet" />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Fingerprint</Th>
                <Th>Created</Th>
                {canWrite && <Th className="text-right">Actions</Th>}
              </tr>
            </thead>
            <tbody>
              {profiles.data?.map((p) => (
                <tr key={p.id}>
                  <Td className="font-medium">
                    {p.name}
                    {p.kind === 'dbackup-import' && (
                      <Badge tone="info" className="ml-2" title="A key brought from DBackup: it only reads DBackup's backups">
                        DBackup import
                      </Badge>
                    )}
                  </Td>
                  <Td className="font-mono text-xs">
                    {p.fingerprint ?? '—'}
                    {p.kind === 'public' && (
                      <span className="ml-2 rounded bg-subtle px-1.5 py-0.5 font-sans text-xs text-muted" title="Only a public key is stored: dbackup cannot decrypt these backups; restores ask for the private key">
                        write-only
                      </span>
                    )}
                  </Td>
                  <Td>{fmt.dateTime(p.createdAt)}</Td>
                  {canWrite && (
                    <Td className="whitespace-nowrap text-right">
                      <div className="inline-flex gap-1">
                        {p.kind !== 'public' && (
                          <>
                            <Button size="sm" variant="secondary" onClick={() => setRevealing(p)}>
                              Reveal key
                            </Button>
                            <Button size="sm" variant="secondary" onClick={() => setKit(p)}>
                              Recovery kit
                            </Button>
                          </>
                        )}
                        <ConfirmButton
                          label="Delete"
                          title={`Delete ${p.name}?`}
                          description="Backups encrypted with this key can no longer be restored through dbackup unless you kept its recovery kit."
                          onConfirm={() => api.deleteEncryptionProfile(p.id).then(refresh)}
                        />
                      </div>
                    </Td>
                  )}
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </QueryState>
      {creating && <CreateProfile onClose={() => setCreating(false)} onCreated={() => (setCreating(false), refresh())} />}
      {revealing && <Reveal profile={revealing} onClose={() => setRevealing(null)} onKit={() => (setRevealing(null), setKit(revealing))} />}
      {kit && <RecoveryKit profile={kit} onClose={() => setKit(null)} />}
      {creatingWriteOnly && (
        <WriteOnlyProfileDialog onClose={() => setCreatingWriteOnly(false)} onCreated={() => (setCreatingWriteOnly(false), refresh())} />
      )}
    </div>
  );
}

function CreateProfile({ onClose, onCreated }: { onClose: () => void; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [key, setKey] = useState('');
  const [fromDbackup, setFromDbackup] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const kind = fromDbackup ? ('dbackup-import' as const) : undefined;
      await api.createEncryptionProfile(key.trim() ? { name, key: key.trim(), kind } : { name, kind });
      onCreated();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog open onOpenChange={(o) => !o && onClose()} title="New encryption profile">
      <form onSubmit={submit} className="space-y-3">
        <Field label="Name">{(id) => <Input id={id} value={name} onChange={(e) => setName(e.target.value)} required />}</Field>
        <Field label="Import a key (optional)" hint="64 hex characters. Leave empty to generate a random key.">
          {(id, d) => <Input id={id} aria-describedby={d} value={key} onChange={(e) => setKey(e.target.value)} pattern="[0-9a-fA-F]{64}" autoComplete="off" className="font-mono" />}
        </Field>
        <div className="flex items-start gap-2">
          <Checkbox id="profile-dbackup" checked={fromDbackup} onCheckedChange={(c) => setFromDbackup(c === true)} className="mt-0.5" />
          <label htmlFor="profile-dbackup" className="text-sm">
            A key from DBackup
            <span className="block text-xs text-muted">
              Restores the backups DBackup made with it (paste the key from DBackup&apos;s vault or its recovery kit&apos;s master.key). It never
              encrypts new backups.
            </span>
          </label>
        </div>
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" disabled={fromDbackup && !key.trim()}>{key.trim() ? 'Import' : 'Generate'}</Button>
        </div>
      </form>
    </Dialog>
  );
}

function Reveal({ profile, onClose, onKit }: { profile: EncryptionProfile; onClose: () => void; onKit: () => void }) {
  const [password, setPassword] = useState('');
  const [key, setKey] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <Dialog open onOpenChange={(o) => !o && onClose()} title={`Key of ${profile.name}`} description="Revealing a key is audited.">
      {key ? (
        <div className="space-y-3">
          <code className="block break-all rounded bg-subtle p-3 font-mono text-sm">{key}</code>
          <div className="flex justify-end gap-2">
            <Button variant="secondary" onClick={onKit}>
              Download recovery kit
            </Button>
            <Button onClick={onClose}>Done</Button>
          </div>
        </div>
      ) : (
        <form
          className="space-y-3"
          onSubmit={async (e) => {
            e.preventDefault();
            setError(null);
            try {
              setKey((await api.revealEncryptionProfile(profile.id, password)).key);
            } catch (err) {
              setError(err);
            }
          }}
        >
          <Field label="Your password">{(id) => <Input id={id} type="password" value={password} onChange={(e) => setPassword(e.target.value)} required autoComplete="current-password" />}</Field>
          <ErrorAlert error={error} />
          <div className="flex justify-end">
            <Button type="submit">Reveal</Button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

/**
 * The recovery kit ZIP (key, README, FORMAT.md, a Python decryptor) from the server after the
 * caller's password (`X-Confirm-Password`); a wrong password is shown here. Audited EXPORT.
 */
function RecoveryKit({ profile, onClose }: { profile: EncryptionProfile; onClose: () => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  return (
    <Dialog
      open
      onOpenChange={(o) => !o && onClose()}
      title={`Recovery kit of ${profile.name}`}
      description="A ZIP with the key, step-by-step instructions and a small Python decryptor: enough to restore a backup without dbackup. Keep it offline; the download is audited."
    >
      {saved ? (
        <div className="space-y-3">
          <p role="status" className="text-sm text-success">
            Saved <span className="font-mono">{saved}</span>.
          </p>
          <div className="flex justify-end">
            <Button onClick={onClose}>Done</Button>
          </div>
        </div>
      ) : (
        <form
          className="space-y-3"
          onSubmit={async (e) => {
            e.preventDefault();
            setError(null);
            setBusy(true);
            try {
              const r = await api.recoveryKit(profile.id, password);
              const name = r.fileName ?? `dbackup-recovery-kit_${profile.name.replace(/[^\w.-]+/g, '-')}.zip`;
              saveBlob(r.blob, name);
              setSaved(name);
            } catch (err) {
              setError(err);
            } finally {
              setBusy(false);
            }
          }}
        >
          <Field label="Your password">
            {(id) => <Input id={id} type="password" value={password} onChange={(e) => setPassword(e.target.value)} required autoComplete="current-password" />}
          </Field>
          <ErrorAlert error={error} />
          <div className="flex justify-end gap-2">
            <Button variant="secondary" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" disabled={busy}>
              {busy ? 'Preparing…' : 'Download kit'}
            </Button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
