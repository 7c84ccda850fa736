/**
 * The typed API client: one `request` function (same-origin cookie session, the CSRF header
 * the server requires, `{error, details}` errors) and one function per endpoint.
 */
import type * as T from './types';
import type { CreationOptionsJSON, CredentialJSON, RequestOptionsJSON } from '../lib/webauthn';

/** An error answer from the server (or a network failure, status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly details: unknown;
  /** Seconds to wait, on a 429 lockout (`details.retryAfterSecs` or `Retry-After`). */
  readonly retryAfterSecs: number | null;

  constructor(status: number, message: string, details?: unknown, retryAfterSecs?: number | null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.details = details;
    this.retryAfterSecs = retryAfterSecs ?? null;
  }

  /** The API (route) is not deployed on this server yet. */
  get notAvailable(): boolean {
    return this.status === 404 || this.status === 405 || this.status === 501;
  }
}

/** Builds an [`ApiError`] from a failed response's status, headers and body text. */
export function errorFrom(status: number, bodyText: string, retryAfter: string | null): ApiError {
  let message = `HTTP ${status}`;
  let details: unknown;
  try {
    const body = JSON.parse(bodyText) as Partial<T.ErrorBody>;
    if (body && typeof body.error === 'string') message = body.error;
    details = body?.details;
  } catch {
    if (bodyText.trim() && bodyText.length < 300) message = bodyText.trim();
  }
  let retry: number | null = null;
  if (details && typeof details === 'object' && 'retryAfterSecs' in details) {
    const v = Number((details as { retryAfterSecs: unknown }).retryAfterSecs);
    if (Number.isFinite(v)) retry = v;
  }
  if (retry === null && retryAfter !== null && /^\d+$/.test(retryAfter.trim())) {
    retry = Number(retryAfter.trim());
  }
  return new ApiError(status, message, details, retry);
}

/** Human text for `details` (field errors, missing permissions…), or null. */
export function detailsText(details: unknown): string | null {
  if (details === null || details === undefined) return null;
  if (typeof details === 'string') return details;
  if (Array.isArray(details)) return details.map((d) => detailsText(d) ?? '').filter(Boolean).join('; ');
  if (typeof details === 'object') {
    const entries = Object.entries(details as Record<string, unknown>).filter(
      ([k]) => k !== 'retryAfterSecs',
    );
    if (!entries.length) return null;
    return entries
      .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join('; ');
  }
  return String(details);
}

let onUnauthorized: (() => void) | null = null;
/** Called when an authenticated request answers 401 (the session ended). */
export function setUnauthorizedHandler(f: (() => void) | null) {
  onUnauthorized = f;
}

/** Sends one request. JSON in, JSON out; 204 → undefined. */
export async function request<R>(method: string, path: string, body?: unknown): Promise<R> {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    // The server refuses cookie-authenticated state changes without a same-origin Origin or
    // this header (shared/identity/src/csrf.rs); browsers never send it cross-site.
    'X-Requested-With': 'dbackup-ui',
  };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp: Response;
  try {
    resp = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, `The server cannot be reached (${(e as Error).message})`);
  }
  if (resp.status === 204) return undefined as R;
  const text = await resp.text();
  if (!resp.ok) {
    const err = errorFrom(resp.status, text, resp.headers.get('Retry-After'));
    if (resp.status === 401 && !path.startsWith('/api/auth/login') && !path.startsWith('/api/auth/passkeys/login') && onUnauthorized) onUnauthorized();
    throw err;
  }
  if (!text) return undefined as R;
  try {
    return JSON.parse(text) as R;
  } catch {
    throw new ApiError(resp.status, 'The server answered something that is not JSON');
  }
}

/**
 * A request whose body or answer is not JSON (an uploaded file, a ZIP download): `body` as is,
 * extra `headers`; the answer as a Blob with its file name. Errors as [`request`].
 */
export async function requestRaw(
  method: string,
  path: string,
  opts: { body?: Blob | ArrayBuffer; headers?: Record<string, string>; accept?: string } = {},
): Promise<{ blob: Blob; fileName: string | null; type: string }> {
  const headers: Record<string, string> = { Accept: opts.accept ?? '*/*', 'X-Requested-With': 'dbackup-ui', ...opts.headers };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/octet-stream';
  let resp: Response;
  try {
    resp = await fetch(path, { method, headers, credentials: 'same-origin', body: opts.body });
  } catch (e) {
    throw new ApiError(0, `The server cannot be reached (${(e as Error).message})`);
  }
  if (!resp.ok) {
    const err = errorFrom(resp.status, await resp.text(), resp.headers.get('Retry-After'));
    if (resp.status === 401 && onUnauthorized) onUnauthorized();
    throw err;
  }
  const blob = await resp.blob();
  return { blob, fileName: fileNameOf(resp.headers.get('Content-Disposition')), type: resp.headers.get('Content-Type') ?? '' };
}

/** The `filename` of a `Content-Disposition` header, or null. */
export function fileNameOf(disposition: string | null): string | null {
  if (!disposition) return null;
  const star = /filename\*=(?:UTF-8'')?([^;]+)/i.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''));
    } catch {
      /* fall through to the plain filename */
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  return plain ? plain[1].trim() : null;
}

const get = <R>(p: string) => request<R>('GET', p);
/** A list answered as a bare array or as `{items}`. */
const list = <X>(p: string) => request<X[] | { items: X[] }>('GET', p).then(itemsOf);
const post = <R>(p: string, b?: unknown) => request<R>('POST', p, b ?? {});
const patch = <R>(p: string, b: unknown) => request<R>('PATCH', p, b);
const put = <R>(p: string, b: unknown) => request<R>('PUT', p, b);
const del = (p: string) => request<void>('DELETE', p);
const id = (s: string) => encodeURIComponent(s);

/** A query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const api = {
  health: () => get<T.Health>('/api/health'),

  // auth
  setupStatus: () => get<{ needsSetup: boolean; passkeyLogin?: boolean }>('/api/auth/setup-status'),
  signup: (b: { name: string; email: string; password: string }) => post<T.User>('/api/auth/signup', b),
  login: (b: { email: string; password: string }) => post<T.LoginAnswer>('/api/auth/login', b),
  login2fa: (b: { challenge: string; code: string }) => post<T.LoginAnswer>('/api/auth/login/2fa', b),
  logout: () => post<void>('/api/auth/logout'),
  session: () => get<T.SessionInfo>('/api/auth/session'),
  sessions: () => list<T.SessionRow>('/api/auth/sessions'),
  revokeSession: (s: string) => del(`/api/auth/sessions/${id(s)}`),
  enroll2fa: (password: string) => post<T.Enrollment>('/api/auth/2fa/enroll', { password }),
  verify2fa: (code: string) => post<{ backupCodes: string[] }>('/api/auth/2fa/verify', { code }),
  disable2fa: (proof: { password?: string; code?: string }) => post<void>('/api/auth/2fa/disable', proof),
  backupCodes: (proof: { password?: string; code?: string }) =>
    post<{ backupCodes: string[] }>('/api/auth/2fa/backup-codes', proof),

  // passkeys (docs/AUTH.md)
  passkeys: () => get<T.PasskeyList>('/api/auth/passkeys'),
  passkeyRegisterOptions: () => post<CreationOptionsJSON>('/api/auth/passkeys/register/options'),
  passkeyRegisterVerify: (b: { name?: string; credential: CredentialJSON }) =>
    post<T.Passkey>('/api/auth/passkeys/register/verify', b),
  renamePasskey: (p: string, name: string) => patch<T.Passkey>(`/api/auth/passkeys/${id(p)}`, { name }),
  deletePasskey: (p: string) => del(`/api/auth/passkeys/${id(p)}`),
  passkeyTwoFactor: (enabled: boolean) => post<unknown>('/api/auth/passkeys/two-factor', { enabled }),
  passkeyLoginOptions: (twoFactorChallenge?: string) =>
    post<RequestOptionsJSON>('/api/auth/passkeys/login/options', twoFactorChallenge ? { twoFactorChallenge } : {}),
  passkeyLoginVerify: (b: { credential: CredentialJSON; twoFactorChallenge?: string }) =>
    post<T.LoginAnswer>('/api/auth/passkeys/login/verify', b),

  // SSO (docs/AUTH.md)
  publicSsoProviders: () => list<T.PublicSsoProvider>('/api/auth/sso/providers'),
  ssoStartUrl: (providerId: string) => `/api/auth/sso/${id(providerId)}/start`,
  ssoProviders: () => list<T.SsoProvider>('/api/sso-providers'),
  createSsoProvider: (b: T.SsoProviderInput) => post<T.SsoProvider>('/api/sso-providers', b),
  updateSsoProvider: (p: string, b: T.SsoProviderInput) => patch<T.SsoProvider>(`/api/sso-providers/${id(p)}`, b),
  deleteSsoProvider: (p: string) => del(`/api/sso-providers/${id(p)}`),
  linkedAccounts: () => get<T.LinkedAccounts>('/api/profile/accounts'),
  unlinkAccount: (a: string) => del(`/api/profile/accounts/${id(a)}`),
  linkAccount: (providerId: string) => post<T.LinkStart>('/api/profile/accounts/link', { providerId }),

  // users & groups
  users: () => list<T.User>('/api/users'),
  createUser: (b: T.NewUser) => post<T.User>('/api/users', b),
  updateUser: (u: string, b: T.UserUpdate) => patch<T.User>(`/api/users/${id(u)}`, b),
  deleteUser: (u: string) => del(`/api/users/${id(u)}`),
  reset2fa: (u: string) => post<void>(`/api/users/${id(u)}/reset-2fa`),
  groups: () => list<T.Group>('/api/groups'),
  createGroup: (b: { name: string; permissions: string[] }) => post<T.Group>('/api/groups', b),
  updateGroup: (g: string, b: { name?: string; permissions?: string[] }) =>
    patch<T.Group>(`/api/groups/${id(g)}`, b),
  deleteGroup: (g: string) => del(`/api/groups/${id(g)}`),

  // profile
  profile: () => get<T.User>('/api/profile'),
  updateProfile: (b: T.ProfileUpdate) => patch<T.User>('/api/profile', b),
  changePassword: (b: T.PasswordChange) => post<void>('/api/profile/password', b),

  // API keys
  apiKeys: () => list<T.ApiKey>('/api/api-keys'),
  createApiKey: (b: { name: string; permissions: string[]; expiresAt?: string | null }) =>
    post<T.CreatedApiKey>('/api/api-keys', b),
  deleteApiKey: (k: string) => del(`/api/api-keys/${id(k)}`),

  // system
  audit: (f: T.AuditFilter & { cursor?: string | null; limit?: number }) =>
    get<T.Page<T.AuditEntry>>(`/api/audit${query({ ...f })}`),
  settings: () => get<T.Settings>('/api/settings'),
  workers: () => get<T.WorkerInfo[]>('/api/workers'),
  updateSettings: (b: Partial<T.Settings>) => patch<T.Settings>('/api/settings', b),

  // adapters & vault (issue 5)
  adapterTypes: () => list<T.AdapterType>('/api/adapter-types'),
  adapters: (type: T.AdapterKind) => list<T.Adapter>(`/api/adapters${query({ type })}`),
  createAdapter: (b: T.NewAdapter) => post<T.Adapter>('/api/adapters', b),
  updateAdapter: (a: string, b: T.AdapterUpdate) => put<T.Adapter>(`/api/adapters/${id(a)}`, b),
  deleteAdapter: (a: string) => del(`/api/adapters/${id(a)}`),
  testAdapterConfig: (b: T.AdapterTestRequest) =>
    post<T.AdapterTestResult>('/api/adapters/test', b),
  testAdapter: (a: string) => post<T.AdapterTestResult>(`/api/adapters/${id(a)}/test`),
  encryptionProfiles: () => list<T.EncryptionProfile>('/api/encryption-profiles'),
  createEncryptionProfile: (b: { name: string; key?: string; kind?: 'symmetric' | 'dbackup-import' | 'public'; publicKey?: string }) =>
    post<T.EncryptionProfile>('/api/encryption-profiles', b),
  deleteEncryptionProfile: (p: string) => del(`/api/encryption-profiles/${id(p)}`),
  revealEncryptionProfile: (p: string, password: string) =>
    post<{ key: string }>(`/api/encryption-profiles/${id(p)}/reveal`, { password }),
  recoveryKit: (p: string, password: string) =>
    requestRaw('GET', `/api/encryption-profiles/${id(p)}/recovery-kit`, {
      headers: { 'X-Confirm-Password': password },
      accept: 'application/zip',
    }),
  adapterDatabases: (a: string) => get<T.DatabaseInfo[]>(`/api/adapters/${id(a)}/databases`),
  adapterHealth: (a: string, f: { from?: string; to?: string } = {}) =>
    get<T.AdapterHealth>(`/api/adapters/${id(a)}/health${query(f)}`),

  // config self-backup (docs/CONTRACTS.md "v3 additions")
  configBackup: () => get<T.ConfigBackupState>('/api/system/config-backup'),
  updateConfigBackup: (b: T.ConfigBackupConfig) => put<T.ConfigBackupState>('/api/system/config-backup', b),
  runConfigBackup: () => post<T.ConfigBackupRun>('/api/system/config-backup'),
  configBackups: (destinationId?: string) =>
    get<T.ConfigBackupList>(`/api/system/config-backups${query({ destinationId })}`),
  configRestore: (b: { source: { destinationId: string; name: string }; dryRun?: boolean; encryptionProfileId?: string }) =>
    post<T.ConfigRestoreResult>('/api/system/config-restore', b),
  configRestoreUpload: async (file: Blob, o: { dryRun: boolean; encryptionProfileId?: string }) => {
    const r = await requestRaw('POST', `/api/system/config-restore${query({ dryRun: String(o.dryRun), encryptionProfileId: o.encryptionProfileId })}`, {
      body: file,
      accept: 'application/json',
    });
    return JSON.parse(await r.blob.text()) as T.ConfigRestoreResult;
  },

  // jobs & executions (issue 7)
  jobs: () => list<T.Job>('/api/jobs'),
  job: (j: string) => get<T.Job>(`/api/jobs/${id(j)}`),
  createJob: (b: T.JobBody) => post<T.Job>('/api/jobs', b),
  updateJob: (j: string, b: T.JobBody) => put<T.Job>(`/api/jobs/${id(j)}`, b),
  deleteJob: (j: string) => del(`/api/jobs/${id(j)}`),
  runJob: (j: string) => post<{ executionId: string }>(`/api/jobs/${id(j)}/run`),
  nextRuns: (j: string, count = 5) => get<{ runs: string[]; timezone?: string }>(`/api/jobs/${id(j)}/next-runs?count=${count}`),
  executions: (f: { jobId?: string; status?: string; type?: string; cursor?: string | null; limit?: number }) =>
    get<T.Page<T.Execution> | T.Execution[]>(`/api/executions${query(f)}`),
  execution: (e: string) => get<T.Execution>(`/api/executions/${id(e)}`),
  cancelExecution: (e: string) => post<void>(`/api/executions/${id(e)}/cancel`),
};

/** Lists answered as an array or as `{items}` (paged), as an array. */
export function itemsOf<X>(v: X[] | { items: X[] } | undefined | null): X[] {
  if (!v) return [];
  return Array.isArray(v) ? v : (v.items ?? []);
}
