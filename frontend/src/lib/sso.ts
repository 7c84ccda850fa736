/** SSO helpers of the login page, the profile's linked accounts and the providers page. */
import { PERMISSIONS, type SsoProvider, type SsoProviderInput } from '../api/types';

/** The `?error=` codes the SSO callback redirects to `/login` with (docs/AUTH.md). */
export const SSO_ERRORS: Record<string, string> = {
  sso_unknown_provider: 'That single sign-on provider does not exist.',
  sso_disabled: 'That single sign-on provider is disabled.',
  sso_state: 'The sign-in attempt expired, was already used or was started in another browser. Please try again.',
  sso_denied: 'The provider did not allow the sign-in (cancelled or denied).',
  sso_provider_unreachable: 'The single sign-on provider cannot be reached. Try again later or ask an administrator.',
  sso_exchange_failed: 'The provider refused to complete the sign-in. Ask an administrator to check its client settings.',
  sso_invalid_token: 'The provider answered with an identity token that could not be verified.',
  sso_no_email: 'The provider did not share an email address for your account.',
  sso_email_unverified: 'Your email address is not verified at the provider, so it cannot be linked to an account here.',
  sso_domain: 'Your email domain is not allowed for this provider.',
  sso_no_account: 'There is no account for you here, and this provider may not create one. Ask an administrator.',
  sso_link_required:
    'An account with your email address exists here, but this provider may not sign in to it by email. Sign in another way, then link the provider under Profile → Security → Linked accounts.',
  sso_already_linked: 'That account at the provider is already linked to another account here.',
  sso_link_session: 'The link was started in another session, or your session ended. Sign in and start the link again.',
};

/** The message for a `?error=` code from the SSO callback, or null for none. */
export function ssoErrorMessage(code: string | null): string | null {
  if (!code) return null;
  return SSO_ERRORS[code] ?? (code.startsWith('sso_') ? `Single sign-on failed (${code}).` : null);
}


/**
 * Whether these permissions are all of them. Adding, changing or deleting an SSO provider needs
 * every permission (a SuperAdmin): a provider decides who signs in (shared/identity/src/sso.rs).
 */
export function holdsEveryPermission(held: readonly string[]): boolean {
  return PERMISSIONS.every((p) => held.includes(p));
}

/**
 * The second-factor step an SSO sign-in hands to the login page in the URL fragment
 * (`/login#twoFactorChallenge=…&methods=totp,passkey`), or null. SSO replaces the password only.
 */
export function ssoSecondFactor(hash: string): { challenge: string; methods: string[] } | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const challenge = params.get('twoFactorChallenge');
  if (!challenge) return null;
  const methods = (params.get('methods') ?? '').split(',').filter((m) => m === 'totp' || m === 'passkey');
  return { challenge, methods: methods.length ? methods : ['totp'] };
}

/** One field of an adapter's form. */
export interface SsoField {
  key: 'issuer' | 'baseUrl' | 'slug' | 'realm' | 'authorizationEndpoint' | 'tokenEndpoint' | 'userInfoEndpoint' | 'jwksEndpoint';
  label: string;
  required: boolean;
  hint?: string;
}

const baseUrl = (hint: string): SsoField => ({ key: 'baseUrl', label: 'Base URL', required: true, hint });

/** The adapters the server knows and the fields each one expects (shared/identity/src/sso.rs). */
export const SSO_ADAPTERS: { id: string; label: string; fields: SsoField[] }[] = [
  {
    id: 'generic',
    label: 'Generic OpenID Connect',
    fields: [
      { key: 'issuer', label: 'Issuer URL', required: true, hint: 'Discovery is read from {issuer}/.well-known/openid-configuration.' },
      { key: 'authorizationEndpoint', label: 'Authorization endpoint', required: false, hint: 'Optional; overrides discovery.' },
      { key: 'tokenEndpoint', label: 'Token endpoint', required: false, hint: 'Optional; overrides discovery.' },
      { key: 'userInfoEndpoint', label: 'Userinfo endpoint', required: false, hint: 'Optional; overrides discovery.' },
      { key: 'jwksEndpoint', label: 'JWKS endpoint', required: false, hint: 'Optional; overrides discovery.' },
    ],
  },
  {
    id: 'authentik',
    label: 'authentik',
    fields: [
      baseUrl('e.g. https://auth.example.com'),
      { key: 'slug', label: 'Application slug', required: true, hint: 'Issuer: {base URL}/application/o/{slug}/' },
    ],
  },
  {
    id: 'keycloak',
    label: 'Keycloak',
    fields: [baseUrl('e.g. https://sso.example.com'), { key: 'realm', label: 'Realm', required: true, hint: 'Issuer: {base URL}/realms/{realm}' }],
  },
  { id: 'pocket-id', label: 'Pocket ID', fields: [baseUrl('The Pocket ID URL; it is the issuer.')] },
  { id: 'authelia', label: 'Authelia', fields: [baseUrl('The Authelia URL; it is the issuer.')] },
];



/** Initial form values for a new provider or from an existing one (never the secret). */
export function ssoFormValues(p?: SsoProvider): Record<string, string> {
  const v: Record<string, string> = { name: '', providerId: '', adapter: 'generic', clientId: '', clientSecret: '', domain: '' };
  if (!p) return v;
  v.name = p.name;
  v.providerId = p.providerId;
  v.adapter = p.adapter;
  v.clientId = p.clientId ?? '';
  v.domain = p.domain ?? '';
  for (const [k, x] of Object.entries(p.adapterConfig ?? {})) if (typeof x === 'string') v[k] = x;
  return v;
}

const URL_RE = /^https?:\/\/[^\s/]+/i;

/**
 * Checks the form like the server would (before the network part) and builds the body:
 * only the chosen adapter's fields, the secret only when typed (write-only; kept on edit).
 */
export function ssoProviderBody(
  v: Record<string, string>,
  flags: { enabled: boolean; allowProvisioning: boolean; trustEmailLinking: boolean },
  editing: SsoProvider | null,
): { body: SsoProviderInput; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const t = (k: string) => (v[k] ?? '').trim();
  const adapter = SSO_ADAPTERS.find((a) => a.id === t('adapter'));
  if (!t('name')) errors.name = 'Required';
  if (!/^[a-z0-9_-]{1,64}$/.test(t('providerId'))) errors.providerId = '1–64 of a-z, 0-9, - and _';
  if (!adapter) errors.adapter = 'Choose an adapter';
  if (!t('clientId')) errors.clientId = 'Required';
  if (!t('clientSecret') && !editing?.hasClientSecret) errors.clientSecret = 'Required';
  const body: SsoProviderInput = {
    name: t('name'),
    providerId: t('providerId'),
    adapter: t('adapter'),
    clientId: t('clientId'),
    domain: t('domain'),
    enabled: flags.enabled,
    allowProvisioning: flags.allowProvisioning,
    trustEmailLinking: flags.trustEmailLinking,
  };
  if (t('clientSecret')) body.clientSecret = t('clientSecret');
  for (const f of adapter?.fields ?? []) {
    const x = t(f.key);
    if (!x) {
      if (f.required) errors[f.key] = 'Required';
      continue;
    }
    if (f.key !== 'slug' && f.key !== 'realm' && !URL_RE.test(x)) errors[f.key] = 'An http(s) URL';
    body[f.key] = x;
  }
  return { body, errors };
}
