#!/usr/bin/env node
// Passkeys and SSO through the web UI in a real headless Chromium with its WebAuthn virtual
// authenticator (CDP), against a running, fresh dbackup.
//
//   node e2e/passkeys-ui.mjs http://localhost:3000 [OIDC issuer]
//
// The base URL must be the app's WebAuthn origin (a host name: Chromium refuses an IP-literal
// RP ID), e.g. `http://localhost:<port>` with SPIN_VARIABLE_WEBAUTHN_ORIGINS set to it. The
// optional issuer is tests/oidc/provider.mjs (client `backup-app`/`backup-secret`, the app's
// callback registered for provider ID `test-idp`); without it the SSO login steps are skipped
// and only the form's discovery error is checked. Output as e2e/lib.mjs.
import { assert, start } from './lib.mjs';

const ADMIN = { name: 'Pia Passkey', email: 'pia@example.com', password: 'correct horse battery staple' };
const issuer = process.argv[3] ?? '';

const { base, page, ctx, step, snap, nav, signIn, signOut, signUp, finish } = await start('passkeys-ui.mjs');
const api = async (path) => {
  const r = await page.request.get(base + path);
  return { status: r.status(), body: await r.json().catch(() => null) };
};
/** Polls `f` (async) until it is true, for up to 10 s. */
const until = async (what, f) => {
  for (let i = 0; i < 100; i++) {
    if (await f()) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`timed out waiting for ${what}`);
};
const profileSecurity = async () => {
  await page.goto(base + '/profile');
  await page.getByRole('tab', { name: 'Security' }).click();
  await page.getByRole('heading', { name: 'Passkeys' }).waitFor();
};

let authenticatorId;
let cdp;

await step('sign up; a virtual authenticator is attached', async () => {
  await signUp(ADMIN);
  cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  }));
});

await step('add a passkey with a name in Profile', async () => {
  await profileSecurity();
  await page.getByTestId('no-passkeys').waitFor();
  assert(await page.getByRole('switch', { name: 'Require a passkey as second factor' }).isDisabled(), '2FA toggle disabled without a passkey');
  await page.getByLabel('Passkey name', { exact: true }).fill('Work laptop');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.getByRole('status').filter({ hasText: 'Passkey “Work laptop” added.' }).waitFor();
  await page.getByTestId('passkey-row').filter({ hasText: 'Work laptop' }).waitFor();
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert(credentials.length === 1 && credentials[0].isResidentCredential && credentials[0].rpId === 'localhost', `authenticator holds the key: ${JSON.stringify(credentials.map((c) => c.rpId))}`);
  const list = await api('/api/auth/passkeys');
  assert(list.body.passkeys.length === 1 && list.body.passkeys[0].name === 'Work laptop', `stored: ${JSON.stringify(list.body)}`);
  await snap('profile-passkeys');
});

await step('rename the passkey', async () => {
  await page.getByTestId('passkey-row').getByRole('button', { name: 'Rename' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name', { exact: true }).fill('YubiKey');
  await dialog.getByRole('button', { name: 'Save name' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByTestId('passkey-row').filter({ hasText: 'YubiKey' }).waitFor();
  assert((await api('/api/auth/passkeys')).body.passkeys[0].name === 'YubiKey', 'renamed on the server');
});

await step('passkey as second factor: password, then the passkey', async () => {
  await page.getByRole('switch', { name: 'Require a passkey as second factor' }).click();
  await until('passkeyTwoFactor on', async () => (await api('/api/auth/passkeys')).body.passkeyTwoFactor === true);
  await signOut();
  await signIn(ADMIN.email, ADMIN.password);
  await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
  await page.getByRole('button', { name: 'Use your passkey' }).click();
  await page.getByText(`Welcome back, ${ADMIN.name}.`).waitFor();
  await profileSecurity();
  await page.getByRole('switch', { name: 'Require a passkey as second factor' }).click();
  await until('passkeyTwoFactor off', async () => (await api('/api/auth/passkeys')).body.passkeyTwoFactor === false);
});

await step('sign out, then sign in with the passkey (no password)', async () => {
  await signOut();
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.getByText(`Welcome back, ${ADMIN.name}.`).waitFor();
  assert((await page.getByTestId('current-user').textContent()) === ADMIN.email, 'signed in as the passkey owner');
  const audit = await api('/api/audit?action=LOGIN&limit=20');
  assert(audit.body.items.some((r) => r.details?.method === 'passkey'), `a passkey LOGIN audited: ${JSON.stringify(audit.body.items.map((r) => r.details))}`);
});

await step('the SSO form checks fields and shows the discovery error of an unreachable issuer', async () => {
  await nav('SSO providers').click();
  await page.getByRole('heading', { name: 'SSO providers' }).waitFor();
  await page.getByText('No SSO providers yet').waitFor();
  await page.getByRole('button', { name: 'Add provider' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: 'Save provider' }).click();
  await dialog.getByText('1–64 of a-z, 0-9, - and _').waitFor();
  await dialog.getByLabel('Adapter').selectOption('keycloak');
  assert(await dialog.getByLabel('Realm', { exact: true }).isVisible(), 'keycloak asks for a realm');
  await dialog.getByLabel('Adapter').selectOption('generic');
  await dialog.getByLabel('Name', { exact: true }).fill('Test IdP');
  await dialog.getByLabel('Provider ID', { exact: true }).fill('test-idp');
  await dialog.getByLabel('Issuer URL', { exact: true }).fill('http://127.0.0.1:9');
  await dialog.getByLabel('Client ID', { exact: true }).fill('backup-app');
  await dialog.getByLabel('Client secret', { exact: true }).fill('backup-secret');
  const trust = dialog.getByRole('switch', { name: 'Link existing accounts by verified email' });
  assert((await trust.getAttribute('aria-checked')) === 'false', 'email linking is off by default');
  await snap('sso-provider-form');
  await dialog.getByRole('button', { name: 'Save provider' }).click();
  await dialog.getByRole('alert').filter({ hasText: /discovery|reach|connect|issuer/i }).waitFor();
  assert((await api('/api/sso-providers')).body.length === 0, 'nothing saved');
  if (issuer) {
    await dialog.getByLabel('Issuer URL', { exact: true }).fill(issuer);
    await dialog.getByRole('button', { name: 'Save provider' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByTestId('sso-provider-row').filter({ hasText: 'test-idp' }).waitFor();
    const list = await api('/api/sso-providers');
    assert(list.body.length === 1 && list.body[0].hasClientSecret === true && !JSON.stringify(list.body).includes('backup-secret'), `secret write-only: ${JSON.stringify(list.body)}`);
    assert(list.body[0].tokenEndpoint === `${issuer}/token`, 'discovery stored');
    assert(list.body[0].trustEmailLinking === false, 'stored without email linking');
    await snap('sso-providers');
  } else {
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  }
});

if (issuer) {
  await step('edit keeps the secret; disabling hides the login button', async () => {
    await page.getByTestId('sso-provider-row').getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog');
    assert((await dialog.getByLabel('Client secret', { exact: true }).inputValue()) === '', 'secret never shown');
    await dialog.getByLabel('Name', { exact: true }).fill('Test IdP');
    await dialog.getByRole('button', { name: 'Save provider' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('switch', { name: 'Enable Test IdP' }).click();
    await until('the disabled provider to leave the public list', async () => (await api('/api/auth/sso/providers')).body.length === 0);
    assert((await api('/api/sso-providers')).body[0].enabled === false, 'stored as disabled');
    await page.getByRole('switch', { name: 'Enable Test IdP' }).click();
    await until('the enabled provider in the public list', async () => (await api('/api/auth/sso/providers')).body.length === 1);
  });
}

await step('an SSO failure code is shown on the login page', async () => {
  await signOut();
  await page.goto(base + '/login?error=sso_email_unverified');
  await page.getByTestId('sso-error').filter({ hasText: 'Your email address is not verified at the provider' }).waitFor();
  assert(!page.url().includes('error='), 'the code is dropped from the address');
  if (!issuer) assert((await page.getByRole('link', { name: /^Sign in with / }).count()) === 0, 'no SSO buttons without providers');
});

if (issuer) {
  await step('sign in with the SSO button at the real provider', async () => {
    // The provider's dev login pages link a web font from the internet; this machine has no
    // DNS for it. Answer such requests empty instead (the app itself loads nothing external).
    const external = (url) => !['localhost', '127.0.0.1'].includes(url.hostname);
    await page.route(external, (r) => r.fulfill({ status: 200, body: '' }));
    await page.goto(base + '/');
    await page.getByRole('link', { name: 'Sign in with Test IdP' }).click();
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('any');
    await page.locator('button[type="submit"]').click();
    // The consent page (first sign-in for this client).
    await page.locator('button[type="submit"]').filter({ hasText: /continue/i }).click();
    await page.getByTestId('current-user').filter({ hasText: 'alice@example.test' }).waitFor();
    assert(new URL(page.url()).origin === base, `back in the app: ${page.url()}`);
    await page.unroute(external);
  });

  await step('the linked account cannot be unlinked while it is the only way in', async () => {
    await page.goto(base + '/profile');
    await page.getByRole('tab', { name: 'Security' }).click();
    const row = page.getByTestId('linked-account').filter({ hasText: 'Test IdP' });
    await row.waitFor();
    await row.getByRole('button', { name: 'Unlink' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Unlink' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'last way to sign in' }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert((await api('/api/profile/accounts')).body.accounts.length === 1, 'still linked');
    await signOut();
    await signIn(ADMIN.email, ADMIN.password);
    await page.getByText(`Welcome back, ${ADMIN.name}.`).waitFor();
  });

  await step('link the provider to the signed-in account from the profile', async () => {
    // A fresh sign-in at the provider (its session is still alice's).
    await ctx.clearCookies({ domain: '127.0.0.1' });
    const external = (url) => !['localhost', '127.0.0.1'].includes(url.hostname);
    await page.route(external, (r) => r.fulfill({ status: 200, body: '' }));
    await profileSecurity();
    await page.getByRole('button', { name: 'Link Test IdP' }).click();
    await page.locator('input[name="login"]').fill('bob');
    await page.locator('input[name="password"]').fill('any');
    await page.locator('button[type="submit"]').click();
    await page.locator('button[type="submit"]').filter({ hasText: /continue/i }).click();
    await page.getByTestId('sso-linked').filter({ hasText: 'Linked Test IdP' }).waitFor();
    await page.getByTestId('linked-account').filter({ hasText: 'bob' }).waitFor();
    const mine = await api('/api/profile/accounts');
    assert(mine.body.accounts.length === 1 && mine.body.accounts[0].accountId === 'bob', `linked: ${JSON.stringify(mine.body)}`);
    await page.getByTestId('linked-account').scrollIntoViewIfNeeded();
    await snap('profile-linked-accounts');
    await page.unroute(external);
  });
} else {
  await step('sign in with the password again', async () => {
    await signIn(ADMIN.email, ADMIN.password);
    await page.getByText(`Welcome back, ${ADMIN.name}.`).waitFor();
  });
}

await step('delete the passkey after confirming', async () => {
  await profileSecurity();
  await page.getByTestId('passkey-row').getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByTestId('no-passkeys').waitFor();
  assert((await api('/api/auth/passkeys')).body.passkeys.length === 0, 'deleted on the server');
});

await finish();
