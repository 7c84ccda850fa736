import { useEffect, useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from '../api/client';
import { Button, Card, Field, Input } from '../components/ui';
import { ErrorAlert } from '../components/common';
import { formatWait } from '../lib/utils';
import { ceremonyError, getCredential, passkeysSupported } from '../lib/webauthn';
import { ssoErrorMessage, ssoSecondFactor } from '../lib/sso';


/** Seconds left until `until` (ms epoch), ticking every second. */
function useCountdown(until: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (until === null) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [until]);
  return until === null ? 0 : Math.max(0, Math.ceil((until - now) / 1000));
}

/** Sign-in (password, then TOTP or backup code) or, on a fresh install, first-user sign-up. */
export function LoginPage() {
  const setup = useQuery({ queryKey: ['setup-status'], queryFn: api.setupStatus, staleTime: 0 });
  return (
    <div className="flex min-h-screen items-center justify-center p-4">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex items-center justify-center gap-2">
          <img src="/favicon.svg" alt="" className="h-8 w-8" />
          <span className="text-2xl font-semibold">dbackup</span>
        </div>
        <Card className="p-6">
          {setup.isPending ? (
            <p className="text-muted">Loading…</p>
          ) : setup.error ? (
            <ErrorAlert error={setup.error} />
          ) : setup.data?.needsSetup ? (
            <SignupForm />
          ) : (
            <LoginForm />
          )}
        </Card>
      </div>
    </div>
  );
}

function useSignedIn() {
  const qc = useQueryClient();
  return async () => {
    const s = await api.session();
    qc.setQueryData(['session'], s);
  };
}

function SignupForm() {
  const signedIn = useSignedIn();
  const [form, setForm] = useState({ name: '', email: '', password: '', confirm: '' });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (form.password !== form.confirm) {
      setError(new Error('The passwords do not match'));
      return;
    }
    setBusy(true);
    try {
      await api.signup({ name: form.name, email: form.email, password: form.password });
      await signedIn();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  return (
    <form onSubmit={submit} className="space-y-4" aria-label="Create the first account">
      <div>
        <h1 className="text-xl font-semibold">Welcome</h1>
        <p className="text-sm text-muted">Create the administrator account. Sign-up closes after this.</p>
      </div>
      <Field label="Name">{(id) => <Input id={id} value={form.name} onChange={set('name')} required autoComplete="name" />}</Field>
      <Field label="Email">
        {(id) => <Input id={id} type="email" value={form.email} onChange={set('email')} required autoComplete="email" />}
      </Field>
      <Field label="Password" hint="At least 8 characters.">
        {(id, d) => (
          <Input id={id} aria-describedby={d} type="password" value={form.password} onChange={set('password')} required autoComplete="new-password" />
        )}
      </Field>
      <Field label="Confirm password">
        {(id) => <Input id={id} type="password" value={form.confirm} onChange={set('confirm')} required autoComplete="new-password" />}
      </Field>
      <ErrorAlert error={error} />
      <Button type="submit" className="w-full" disabled={busy}>
        {busy ? 'Creating…' : 'Create account'}
      </Button>
    </form>
  );
}

function LoginForm() {
  const signedIn = useSignedIn();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  // An SSO sign-in of an account with 2FA lands on /login#twoFactorChallenge=…&methods=…: the
  // provider stood in for the password, the second factor is asked here like after a password.
  const [ssoStep] = useState(() => ssoSecondFactor(window.location.hash));
  const [challenge, setChallenge] = useState<string | null>(ssoStep?.challenge ?? null);
  const [methods, setMethods] = useState<string[]>(ssoStep?.methods ?? []);
  const [code, setCode] = useState('');
  const [useBackup, setUseBackup] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [lockedUntil, setLockedUntil] = useState<number | null>(null);
  const wait = useCountdown(lockedUntil);
  // An SSO callback failure lands on /login?error=sso_…; shown once, then dropped from the URL.
  const [ssoError] = useState(() => ssoErrorMessage(new URLSearchParams(window.location.search).get('error')));
  useEffect(() => {
    if (ssoError || ssoStep) window.history.replaceState(window.history.state, '', window.location.pathname);
  }, [ssoError, ssoStep]);

  const fail = (err: unknown) => {
    if (err instanceof ApiError && err.status === 429 && err.retryAfterSecs !== null) {
      setLockedUntil(Date.now() + err.retryAfterSecs * 1000);
      setError(null);
    } else setError(err);
  };
  const submitPassword = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const r = await api.login({ email, password });
      if (r.twoFactorRequired) {
        setChallenge(r.challenge);
        setMethods(r.methods ?? ['totp']);
        setCode('');
      } else await signedIn();
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  };
  const submitCode = async (e: FormEvent) => {
    e.preventDefault();
    if (!challenge) return;
    setError(null);
    setBusy(true);
    try {
      await api.login2fa({ challenge, code: code.trim() });
      await signedIn();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && /challenge|expired/i.test(err.message)) setChallenge(null);
      fail(err);
    } finally {
      setBusy(false);
    }
  };
  /** Passwordless (no challenge) or second-factor passkey ceremony, then the session. */
  const withPasskey = async (twoFactorChallenge?: string) => {
    setError(null);
    setBusy(true);
    try {
      const options = await api.passkeyLoginOptions(twoFactorChallenge);
      let credential;
      try {
        credential = await getCredential(options);
      } catch (e) {
        throw ceremonyError(e);
      }
      await api.passkeyLoginVerify({ credential, ...(twoFactorChallenge ? { twoFactorChallenge } : {}) });
      await signedIn();
    } catch (err) {
      if (twoFactorChallenge && err instanceof ApiError && err.status === 401 && /challenge|expired/i.test(err.message)) setChallenge(null);
      fail(err);
    } finally {
      setBusy(false);
    }
  };
  const locked = wait > 0 && (
    <div role="alert" data-testid="lockout" className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-200">
      Too many failed attempts. Try again in <strong>{formatWait(wait)}</strong>.
    </div>
  );

  if (challenge && !methods.includes('totp'))
    return (
      <div className="space-y-4" role="group" aria-label="Two-factor authentication">
        <div>
          <h1 className="text-xl font-semibold">Two-factor authentication</h1>
          <p className="text-sm text-muted">Confirm the sign-in with your passkey.</p>
        </div>
        <ErrorAlert error={error} />
        {locked}
        <Button className="w-full" disabled={busy || wait > 0} onClick={() => withPasskey(challenge)}>
          {busy ? 'Waiting for the passkey…' : 'Use your passkey'}
        </Button>
        <div className="flex justify-end text-sm">
          <button type="button" className="text-muted underline" onClick={() => (setChallenge(null), setError(null))}>
            Back
          </button>
        </div>
      </div>
    );

  if (challenge)
    return (
      <form onSubmit={submitCode} className="space-y-4" aria-label="Two-factor authentication">
        <div>
          <h1 className="text-xl font-semibold">Two-factor authentication</h1>
          <p className="text-sm text-muted">
            {useBackup ? 'Enter one of your backup codes.' : 'Enter the 6-digit code from your authenticator app.'}
          </p>
        </div>
        <Field label={useBackup ? 'Backup code' : 'Authentication code'}>
          {(id) => (
            <Input
              id={id}
              value={code}
              onChange={(e) => setCode(e.target.value)}
              inputMode={useBackup ? 'text' : 'numeric'}
              autoComplete="one-time-code"
              placeholder={useBackup ? 'xxxxx-xxxxx' : '123456'}
              autoFocus
              required
            />
          )}
        </Field>
        <ErrorAlert error={error} />
        {locked}
        <Button type="submit" className="w-full" disabled={busy || wait > 0}>
          {busy ? 'Checking…' : 'Verify'}
        </Button>
        {methods.includes('passkey') && (
          <Button variant="secondary" className="w-full" disabled={busy || wait > 0} onClick={() => withPasskey(challenge)}>
            Use your passkey instead
          </Button>
        )}
        <div className="flex justify-between text-sm">
          <button type="button" className="text-primary underline" onClick={() => setUseBackup((b) => !b)}>
            {useBackup ? 'Use an authenticator code' : 'Use a backup code'}
          </button>
          <button type="button" className="text-muted underline" onClick={() => (setChallenge(null), setError(null))}>
            Back
          </button>
        </div>
      </form>
    );

  return (
    <div className="space-y-4">
    <form onSubmit={submitPassword} className="space-y-4" aria-label="Sign in">
      <h1 className="text-xl font-semibold">Sign in</h1>
      {ssoError && (
        <div role="alert" data-testid="sso-error" className="rounded-md border border-danger/40 bg-danger/10 px-3 py-2 text-sm text-danger">
          {ssoError}
        </div>
      )}
      <Field label="Email">
        {(id) => <Input id={id} type="email" value={email} onChange={(e) => setEmail(e.target.value)} required autoComplete="username" autoFocus />}
      </Field>
      <Field label="Password">
        {(id) => (
          <Input id={id} type="password" value={password} onChange={(e) => setPassword(e.target.value)} required autoComplete="current-password" />
        )}
      </Field>
      <ErrorAlert error={error} />
      {locked}
      <Button type="submit" className="w-full" disabled={busy || wait > 0}>
        {busy ? 'Signing in…' : 'Sign in'}
      </Button>
    </form>
      <OtherSignIns busy={busy || wait > 0} onPasskey={() => withPasskey()} />
    </div>
  );
}

/** "Sign in with a passkey" and one button per enabled SSO provider (none: nothing shown). */
function OtherSignIns({ busy, onPasskey }: { busy: boolean; onPasskey: () => void }) {
  const providers = useQuery({
    queryKey: ['sso-public'],
    queryFn: async () => {
      try {
        return await api.publicSsoProviders();
      } catch {
        return [];
      }
    },
    staleTime: 60_000,
  });
  // Same cache entry as the page: `passkeyLogin` false when an admin disabled passkey login.
  const setup = useQuery({ queryKey: ['setup-status'], queryFn: api.setupStatus, staleTime: 0 });
  const passkeys = passkeysSupported() && setup.data?.passkeyLogin !== false;
  const sso = providers.data ?? [];
  if (!passkeys && !sso.length) return null;
  return (
    <div className="space-y-2" data-testid="other-sign-ins">
      <div className="flex items-center gap-2 text-xs uppercase text-muted">
        <span className="h-px flex-1 bg-border" />
        or
        <span className="h-px flex-1 bg-border" />
      </div>
      {passkeys && (
        <Button variant="secondary" className="w-full" disabled={busy} onClick={onPasskey}>
          Sign in with a passkey
        </Button>
      )}
      {sso.map((p) => (
        <Button key={p.id} variant="secondary" className="w-full" asChild>
          <a href={api.ssoStartUrl(p.id)} data-provider={p.id}>
            Sign in with {p.name}
          </a>
        </Button>
      ))}
    </div>
  );
}
