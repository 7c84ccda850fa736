import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import type { EncryptionProfile } from '../api/types';
import { Button, Dialog, Field, Input, PageHeader, Table, Td, Th } from '../components/ui';
import { ConfirmButton, Empty, ErrorAlert, QueryState } from '../components/common';
import { useCan } from '../lib/session';
import { formatDate } from '../lib/utils';

/** A plain-text recovery kit for one profile, downloaded by the browser (never sent anywhere). */
function downloadKit(p: EncryptionProfile, key: string) {
  const text = [
    `dbackup recovery kit`,
    `profile: ${p.name} (${p.id})`,
    p.fingerprint ? `fingerprint: ${p.fingerprint}` : '',
    `key (64 hex): ${key}`,
    '',
    'Decrypt a backup without the server (docs/FORMAT.md):',
    `  dbackup-recover --key-hex <the key above> -o out.dump <backup file>.dbk`,
    'Keep this file offline.',
  ]
    .join('\n');
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `dbackup-recovery-kit-${p.name.replace(/\W+/g, '-')}.txt`;
  a.click();
  URL.revokeObjectURL(url);
}

export default function VaultPage() {
  const canWrite = useCan('vault:write');
  const qc = useQueryClient();
  const profiles = useQuery({ queryKey: ['encryption-profiles'], queryFn: api.encryptionProfiles, retry: false });
  const [creating, setCreating] = useState(false);
  const [revealing, setRevealing] = useState<EncryptionProfile | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ['encryption-profiles'] });
  return (
    <div>
      <PageHeader title="Vault" actions={canWrite && !profiles.error && <Button onClick={() => setCreating(true)}>New encryption profile</Button>}>
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
                  <Td className="font-medium">{p.name}</Td>
                  <Td className="font-mono text-xs">{p.fingerprint ?? '—'}</Td>
                  <Td>{formatDate(p.createdAt)}</Td>
                  {canWrite && (
                    <Td className="whitespace-nowrap text-right">
                      <div className="inline-flex gap-1">
                        <Button size="sm" variant="secondary" onClick={() => setRevealing(p)}>
                          Reveal key
                        </Button>
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
      {revealing && <Reveal profile={revealing} onClose={() => setRevealing(null)} />}
    </div>
  );
}

function CreateProfile({ onClose, onCreated }: { onClose: () => void; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await api.createEncryptionProfile(key.trim() ? { name, key: key.trim() } : { name });
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
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit">{key.trim() ? 'Import' : 'Generate'}</Button>
        </div>
      </form>
    </Dialog>
  );
}

function Reveal({ profile, onClose }: { profile: EncryptionProfile; onClose: () => void }) {
  const [password, setPassword] = useState('');
  const [key, setKey] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <Dialog open onOpenChange={(o) => !o && onClose()} title={`Key of ${profile.name}`} description="Revealing a key is audited.">
      {key ? (
        <div className="space-y-3">
          <code className="block break-all rounded bg-subtle p-3 font-mono text-sm">{key}</code>
          <div className="flex justify-end gap-2">
            <Button variant="secondary" onClick={() => downloadKit(profile, key)}>
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
