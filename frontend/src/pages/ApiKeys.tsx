import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import type { CreatedApiKey } from '../api/types';
import { Badge, Button, Dialog, Field, Input, PageHeader, Table, Td, Th } from '../components/ui';
import { ConfirmButton, Empty, ErrorAlert, QueryState } from '../components/common';
import { PermissionMatrix } from '../components/PermissionMatrix';
import { useCan, useSession } from '../lib/session';
import { useDateFormat } from '../lib/useDateFormat';

export default function ApiKeysPage() {
  const fmt = useDateFormat();
  const canWrite = useCan('api-keys:write');
  const qc = useQueryClient();
  const keys = useQuery({ queryKey: ['api-keys'], queryFn: api.apiKeys });
  const [creating, setCreating] = useState(false);
  const refresh = () => qc.invalidateQueries({ queryKey: ['api-keys'] });
  return (
    <div>
      <PageHeader title="API keys" actions={canWrite && <Button onClick={() => setCreating(true)}>Create API key</Button>}>
        Bearer tokens for scripts and CI. A key holds at most your own permissions.
      </PageHeader>
      <QueryState query={keys} what="API keys">
        {keys.data?.length === 0 ? (
          <Empty title="No API keys yet" />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Prefix</Th>
                <Th>Permissions</Th>
                <Th>Expires</Th>
                <Th>Last used</Th>
                {canWrite && <Th className="text-right">Actions</Th>}
              </tr>
            </thead>
            <tbody>
              {keys.data?.map((k) => (
                <tr key={k.id} data-testid="api-key-row">
                  <Td className="font-medium">{k.name}</Td>
                  <Td className="font-mono text-xs">dbk_{k.prefix}_…</Td>
                  <Td>
                    <div className="flex max-w-md flex-wrap gap-1">
                      {k.permissions.map((p) => (
                        <Badge key={p}>{p}</Badge>
                      ))}
                    </div>
                  </Td>
                  <Td className="whitespace-nowrap">{k.expiresAt ? fmt.dateTime(k.expiresAt) : 'never'}</Td>
                  <Td className="whitespace-nowrap">{k.lastUsedAt ? fmt.dateTime(k.lastUsedAt) : 'never'}</Td>
                  {canWrite && (
                    <Td className="text-right">
                      <ConfirmButton
                        label="Revoke"
                        title={`Revoke ${k.name}?`}
                        description="Anything using this key stops working immediately."
                        confirmLabel="Revoke"
                        onConfirm={() => api.deleteApiKey(k.id).then(refresh)}
                      />
                    </Td>
                  )}
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </QueryState>
      {creating && <CreateKeyDialog onClose={() => setCreating(false)} onCreated={refresh} />}
    </div>
  );
}

function CreateKeyDialog({ onClose, onCreated }: { onClose: () => void; onCreated: () => void }) {
  const s = useSession();
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [perms, setPerms] = useState<string[]>([]);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState(false);
  const grantable = s.permissions.filter((p) => !p.startsWith('profile:'));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const k = await api.createApiKey({
        name,
        permissions: perms,
        expiresAt: expires ? new Date(`${expires}T23:59:59Z`).toISOString() : null,
      });
      setCreated(k);
      onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (created)
    return (
      <Dialog open onOpenChange={(o) => !o && onClose()} title="API key created" description="Copy it now: it is shown only once.">
        <code data-testid="new-api-key" className="block break-all rounded bg-subtle p-3 font-mono text-sm">
          {created.key}
        </code>
        <div className="mt-3 flex justify-end gap-2">
          <Button
            variant="secondary"
            onClick={async () => {
              try {
                await navigator.clipboard.writeText(created.key);
                setCopied(true);
              } catch {
                /* clipboard unavailable (plain HTTP): the key is selectable */
              }
            }}
          >
            {copied ? 'Copied' : 'Copy'}
          </Button>
          <Button onClick={onClose}>Done</Button>
        </div>
      </Dialog>
    );
  return (
    <Dialog open wide onOpenChange={(o) => !o && onClose()} title="Create API key">
      <form onSubmit={submit} className="space-y-3">
        <Field label="Name">{(id) => <Input id={id} value={name} onChange={(e) => setName(e.target.value)} required placeholder="nightly export" />}</Field>
        <Field label="Expires on" hint="Leave empty for a key that does not expire.">
          {(id, d) => <Input id={id} aria-describedby={d} type="date" value={expires} onChange={(e) => setExpires(e.target.value)} />}
        </Field>
        <PermissionMatrix value={perms} onChange={setPerms} grantable={grantable} />
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" disabled={busy}>
            Create key
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
