#!/usr/bin/env node
// The identity journey in a real headless Chromium against a running dbackup.
//
//   node e2e/journey.mjs http://127.0.0.1:3000
//
// Starts nothing itself: the server must be fresh (no users yet). Prints "ok N - step" per step
// and "ALL OK" at the end; on failure prints "FAILED: step: error" with a screenshot path and
// exits 1 (e2e/lib.mjs). Env: DBACKUP_E2E_ARTIFACTS (where failure screenshots go; default a new temp dir),
// DBACKUP_E2E_SCREENSHOTS (if set, a screenshot of each main page, light and dark, goes there),
// CHROMIUM (default /usr/bin/chromium).
import { assert, start } from './lib.mjs';
import { currentStep, totp } from './totp.mjs';

const ADMIN = { name: 'Ada Admin', email: 'ada@example.com', password: 'correct horse battery staple' };
const USER = { name: 'Olli Operator', email: 'olli@example.com', password: 'another long password' };

const { base, page, step, snap, nav, signIn, signOut, finish } = await start('journey.mjs');

await step('first run shows sign-up', async () => {
  await page.goto(base + '/');
  await page.getByRole('heading', { name: 'Welcome' }).waitFor();
  await snap('signup');
});

await step('sign-up creates the admin and signs in', async () => {
  await page.getByLabel('Name', { exact: true }).fill(ADMIN.name);
  await page.getByLabel('Email', { exact: true }).fill(ADMIN.email);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByLabel('Confirm password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByText(`Welcome back, ${ADMIN.name}.`).waitFor();
  await page.getByTestId('health-status').filter({ hasText: /Healthy|Degraded/ }).waitFor();
  assert((await page.getByTestId('current-user').textContent()) === ADMIN.email, 'current user shown');
  for (const label of ['Dashboard', 'Users & groups', 'API keys', 'Audit log', 'Settings']) {
    assert(await nav(label).isVisible(), `navigation shows ${label}`);
  }
  assert(new URL(page.url()).pathname === '/dashboard', `on the dashboard, at ${page.url()}`);
  await snap('dashboard');
});

await step('sign out returns to the login page', async () => {
  await signOut();
  const r = await page.request.get(base + '/api/auth/session');
  assert(r.status() === 401, `session ended: GET /api/auth/session answered ${r.status()}`);
  await snap('login');
});

await step('wrong password shows the server message', async () => {
  await signIn(ADMIN.email, 'not the password');
  await page.getByRole('alert').filter({ hasText: 'invalid email or password' }).waitFor();
  assert(await page.getByRole('heading', { name: 'Sign in' }).isVisible(), 'still on the login page');
});

await step('sign in with the right password', async () => {
  await signIn(ADMIN.email, ADMIN.password);
  await page.getByText(`Welcome back, ${ADMIN.name}.`).waitFor();
});

await step('a client-side route survives a reload', async () => {
  await page.goto(base + '/users');
  await page.getByRole('heading', { name: 'Users & groups' }).waitFor();
});

await step('create a group with the permission matrix', async () => {
  await page.getByRole('tab', { name: 'Groups' }).click();
  await page.getByRole('button', { name: 'Add group' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name', { exact: true }).fill('Operators');
  await dialog.getByRole('checkbox', { name: 'jobs:execute', exact: true }).click();
  assert((await dialog.getByRole('checkbox', { name: 'jobs:read', exact: true }).getAttribute('data-state')) === 'checked', 'granting execute grants read');
  await dialog.getByRole('checkbox', { name: 'history:read', exact: true }).click();
  await dialog.getByRole('button', { name: 'Save group' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByRole('cell', { name: 'Operators', exact: true }).waitFor();
  const g = await (await page.request.get(base + '/api/groups')).json();
  const ops = g.find((x) => x.name === 'Operators');
  assert(ops && JSON.stringify(ops.permissions) === JSON.stringify(['jobs:read', 'jobs:execute', 'history:read']), `stored permissions: ${JSON.stringify(ops)}`);
});

await step('create a user in that group', async () => {
  await page.getByRole('tab', { name: 'Users' }).click();
  await page.getByRole('button', { name: 'Add user' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name', { exact: true }).fill(USER.name);
  await dialog.getByLabel('Email', { exact: true }).fill(USER.email);
  await dialog.getByLabel('Initial password', { exact: true }).fill(USER.password);
  await dialog.getByLabel('Group', { exact: true }).selectOption({ label: 'Operators' });
  await dialog.getByRole('button', { name: 'Create user' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const row = page.getByTestId('user-row').filter({ hasText: USER.email });
  await row.waitFor();
  assert((await row.textContent()).includes('Operators'), 'the row shows the group');
  await snap('users');
});

await step('a server validation error is shown in the form', async () => {
  await page.getByRole('button', { name: 'Add user' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name', { exact: true }).fill('Duplicate');
  await dialog.getByLabel('Email', { exact: true }).fill(USER.email);
  await dialog.getByLabel('Initial password', { exact: true }).fill(USER.password);
  await dialog.getByRole('button', { name: 'Create user' }).click();
  const alert = dialog.getByRole('alert');
  await alert.waitFor();
  assert(/already|exists|taken|use/i.test(await alert.textContent()), `duplicate email refused: ${await alert.textContent()}`);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
});

let apiKey = '';
await step('create an API key and use it', async () => {
  await nav('API keys').click();
  await page.getByRole('button', { name: 'Create API key' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name', { exact: true }).fill('audit export');
  await dialog.getByRole('checkbox', { name: 'audit:read', exact: true }).click();
  await dialog.getByRole('button', { name: 'Create key' }).click();
  apiKey = ((await page.getByTestId('new-api-key').textContent()) ?? '').trim();
  assert(/^dbk_[0-9a-f]{8}_[0-9a-f]{64}$/.test(apiKey), `a full key is shown once: ${apiKey}`);
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByTestId('api-key-row').filter({ hasText: 'audit export' }).waitFor();
  const anon = await fetch(base + '/api/audit?limit=1', { headers: { Authorization: `Bearer ${apiKey}` } });
  assert(anon.status === 200, `the key reads the audit log: ${anon.status}`);
  const denied = await fetch(base + '/api/users', { headers: { Authorization: `Bearer ${apiKey}` } });
  assert(denied.status === 403, `the key cannot read users: ${denied.status}`);
  await snap('api-keys');
});

let secret = '';
let lastStep = 0;
await step('enrol in 2FA with the QR code page', async () => {
  await page.getByRole('link', { name: ADMIN.name }).click();
  await page.getByRole('tab', { name: 'Security' }).click();
  await page.getByLabel('Confirm with your password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Set up 2FA' }).click();
  await page.getByRole('img', { name: 'QR code for your authenticator app' }).locator('svg').waitFor();
  secret = ((await page.getByTestId('totp-secret').textContent()) ?? '').trim();
  assert(/^[A-Z2-7]{16,}$/.test(secret), `a base32 secret: ${secret}`);
  await snap('profile-2fa');
  lastStep = currentStep();
  await page.getByLabel('Code from the app', { exact: true }).fill(totp(secret, lastStep));
  await page.getByRole('button', { name: 'Turn on 2FA' }).click();
  const codes = page.getByTestId('backup-codes').getByRole('listitem');
  await codes.first().waitFor();
  assert((await codes.count()) === 10, 'ten backup codes');
  await page.getByRole('button', { name: 'I have saved them' }).click();
  await page.getByRole('heading', { name: /Two-factor authentication/ }).getByText('on', { exact: true }).waitFor();
});

await step('sign in again with a TOTP code', async () => {
  await signOut();
  await signIn(ADMIN.email, ADMIN.password);
  await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
  // Each step's code works once; the server accepts ±1 step, so use the next one if needed.
  const s = Math.max(currentStep(), lastStep + 1);
  await page.getByLabel('Authentication code', { exact: true }).fill(totp(secret, s));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByText(`Welcome back, ${ADMIN.name}.`).waitFor();
});

await step('the audit log shows those actions and filters them', async () => {
  await nav('Audit log').click();
  await page.getByTestId('audit-row').first().waitFor();
  const text = (await page.getByTestId('audit-row').allTextContents()).join('\n');
  for (const want of ['LOGIN_FAILED', 'LOGOUT', 'USER', 'GROUP', 'API_KEY', 'TWO_FACTOR']) {
    assert(text.includes(want), `audit shows ${want}`);
  }
  await snap('audit');
  await page.getByLabel('Action', { exact: true }).selectOption('CREATE');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid=audit-row]')];
    return rows.length > 0 && rows.every((r) => r.textContent.includes('CREATE'));
  });
  const created = (await page.getByTestId('audit-row').allTextContents()).join('\n');
  for (const want of ['USER', 'GROUP', 'API_KEY']) assert(created.includes(want), `CREATE ${want} listed`);
  assert(!created.includes('LOGIN'), 'the filter hides logins');
});

await step('settings save through the API', async () => {
  await nav('Settings').click();
  const input = page.getByLabel('Audit log retention (days)', { exact: true });
  await input.fill('120');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  const s = await (await page.request.get(base + '/api/settings')).json();
  assert(s.auditLogRetentionDays === 120, `stored: ${JSON.stringify(s)}`);
  await input.fill('0');
  await page.getByRole('button', { name: 'Save settings' }).click();
  assert(await input.evaluate((el) => !el.checkValidity()), 'an out-of-range value is refused before sending');
  await snap('settings');
});

await step('pages of APIs still being built render (list or "not available yet")', async () => {
  for (const [label, heading] of [['Sources', 'Sources'], ['Destinations', 'Destinations'], ['Notifications', 'Notifications'], ['Jobs', 'Jobs'], ['History', 'History'], ['Vault', 'Vault']]) {
    await nav(label).click();
    await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
    await page
      .locator('[data-testid=api-unavailable], table, :text("yet")')
      .first()
      .waitFor();
  }
});

await step('the operator sees only their navigation', async () => {
  await signOut();
  await signIn(USER.email, USER.password);
  await page.getByText(`Welcome back, ${USER.name}.`).waitFor();
  for (const label of ['Jobs', 'History']) assert(await nav(label).isVisible(), `operator sees ${label}`);
  for (const label of ['Users & groups', 'API keys', 'Audit log', 'Settings', 'Sources', 'Vault']) {
    assert((await nav(label).count()) === 0, `operator does not see ${label}`);
  }
  await page.goto(base + '/audit');
  await page.getByText('You may not view the audit log').waitFor();
  // Read-only jobs access: the list renders without edit controls.
  await nav('Jobs').click();
  await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
  await page.locator('[data-testid=api-unavailable], table, :text("No jobs yet")').first().waitFor();
  for (const name of ['New job', 'Edit', 'Delete']) {
    assert((await page.getByRole('button', { name, exact: true }).count()) === 0, `operator sees no ${name} button`);
  }
  // A page the group may not read answers 403: shown as such, not as a crash.
  await page.goto(base + '/sources');
  await page.getByText('You may not view sources').waitFor();
  await signOut();
});

await step('repeated failures show the lockout with the wait time', async () => {
  let status = 0;
  for (let i = 0; i < 8 && status !== 429; i++) {
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/auth/login') && r.request().method() === 'POST');
    await signIn('nobody@example.com', `wrong ${i}`);
    status = (await answered).status();
    assert(status === 401 || status === 429, `login answered ${status}`);
  }
  assert(status === 429, 'locked out after repeated failures');
  const text = await page.getByTestId('lockout').textContent();
  assert(/Try again in \d+ s/.test(text), `the wait is shown: ${text}`);
  assert(await page.getByRole('button', { name: 'Sign in', exact: true }).isDisabled(), 'sign-in is disabled while locked');
  await snap('lockout');
});

await finish();
