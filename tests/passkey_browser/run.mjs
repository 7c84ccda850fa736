// Passkeys in real headless Chromium with its WebAuthn virtual authenticator (CDP), against
// the app at APP (http://localhost:<port>, the RP origin). The page is a blank document the
// test serves itself at APP/__passkey_test (intercepted), so every fetch is same-origin with
// the API and cookies work as in the real UI. Prints one JSON object of observations; the
// Rust test (tests/tests/passkey_browser.rs) asserts on them.
//
// Env: APP, EMAIL, PASSWORD.
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const { APP, EMAIL, PASSWORD } = process.env;
const ctx = await chromium.launchPersistentContext(fs.mkdtempSync('/tmp/dbackup-chr-'), {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const out = {};
try {
  const page = await ctx.newPage();
  await page.route(`${APP}/__passkey_test`, (r) =>
    r.fulfill({ contentType: 'text/html', body: '<!doctype html><title>passkeys</title>' }));
  await page.goto(`${APP}/__passkey_test`);
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });

  // Helpers inside the page: JSON API calls and the two WebAuthn ceremonies.
  await page.evaluate(() => {
    window.api = async (method, path, body) => {
      const r = await fetch(path, { method, credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-requested-with': 'XMLHttpRequest' },
        body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : null };
    };
    window.passkeyLogin = async (twoFactorChallenge) => {
      const opts = await api('POST', '/api/auth/passkeys/login/options',
        twoFactorChallenge ? { twoFactorChallenge } : {});
      if (opts.status !== 200) return { step: 'options', ...opts };
      let cred;
      try {
        cred = await navigator.credentials.get({
          publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(opts.body) });
      } catch (e) {
        return { step: 'browser', error: e.name };
      }
      return api('POST', '/api/auth/passkeys/login/verify',
        { credential: cred.toJSON(), ...(twoFactorChallenge ? { twoFactorChallenge } : {}) });
    };
  });
  const run = (fn, arg) => page.evaluate(fn, arg);

  out.passwordLogin = (await run(([e, p]) => api('POST', '/api/auth/login',
    { email: e, password: p }), [EMAIL, PASSWORD])).status;

  // Registration.
  out.register = await run(async () => {
    const opts = await api('POST', '/api/auth/passkeys/register/options');
    const cred = await navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(opts.body) });
    return api('POST', '/api/auth/passkeys/register/verify',
      { name: 'Chromium virtual authenticator', credential: cred.toJSON() });
  });
  out.credentials = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials
    .map((c) => ({ rpId: c.rpId, resident: c.isResidentCredential, signCount: c.signCount }));

  // Passwordless login (discoverable credential), then the session it made.
  await run(() => api('POST', '/api/auth/logout'));
  out.passwordless = await run(() => passkeyLogin());
  out.session = (await run(() => api('GET', '/api/auth/session'))).body?.user?.email ?? null;

  // Passkey as the second factor after the password.
  out.enable2fa = (await run(() => api('POST', '/api/auth/passkeys/two-factor', { enabled: true }))).status;
  await run(() => api('POST', '/api/auth/logout'));
  const first = await run(([e, p]) => api('POST', '/api/auth/login', { email: e, password: p }),
    [EMAIL, PASSWORD]);
  out.passwordStep = first.body;
  out.secondFactor = await run((c) => passkeyLogin(c), first.body.challenge);

  // A cloned authenticator: the same key with its counter set back.
  const [stored] = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  out.counterBefore = stored.signCount;
  await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: stored.credentialId });
  await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...stored, signCount: 0 } });
  out.counterRegression = await run(() => passkeyLogin());
  await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: stored.credentialId });
  await cdp.send('WebAuthn.addCredential', { authenticatorId,
    credential: { ...stored, signCount: out.counterBefore + 10 } });
  out.counterRestored = (await run(() => passkeyLogin())).status;

  // User verification off: the browser refuses before the server sees anything, and a
  // response without UV would be refused by the server anyway (see passkeys_http.rs).
  await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
  out.withoutUv = await run(() => passkeyLogin());
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await ctx.close();
}
console.log(JSON.stringify(out));
