import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from '../api/client';
import type { SsoProvider } from '../api/types';
import { Badge, Button, Dialog, Field, Input, PageHeader, Select, Switch, Table, Td, Th } from '../components/ui';
import { ConfirmButton, Empty, ErrorAlert, QueryState } from '../components/common';
import { useCan, useSession } from '../lib/session';
import { SSO_ADAPTERS, holdsEveryPermission, ssoFormValues, ssoProviderBody } from '../lib/sso';

/**
 * Admin page for the OpenID Connect providers: listed with settings:write; added, changed or
 * deleted only by a caller holding every permission (a SuperAdmin), since a provider decides
 * who signs in.
 */
export default function SsoProvidersPage() {
  const canWrite = useCan('settings:write');
  const canManage = holdsEveryPermission(useSession().permissions);
  const qc = useQueryClient();
  const providers = useQuery({ queryKey: ['sso-providers'], queryFn: api.ssoProviders, enabled: canWrite });
  const [editing, setEditing] = useState<SsoProvider | 'new' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const refresh = () =>
    Promise.all([qc.invalidateQueries({ queryKey: ['sso-providers'] }), qc.invalidateQueries({ queryKey: ['sso-public'] })]);
  if (!canWrite)
    return (
      <div>
        <PageHeader title="SSO providers" />
        <Empty title="You may not view SSO providers">Managing them needs settings:write.</Empty>
      </div>
    );
  const toggle = async (p: SsoProvider, enabled: boolean) => {
    setError(null);
    try {
      await api.updateSsoProvider(p.id, { enabled });
      await refresh();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div>
      <PageHeader title="SSO providers" actions={canManage && <Button onClick={() => setEditing('new')}>Add provider</Button>}>
        OpenID Connect sign-in. Register the redirect URI{' '}
        <code className="text-xs">{`${window.location.origin}/api/auth/sso/<provider ID>/callback`}</code> at the provider (the app's
        public URL, <code className="text-xs">public_url</code>).
      </PageHeader>
      {!canManage && (
        <p className="mb-3 text-sm text-muted" data-testid="sso-read-only">
          Only a SuperAdmin can add, change or delete providers: a provider decides who signs in.
        </p>
      )}
      <ErrorAlert error={error} className="mb-3" />
      <QueryState query={providers} what="SSO providers">
        {providers.data?.length === 0 ? (
          <Empty title="No SSO providers yet">Add one to show its button on the login page.</Empty>
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Provider ID</Th>
                <Th>Adapter</Th>
                <Th>Issuer</Th>
                <Th>Enabled</Th>
                <Th className="text-right">Actions</Th>
              </tr>
            </thead>
            <tbody>
              {providers.data?.map((p) => (
                <tr key={p.id} data-testid="sso-provider-row">
                  <Td className="font-medium">
                    {p.name} {!p.allowProvisioning && <Badge>no sign-up</Badge>} {p.trustEmailLinking && <Badge>links by email</Badge>}
                  </Td>
                  <Td className="font-mono text-xs">{p.providerId}</Td>
                  <Td>{SSO_ADAPTERS.find((a) => a.id === p.adapter)?.label ?? p.adapter}</Td>
                  <Td className="max-w-xs truncate text-xs" title={p.issuer ?? ''}>
                    {p.issuer}
                  </Td>
                  <Td>
                    <Switch checked={p.enabled} disabled={!canManage} onCheckedChange={(on) => toggle(p, on)} aria-label={`Enable ${p.name}`} />
                  </Td>
                  <Td className="space-x-1 whitespace-nowrap text-right">
                    {canManage && (
                      <>
                        <Button size="sm" variant="secondary" onClick={() => setEditing(p)}>
                          Edit
                        </Button>
                        <ConfirmButton
                          label="Delete"
                          title={`Delete ${p.name}?`}
                          description="Its button leaves the login page; accounts linked through it can no longer sign in with it."
                          onConfirm={() => api.deleteSsoProvider(p.id).then(refresh)}
                        />
                      </>
                    )}
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </QueryState>
      {editing && canManage && (
        <ProviderForm
          provider={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={async () => {
            await refresh();
            setEditing(null);
          }}
        />
      )}
    </div>
  );
}

function ProviderForm({ provider, onClose, onSaved }: { provider: SsoProvider | null; onClose: () => void; onSaved: () => Promise<void> }) {
  const [values, setValues] = useState<Record<string, string>>(() => ssoFormValues(provider ?? undefined));
  const [enabled, setEnabled] = useState(provider?.enabled ?? true);
  const [allowProvisioning, setAllowProvisioning] = useState(provider?.allowProvisioning ?? true);
  const [trustEmailLinking, setTrustEmailLinking] = useState(provider?.trustEmailLinking ?? false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const adapter = SSO_ADAPTERS.find((a) => a.id === values.adapter) ?? SSO_ADAPTERS[0];
  const set = (k: string) => (e: { target: { value: string } }) => setValues({ ...values, [k]: e.target.value });
  const text = (k: string, label: string, opts: { hint?: string; type?: string; placeholder?: string; disabled?: boolean } = {}) => (
    <Field key={k} label={label} hint={opts.hint} error={errors[k]}>
      {(id, d) => (
        <Input
          id={id}
          aria-describedby={d}
          aria-invalid={!!errors[k]}
          type={opts.type ?? 'text'}
          value={values[k] ?? ''}
          placeholder={opts.placeholder}
          disabled={opts.disabled}
          autoComplete={opts.type === 'password' ? 'new-password' : 'off'}
          onChange={set(k)}
        />
      )}
    </Field>
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const { body, errors } = ssoProviderBody(values, { enabled, allowProvisioning, trustEmailLinking }, provider);
    setErrors(errors);
    if (Object.keys(errors).length) return;
    setBusy(true);
    try {
      if (provider) await api.updateSsoProvider(provider.id, body);
      else await api.createSsoProvider(body);
      await onSaved();
    } catch (err) {
      setError(err);
      // The server names the field it refused (e.g. the issuer whose discovery failed).
      const field = err instanceof ApiError && (err.details as { field?: unknown } | null)?.field;
      if (typeof field === 'string') setErrors({ [field]: err instanceof Error ? err.message : 'Refused' });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open
      onOpenChange={(o) => !o && onClose()}
      title={provider ? `Edit ${provider.name}` : 'Add SSO provider'}
      description="The provider's discovery document is fetched and checked when you save."
      wide
    >
      <form onSubmit={submit} className="grid gap-3 sm:grid-cols-2" aria-label="SSO provider" noValidate>
        {text('name', 'Name', { hint: 'Shown on the login button.' })}
        {text('providerId', 'Provider ID', { hint: 'a-z, 0-9, - and _; part of the redirect URI.' })}
        <Field label="Adapter" error={errors.adapter}>
          {(id) => (
            <Select id={id} value={values.adapter} onChange={set('adapter')}>
              {SSO_ADAPTERS.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.label}
                </option>
              ))}
            </Select>
          )}
        </Field>
        <div className="hidden sm:block" />
        {adapter.fields.map((f) => text(f.key, f.label, { hint: f.hint }))}
        {text('clientId', 'Client ID')}
        {text('clientSecret', 'Client secret', {
          type: 'password',
          hint: provider?.hasClientSecret ? 'Stored (write-only). Leave empty to keep it.' : 'Write-only: never shown again.',
          placeholder: provider?.hasClientSecret ? '•••• (unchanged)' : '',
        })}
        {text('domain', 'Allowed email domain', { hint: 'Optional, e.g. example.com; others are refused.' })}
        <div className="space-y-2 pt-6 text-sm">
          <label className="flex items-center gap-2">
            <Switch checked={enabled} onCheckedChange={setEnabled} aria-label="Enabled" /> Enabled
          </label>
          <label className="flex items-center gap-2">
            <Switch checked={allowProvisioning} onCheckedChange={setAllowProvisioning} aria-label="Create accounts on first sign-in" /> Create
            accounts on first sign-in
          </label>
        </div>
        <div className="rounded-md border border-warn/40 bg-warn/10 p-3 text-sm sm:col-span-2">
          <label className="flex items-center gap-2 font-medium">
            <Switch checked={trustEmailLinking} onCheckedChange={setTrustEmailLinking} aria-label="Link existing accounts by verified email" /> Link
            existing accounts by verified email
          </label>
          <p className="mt-1 text-xs text-muted">
            Off: an identity reaches an existing account only after its owner links it, signed in (Profile → Security). On: whoever
            controls this provider can sign in to any account whose email it asserts as verified — turn on only for a provider you
            trust as much as a SuperAdmin. Accounts with two-factor authentication still need their second factor.
          </p>
        </div>
        <div className="sm:col-span-2">
          <ErrorAlert error={error} />
        </div>
        <div className="flex justify-end gap-2 sm:col-span-2">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" disabled={busy}>
            {busy ? 'Checking the provider…' : 'Save provider'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
