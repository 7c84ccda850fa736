import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import type { Enrollment } from '../api/types';
import { Badge, Button, Card, Dialog, Field, Input, PageHeader, Select, Table, Tabs, TabsContent, TabsList, TabsTrigger, Td, Th, Switch } from '../components/ui';
import { ConfirmButton, ErrorAlert, QueryState } from '../components/common';
import { QrCode } from '../components/QrCode';
import { useCan, useSession } from '../lib/session';
import { useDateFormat } from '../lib/useDateFormat';
import { DATE_FORMATS, DEFAULT_PREFS, TIME_FORMATS, formatInstant, formatPatternError, timeZones, zoneLabel } from '../lib/datetime';
import { SearchableSelect } from '../components/pickers';
import { ceremonyError, createCredential, passkeysSupported } from '../lib/webauthn';
import { ssoErrorMessage } from '../lib/sso';
import type { Passkey } from '../api/types';

export default function ProfilePage() {
  // A link with a provider comes back here with ?linked= or ?error=: open its tab.
  const [tab] = useState(() => {
    const q = new URLSearchParams(window.location.search);
    return q.has('linked') || q.has('error') ? 'security' : 'profile';
  });
  return (
    <div>
      <PageHeader title="Profile" />
      <Tabs defaultValue={tab}>
        <TabsList>
          <TabsTrigger value="profile">Profile</TabsTrigger>
          <TabsTrigger value="security">Security</TabsTrigger>
          <TabsTrigger value="sessions">Sessions</TabsTrigger>
        </TabsList>
        <TabsContent value="profile">
          <ProfileForm />
        </TabsContent>
        <TabsContent value="security" className="space-y-4">
          <PasswordForm />
          <TwoFactor />
          <Passkeys />
          <LinkedAccounts />
        </TabsContent>
        <TabsContent value="sessions">
          <Sessions />
        </TabsContent>
      </Tabs>
    </div>
  );
}

const CUSTOM = '__custom';

/** A date or time pattern: a preset, or "Custom" with a free date-fns pattern. */
function FormatField({ label, value, onChange, presets, error }: { label: string; value: string; onChange: (v: string) => void; presets: { value: string; label: string }[]; error: string | null }) {
  const [custom, setCustom] = useState(() => !presets.some((p) => p.value === value));
  return (
    <Field label={label} error={error} hint={custom ? 'date-fns tokens, e.g. dd.MM.yyyy or HH:mm; quote text in single quotes.' : undefined}>
      {(id, d) => (
        <div className="flex flex-wrap gap-2 sm:flex-nowrap">
          <Select
            id={custom ? undefined : id}
            aria-label={custom ? `${label} preset` : undefined}
            className={custom ? 'w-full sm:w-44 sm:shrink-0' : 'w-full sm:w-72'}
            value={custom ? CUSTOM : value}
            onChange={(e) => {
              if (e.target.value === CUSTOM) setCustom(true);
              else {
                setCustom(false);
                onChange(e.target.value);
              }
            }}
          >
            {presets.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
            <option value={CUSTOM}>Custom…</option>
          </Select>
          {custom && <Input id={id} aria-describedby={d} aria-invalid={!!error} className="font-mono" value={value} onChange={(e) => onChange(e.target.value)} />}
        </div>
      )}
    </Field>
  );
}

function ProfileForm() {
  const s = useSession();
  const qc = useQueryClient();
  const canName = useCan('profile:update_name');
  const canEmail = useCan('profile:update_email');
  const [name, setName] = useState(s.user.name);
  const [email, setEmail] = useState(s.user.email);
  const [timezone, setTimezone] = useState(s.user.timezone);
  const [dateFormat, setDateFormat] = useState(s.user.dateFormat || DEFAULT_PREFS.dateFormat);
  const [timeFormat, setTimeFormat] = useState(s.user.timeFormat || DEFAULT_PREFS.timeFormat);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const zones = useMemo(() => {
    const all = timeZones();
    return (all.includes(timezone) || !timezone ? all : [timezone, ...all]).map((z) => ({ value: z }));
  }, [timezone]);
  const dateError = formatPatternError(dateFormat);
  const timeError = formatPatternError(timeFormat);
  // The live preview: the moment the form opened, in the chosen zone and formats.
  const [now] = useState(() => new Date());
  const preview = !dateError && !timeError ? formatInstant(now, { timezone, dateFormat, timeFormat }) : null;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    if (dateError || timeError) return;
    const body: Record<string, string> = {};
    if (name !== s.user.name) body.name = name;
    if (email !== s.user.email) body.email = email;
    if (timezone !== s.user.timezone) body.timezone = timezone;
    if (dateFormat !== s.user.dateFormat) body.dateFormat = dateFormat;
    if (timeFormat !== s.user.timeFormat) body.timeFormat = timeFormat;
    try {
      await api.updateProfile(body);
      await qc.invalidateQueries({ queryKey: ['session'] });
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Card className="max-w-xl">
      <form onSubmit={submit} className="space-y-4">
        <Field label="Name">{(id) => <Input id={id} value={name} onChange={(e) => setName(e.target.value)} disabled={!canName} required />}</Field>
        <Field label="Email">{(id) => <Input id={id} type="email" value={email} onChange={(e) => setEmail(e.target.value)} disabled={!canEmail} required />}</Field>
        <Field label="Time zone" hint="Every date in the app is shown in this zone.">
          {(id, d) => <SearchableSelect id={id} describedBy={d} value={timezone} onChange={setTimezone} options={zones} />}
        </Field>
        <FormatField label="Date format" value={dateFormat} onChange={setDateFormat} presets={DATE_FORMATS} error={dateError} />
        <FormatField label="Time format" value={timeFormat} onChange={setTimeFormat} presets={TIME_FORMATS} error={timeError} />
        <p className="rounded-md bg-subtle px-3 py-2 text-sm" aria-live="polite" data-testid="date-preview">
          Preview: <strong>{preview ?? '—'}</strong>
          <span className="ml-1 text-xs text-muted">({zoneLabel(timezone, now)})</span>
        </p>
        <p className="text-sm text-muted">Group: {s.user.group?.name ?? 'none'}</p>
        <ErrorAlert error={error} />
        {saved && <p role="status" className="text-sm text-success">Profile saved.</p>}
        <Button type="submit">Save profile</Button>
      </form>
    </Card>
  );
}

function PasswordForm() {
  const allowed = useCan('profile:update_password');
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  if (!allowed) return null;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone(false);
    if (next !== confirm) return setError(new Error('The new passwords do not match'));
    try {
      await api.changePassword({ currentPassword: current, newPassword: next });
      setCurrent('');
      setNext('');
      setConfirm('');
      setDone(true);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Card className="max-w-xl">
      <h2 className="mb-3 font-semibold">Password</h2>
      <form onSubmit={submit} className="space-y-3">
        <Field label="Current password">{(id) => <Input id={id} type="password" value={current} onChange={(e) => setCurrent(e.target.value)} required autoComplete="current-password" />}</Field>
        <Field label="New password">{(id) => <Input id={id} type="password" value={next} onChange={(e) => setNext(e.target.value)} required autoComplete="new-password" />}</Field>
        <Field label="Confirm new password">{(id) => <Input id={id} type="password" value={confirm} onChange={(e) => setConfirm(e.target.value)} required autoComplete="new-password" />}</Field>
        <ErrorAlert error={error} />
        {done && <p role="status" className="text-sm text-success">Password changed; your other sessions were signed out.</p>}
        <Button type="submit">Change password</Button>
      </form>
    </Card>
  );
}

function TwoFactor() {
  const s = useSession();
  const qc = useQueryClient();
  const allowed = useCan('profile:manage_2fa');
  const [password, setPassword] = useState('');
  const [enrollment, setEnrollment] = useState<Enrollment | null>(null);
  const [code, setCode] = useState('');
  const [backupCodes, setBackupCodes] = useState<string[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (!allowed) return null;
  const run = async (f: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const enabled = s.user.twoFactorEnabled;
  return (
    <Card className="max-w-xl">
      <h2 className="mb-1 flex items-center gap-2 font-semibold">
        Two-factor authentication {enabled ? <Badge tone="success">on</Badge> : <Badge>off</Badge>}
      </h2>
      {backupCodes ? (
        <div className="space-y-3">
          <p className="text-sm">Save these backup codes somewhere safe. Each works once; they are shown only now.</p>
          <ul data-testid="backup-codes" className="grid grid-cols-2 gap-1 rounded bg-subtle p-3 font-mono text-sm">
            {backupCodes.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
          <Button onClick={() => setBackupCodes(null)}>I have saved them</Button>
        </div>
      ) : enrollment ? (
        <form
          className="space-y-3"
          onSubmit={(e) => {
            e.preventDefault();
            run(async () => {
              const r = await api.verify2fa(code.trim());
              setEnrollment(null);
              setCode('');
              setBackupCodes(r.backupCodes);
              await qc.invalidateQueries({ queryKey: ['session'] });
            });
          }}
        >
          <p className="text-sm">Scan this code with your authenticator app, then enter the 6-digit code it shows.</p>
          <QrCode text={enrollment.otpauthUri} label="QR code for your authenticator app" />
          <p className="text-xs text-muted">
            Or enter the key by hand: <code data-testid="totp-secret" className="break-all font-mono">{enrollment.secret}</code>
          </p>
          <Field label="Code from the app">{(id) => <Input id={id} value={code} onChange={(e) => setCode(e.target.value)} inputMode="numeric" autoComplete="one-time-code" required />}</Field>
          <ErrorAlert error={error} />
          <div className="flex gap-2">
            <Button type="submit" disabled={busy}>
              Turn on 2FA
            </Button>
            <Button variant="secondary" onClick={() => setEnrollment(null)}>
              Cancel
            </Button>
          </div>
        </form>
      ) : (
        <form
          className="space-y-3"
          onSubmit={(e) => {
            e.preventDefault();
            run(async () => {
              if (enabled) {
                await api.disable2fa({ password });
                await qc.invalidateQueries({ queryKey: ['session'] });
              } else setEnrollment(await api.enroll2fa(password));
              setPassword('');
            });
          }}
        >
          <p className="text-sm text-muted">
            {enabled ? 'Sign-in asks for a code from your authenticator app.' : 'Protect your account with a code from an authenticator app.'}
          </p>
          <Field label="Confirm with your password">
            {(id) => <Input id={id} type="password" value={password} onChange={(e) => setPassword(e.target.value)} required autoComplete="current-password" />}
          </Field>
          <ErrorAlert error={error} />
          <div className="flex gap-2">
            <Button type="submit" variant={enabled ? 'danger' : 'primary'} disabled={busy}>
              {enabled ? 'Turn off 2FA' : 'Set up 2FA'}
            </Button>
            {enabled && (
              <Button
                variant="secondary"
                disabled={busy || !password}
                onClick={() =>
                  run(async () => {
                    setBackupCodes((await api.backupCodes({ password })).backupCodes);
                    setPassword('');
                  })
                }
              >
                New backup codes
              </Button>
            )}
          </div>
        </form>
      )}
    </Card>
  );
}

function Sessions() {
  const fmt = useDateFormat();
  const qc = useQueryClient();
  const sessions = useQuery({ queryKey: ['sessions'], queryFn: api.sessions });
  return (
    <QueryState query={sessions} what="sessions">
      <Table>
        <thead>
          <tr>
            <Th>Device</Th>
            <Th>IP address</Th>
            <Th>Signed in</Th>
            <Th>Expires</Th>
            <Th className="text-right">Actions</Th>
          </tr>
        </thead>
        <tbody>
          {sessions.data?.map((x) => (
            <tr key={x.id}>
              <Td className="max-w-xs truncate" title={x.userAgent ?? ''}>
                {x.userAgent ?? 'unknown'} {x.current && <Badge tone="info">this browser</Badge>}
              </Td>
              <Td>{x.ipAddress ?? '—'}</Td>
              <Td className="whitespace-nowrap">{fmt.dateTime(x.createdAt)}</Td>
              <Td className="whitespace-nowrap">{fmt.dateTime(x.expiresAt)}</Td>
              <Td className="text-right">
                {!x.current && (
                  <ConfirmButton
                    label="Sign out"
                    title="Sign out this session?"
                    description="That browser has to sign in again."
                    confirmLabel="Sign out"
                    onConfirm={() => api.revokeSession(x.id).then(() => qc.invalidateQueries({ queryKey: ['sessions'] }))}
                  />
                )}
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </QueryState>
  );
}

/** The caller's passkeys: add (browser ceremony) with a name, rename, delete, passkey as 2FA. */
function Passkeys() {
  const fmt = useDateFormat();
  const qc = useQueryClient();
  const allowed = useCan('profile:manage_passkeys');
  const list = useQuery({ queryKey: ['passkeys'], queryFn: api.passkeys, enabled: allowed });
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [added, setAdded] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<Passkey | null>(null);
  if (!allowed) return null;
  const refresh = () =>
    Promise.all([qc.invalidateQueries({ queryKey: ['passkeys'] }), qc.invalidateQueries({ queryKey: ['linked-accounts'] })]);
  const add = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setAdded(null);
    setBusy(true);
    try {
      const options = await api.passkeyRegisterOptions();
      let credential;
      try {
        credential = await createCredential(options);
      } catch (err) {
        throw ceremonyError(err);
      }
      const p = await api.passkeyRegisterVerify({ name: name.trim() || undefined, credential });
      setAdded(p.name ?? 'Passkey');
      setName('');
      await refresh();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const toggle = async (on: boolean) => {
    setError(null);
    try {
      await api.passkeyTwoFactor(on);
      await refresh();
    } catch (err) {
      setError(err);
    }
  };
  const passkeys = list.data?.passkeys ?? [];
  return (
    <Card className="max-w-3xl" aria-label="Passkeys">
      <h2 className="mb-1 font-semibold">Passkeys</h2>
      <p className="mb-3 text-sm text-muted">
        Sign in without a password using your device, a security key or a password manager.
      </p>
      <QueryState query={list} what="passkeys">
        {passkeys.length ? (
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Type</Th>
                <Th>Added</Th>
                <Th>Last used</Th>
                <Th className="text-right">Actions</Th>
              </tr>
            </thead>
            <tbody>
              {passkeys.map((p) => (
                <tr key={p.id} data-testid="passkey-row">
                  <Td className="font-medium">{p.name ?? 'Unnamed passkey'}</Td>
                  <Td>
                    {p.deviceType === 'multiDevice' ? 'synced' : 'device-bound'}
                    {p.backedUp && <Badge className="ml-1">backed up</Badge>}
                  </Td>
                  <Td className="whitespace-nowrap">{fmt.dateTime(p.createdAt)}</Td>
                  <Td className="whitespace-nowrap">{p.lastUsedAt ? fmt.dateTime(p.lastUsedAt) : 'never'}</Td>
                  <Td className="space-x-1 whitespace-nowrap text-right">
                    <Button size="sm" variant="secondary" onClick={() => setRenaming(p)}>
                      Rename
                    </Button>
                    <ConfirmButton
                      label="Delete"
                      title={`Delete the passkey “${p.name ?? 'Unnamed passkey'}”?`}
                      description="It can no longer be used to sign in. Deleting your last passkey also turns off the passkey as second factor."
                      onConfirm={() => api.deletePasskey(p.id).then(refresh)}
                    />
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        ) : (
          <p className="text-sm text-muted" data-testid="no-passkeys">
            No passkeys yet.
          </p>
        )}
        <label className="mt-4 flex items-center gap-3 text-sm">
          <Switch
            checked={list.data?.passkeyTwoFactor ?? false}
            disabled={!passkeys.length}
            onCheckedChange={toggle}
            aria-label="Require a passkey as second factor"
          />
          <span>
            Require a passkey as second factor after the password
            {!passkeys.length && <span className="text-muted"> (add a passkey first)</span>}
          </span>
        </label>
      </QueryState>
      {passkeysSupported() ? (
        <form onSubmit={add} className="mt-4 flex flex-wrap items-end gap-2" aria-label="Add a passkey">
          <div className="min-w-56 flex-1">
            <Field label="Passkey name">
              {(id) => <Input id={id} value={name} maxLength={100} placeholder="e.g. Laptop" onChange={(e) => setName(e.target.value)} />}
            </Field>
          </div>
          <Button type="submit" disabled={busy}>
            {busy ? 'Waiting for the passkey…' : 'Add a passkey'}
          </Button>
        </form>
      ) : (
        <p className="mt-4 text-sm text-muted">This browser cannot create passkeys here (it needs HTTPS or localhost).</p>
      )}
      {added && (
        <p role="status" className="mt-2 text-sm text-success">
          Passkey “{added}” added.
        </p>
      )}
      <ErrorAlert error={error} className="mt-3" />
      <RenamePasskey passkey={renaming} onClose={() => setRenaming(null)} onSaved={refresh} />
    </Card>
  );
}

function RenamePasskey({ passkey, onClose, onSaved }: { passkey: Passkey | null; onClose: () => void; onSaved: () => Promise<unknown> }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [last, setLast] = useState<string | null>(null);
  if (passkey && passkey.id !== last) {
    setLast(passkey.id);
    setName(passkey.name ?? '');
    setError(null);
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!passkey) return;
    setError(null);
    try {
      await api.renamePasskey(passkey.id, name.trim());
      await onSaved();
      setLast(null);
      onClose();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog open={!!passkey} onOpenChange={(o) => (o ? undefined : (setLast(null), onClose()))} title="Rename passkey">
      <form onSubmit={submit} className="space-y-3">
        <Field label="Name">{(id) => <Input id={id} value={name} maxLength={100} required onChange={(e) => setName(e.target.value)} autoFocus />}</Field>
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={() => (setLast(null), onClose())}>
            Cancel
          </Button>
          <Button type="submit">Save name</Button>
        </div>
      </form>
    </Dialog>
  );
}

/**
 * The caller's linked SSO accounts; unlinking the last way to sign in is refused (409). Linking
 * starts here, from the session (`POST /api/profile/accounts/link`): the provider's callback
 * links the identity to this account and comes back with `?linked=<providerId>` or
 * `?error=<code>`, shown once.
 */
function LinkedAccounts() {
  const fmt = useDateFormat();
  const qc = useQueryClient();
  const accounts = useQuery({ queryKey: ['linked-accounts'], queryFn: api.linkedAccounts });
  const providers = useQuery({ queryKey: ['sso-public'], queryFn: api.publicSsoProviders });
  const rows = accounts.data?.accounts ?? [];
  const [outcome] = useState(() => {
    const q = new URLSearchParams(window.location.search);
    const linked = q.get('linked');
    return { linked, error: ssoErrorMessage(q.get('error')) };
  });
  useEffect(() => {
    if (outcome.linked || outcome.error) window.history.replaceState(window.history.state, '', window.location.pathname);
  }, [outcome]);
  const [error, setError] = useState<unknown>(null);
  const [linking, setLinking] = useState<string | null>(null);
  const link = async (providerId: string) => {
    setError(null);
    setLinking(providerId);
    try {
      const { url } = await api.linkAccount(providerId);
      window.location.assign(url);
    } catch (e) {
      setError(e);
      setLinking(null);
    }
  };
  const linkedName = providers.data?.find((p) => p.id === outcome.linked)?.name ?? outcome.linked;
  return (
    <Card className="max-w-3xl" aria-label="Linked accounts">
      <h2 className="mb-1 font-semibold">Linked single sign-on accounts</h2>
      {outcome.linked && (
        <p role="status" data-testid="sso-linked" className="mb-2 text-sm text-success">
          Linked {linkedName}: you can now sign in with it.
        </p>
      )}
      {outcome.error && (
        <div role="alert" data-testid="sso-error" className="mb-2 rounded-md border border-danger/40 bg-danger/10 px-3 py-2 text-sm text-danger">
          {outcome.error}
        </div>
      )}
      <ErrorAlert error={error} className="mb-2" />
      <QueryState query={accounts} what="linked accounts">
        {rows.length ? (
          <Table>
            <thead>
              <tr>
                <Th>Provider</Th>
                <Th>Account</Th>
                <Th>Linked</Th>
                <Th className="text-right">Actions</Th>
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => (
                <tr key={a.id} data-testid="linked-account">
                  <Td className="font-medium">{a.providerName ?? a.providerId}</Td>
                  <Td className="font-mono text-xs">{a.accountId}</Td>
                  <Td className="whitespace-nowrap">{fmt.dateTime(a.createdAt)}</Td>
                  <Td className="text-right">
                    <ConfirmButton
                      label="Unlink"
                      confirmLabel="Unlink"
                      title={`Unlink ${a.providerName ?? a.providerId}?`}
                      description="You can no longer sign in with this provider until you link it again."
                      onConfirm={() => api.unlinkAccount(a.id).then(() => qc.invalidateQueries({ queryKey: ['linked-accounts'] }))}
                    />
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        ) : (
          <p className="text-sm text-muted">No linked accounts.</p>
        )}
        <p className="mt-2 text-xs text-muted">
          Other ways to sign in: {accounts.data?.hasPassword ? 'a password' : 'no password'},{' '}
          {accounts.data?.passkeys ?? 0} passkey{accounts.data?.passkeys === 1 ? '' : 's'}.
        </p>
      </QueryState>
      {(providers.data?.length ?? 0) > 0 && (
        <div className="mt-3 flex flex-wrap items-center gap-2 border-t border-border pt-3">
          <span className="text-sm text-muted">Sign in with a provider as this account:</span>
          {providers.data?.map((p) => (
            <Button key={p.id} size="sm" variant="secondary" disabled={linking !== null} onClick={() => link(p.id)} data-provider={p.id}>
              {linking === p.id ? 'Opening the provider…' : `Link ${p.name}`}
            </Button>
          ))}
        </div>
      )}
    </Card>
  );
}
