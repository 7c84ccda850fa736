import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import type { Enrollment } from '../api/types';
import { Badge, Button, Card, Field, Input, PageHeader, Select, Table, Tabs, TabsContent, TabsList, TabsTrigger, Td, Th } from '../components/ui';
import { ConfirmButton, ErrorAlert, QueryState } from '../components/common';
import { QrCode } from '../components/QrCode';
import { useCan, useSession } from '../lib/session';
import { formatDate } from '../lib/utils';

export default function ProfilePage() {
  return (
    <div>
      <PageHeader title="Profile" />
      <Tabs defaultValue="profile">
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
        </TabsContent>
        <TabsContent value="sessions">
          <Sessions />
        </TabsContent>
      </Tabs>
    </div>
  );
}

function timezones(): string[] {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
}

function ProfileForm() {
  const s = useSession();
  const qc = useQueryClient();
  const canName = useCan('profile:update_name');
  const canEmail = useCan('profile:update_email');
  const [name, setName] = useState(s.user.name);
  const [email, setEmail] = useState(s.user.email);
  const [timezone, setTimezone] = useState(s.user.timezone);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    const body: Record<string, string> = {};
    if (name !== s.user.name) body.name = name;
    if (email !== s.user.email) body.email = email;
    if (timezone !== s.user.timezone) body.timezone = timezone;
    try {
      await api.updateProfile(body);
      await qc.invalidateQueries({ queryKey: ['session'] });
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  };
  const zones = timezones();
  return (
    <Card className="max-w-xl">
      <form onSubmit={submit} className="space-y-4">
        <Field label="Name">{(id) => <Input id={id} value={name} onChange={(e) => setName(e.target.value)} disabled={!canName} required />}</Field>
        <Field label="Email">{(id) => <Input id={id} type="email" value={email} onChange={(e) => setEmail(e.target.value)} disabled={!canEmail} required />}</Field>
        <Field label="Time zone">
          {(id) => (
            <Select id={id} value={timezone} onChange={(e) => setTimezone(e.target.value)}>
              {(zones.includes(timezone) ? zones : [timezone, ...zones]).map((z) => (
                <option key={z}>{z}</option>
              ))}
            </Select>
          )}
        </Field>
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
              <Td className="whitespace-nowrap">{formatDate(x.createdAt)}</Td>
              <Td className="whitespace-nowrap">{formatDate(x.expiresAt)}</Td>
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
