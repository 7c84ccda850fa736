import { describe, expect, it } from 'vitest';
import { SSO_ADAPTERS, holdsEveryPermission, ssoErrorMessage, ssoFormValues, ssoProviderBody, ssoSecondFactor } from './sso';
import { PERMISSIONS, type SsoProvider } from '../api/types';

const flags = { enabled: true, allowProvisioning: false, trustEmailLinking: false };

describe('SSO error codes', () => {
  it('has a message for every code of docs/AUTH.md', () => {
    for (const c of ['sso_unknown_provider', 'sso_disabled', 'sso_state', 'sso_denied', 'sso_provider_unreachable', 'sso_exchange_failed', 'sso_invalid_token', 'sso_no_email', 'sso_email_unverified', 'sso_domain', 'sso_no_account', 'sso_link_required', 'sso_already_linked', 'sso_link_session'])
      expect(ssoErrorMessage(c)).toMatch(/\w{5,}/);
    expect(ssoErrorMessage('sso_no_account')).toMatch(/no account/i);
  });
  it('names an unknown sso_ code and ignores anything else', () => {
    expect(ssoErrorMessage('sso_new_thing')).toContain('sso_new_thing');
    expect(ssoErrorMessage('other')).toBeNull();
    expect(ssoErrorMessage(null)).toBeNull();
  });
});

describe('provider form', () => {
  it('knows the five adapters', () => {
    expect(SSO_ADAPTERS.map((a) => a.id)).toEqual(['generic', 'authentik', 'keycloak', 'pocket-id', 'authelia']);
  });
  it('builds a keycloak body with only its fields', () => {
    const v = { ...ssoFormValues(), name: 'Corp', providerId: 'corp', adapter: 'keycloak', baseUrl: 'https://sso.example.com', realm: 'main', issuer: 'https://stale', clientId: 'app', clientSecret: 's3cret' };
    const { body, errors } = ssoProviderBody(v, flags, null);
    expect(errors).toEqual({});
    expect(body).toEqual({ name: 'Corp', providerId: 'corp', adapter: 'keycloak', baseUrl: 'https://sso.example.com', realm: 'main', clientId: 'app', clientSecret: 's3cret', domain: '', enabled: true, allowProvisioning: false, trustEmailLinking: false });
  });
  it('reports missing and malformed fields', () => {
    const { errors } = ssoProviderBody({ ...ssoFormValues(), providerId: 'Bad Id', adapter: 'generic', issuer: 'ftp://x' }, flags, null);
    expect(errors).toEqual({ name: 'Required', providerId: expect.any(String), clientId: 'Required', clientSecret: 'Required', issuer: 'An http(s) URL' });
  });
  it('keeps a stored secret on edit (write-only: omitted when blank)', () => {
    const existing = { id: '1', providerId: 'idp', name: 'IdP', adapter: 'authentik', adapterConfig: { baseUrl: 'https://a.example', slug: 'app' }, clientId: 'c', hasClientSecret: true, domain: null } as unknown as SsoProvider;
    const v = ssoFormValues(existing);
    expect(v).toMatchObject({ baseUrl: 'https://a.example', slug: 'app', clientSecret: '' });
    const { body, errors } = ssoProviderBody(v, flags, existing);
    expect(errors).toEqual({});
    expect(body).not.toHaveProperty('clientSecret');
    expect(body).toMatchObject({ baseUrl: 'https://a.example', slug: 'app' });
  });
});

describe('SSO and the second factor', () => {
  it('reads the challenge the callback puts in the fragment', () => {
    expect(ssoSecondFactor('#twoFactorChallenge=a.b.c&methods=totp,passkey')).toEqual({ challenge: 'a.b.c', methods: ['totp', 'passkey'] });
    expect(ssoSecondFactor('#twoFactorChallenge=a.b.c&methods=bogus')).toEqual({ challenge: 'a.b.c', methods: ['totp'] });
    expect(ssoSecondFactor('')).toBeNull();
    expect(ssoSecondFactor('#methods=totp')).toBeNull();
  });
});

describe('who may write providers', () => {
  it('needs every permission', () => {
    expect(holdsEveryPermission([...PERMISSIONS])).toBe(true);
    expect(holdsEveryPermission(['settings:read', 'settings:write'])).toBe(false);
    expect(holdsEveryPermission(PERMISSIONS.slice(1))).toBe(false);
  });
});
