#!/usr/bin/env node
// The system features of the UI against a server with its worker and runner:
//
//   node e2e/settings-system.mjs http://127.0.0.1:3000 <local storage dir> <PostgreSQL database>
//
// Starts nothing itself: the server must be fresh (no users yet), its worker able to reach
// PostgreSQL at 127.0.0.1:5432 as `postgres` (trust) where <database> exists. Covers the
// database picker (live list of the source's databases, the manual fallback with the reason
// inline), the health-history grid (checks from the runner, tooltip, keyboard), the settings
// switches (passkey sign-in, scheduler time zone, system channels) persisting and the login
// page following them, date/time preferences applied on the History page, the configuration
// backup (run now, list, dry-run restore from the list and from an uploaded file), and the
// recovery-kit ZIP download. Output as e2e/journey.mjs.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assert, start } from './lib.mjs';

const [storageDir, database] = [process.argv[3], process.argv[4]];
if (!storageDir || !database) {
  console.error('usage: node e2e/settings-system.mjs <base URL> <storage dir> <database>');
  process.exit(2);
}
const ADMIN = { name: 'Sam System', email: 'sam@example.com', password: 'correct horse battery staple' };
// The unreachable source's database list is a 502 (the worker cannot connect), on purpose.
const { page, step, snap, nav, signIn, signOut, signUp, finish } = await start('settings-system.mjs', {
  allowedConsole: [/^Failed to load resource: the server responded with a status of 502/],
});

/** A same-origin API call from the page (the session cookie and the CSRF header). */
async function call(method, path, body) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const r = await fetch(path, {
        method,
        headers: { 'content-type': 'application/json', 'x-requested-with': 'e2e' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      let parsed = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = text;
      }
      return { status: r.status, body: parsed };
    },
    { method, path, body },
  );
}
async function expectCall(method, path, body, status) {
  const r = await call(method, path, body);
  assert(r.status === status, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}
const items = (v) => (Array.isArray(v) ? v : v.items);
const passkeyButton = () => page.getByRole('button', { name: 'Sign in with a passkey' });

await step('sign up; the login page offers passkey sign-in', async () => {
  await signUp(ADMIN);
  await signOut();
  await passkeyButton().waitFor();
  await signIn(ADMIN.email, ADMIN.password);
  await page.getByText(`Welcome back, ${ADMIN.name}.`).waitFor();
});

let channelId = '';
await step('settings: switches, time zone and system channels persist', async () => {
  const channel = await expectCall('POST', '/api/adapters', { name: 'Ops hook', type: 'notification', adapterId: 'webhook', config: { url: 'http://127.0.0.1:9/hook' } }, 201);
  channelId = channel.id;
  await nav('Settings').click();
  await page.getByLabel('Health check interval (seconds)', { exact: true }).fill('1');
  const passkey = page.getByRole('switch', { name: 'Disable passkey sign-in' });
  assert((await passkey.getAttribute('aria-checked')) === 'false', 'passkey sign-in starts enabled');
  await passkey.click();
  const zone = page.getByRole('combobox', { name: 'Scheduler time zone' });
  await zone.click();
  await zone.fill('berl');
  await page.getByRole('option', { name: 'Europe/Berlin' }).waitFor();
  await zone.press('Enter');
  assert((await zone.inputValue()) === 'Europe/Berlin', `chosen zone: ${await zone.inputValue()}`);
  const channels = page.getByRole('group', { name: 'System notification channels' });
  await channels.getByRole('checkbox', { name: 'Ops hook' }).check();
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  const s = await expectCall('GET', '/api/settings', undefined, 200);
  assert(s['auth.disablePasskeyLogin'] === true && s['scheduler.timezone'] === 'Europe/Berlin' && s.healthCheckInterval === 1, `stored: ${JSON.stringify(s)}`);
  assert(JSON.stringify(s.systemNotificationChannels) === JSON.stringify([channelId]), `channels: ${JSON.stringify(s.systemNotificationChannels)}`);
  await page.reload();
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
  await page.getByRole('switch', { name: 'Disable passkey sign-in', checked: true }).waitFor();
  assert((await page.getByRole('combobox', { name: 'Scheduler time zone' }).inputValue()) === 'Europe/Berlin', 'the zone after a reload');
  assert(await page.getByRole('group', { name: 'System notification channels' }).getByRole('checkbox', { name: 'Ops hook' }).isChecked(), 'the channel after a reload');
  await snap('settings');
});

await step('with passkey sign-in disabled the login page has no passkey button', async () => {
  await signOut();
  await page.getByLabel('Email', { exact: true }).waitFor();
  // The page asked the server (setup-status) before rendering its alternatives.
  await page.waitForTimeout(300);
  assert((await passkeyButton().count()) === 0, 'no "Sign in with a passkey" button');
  await signIn(ADMIN.email, ADMIN.password);
  await page.getByText(`Welcome back, ${ADMIN.name}.`).waitFor();
});

await step('sources list real PostgreSQL databases; system ones on request', async () => {
  // A source the worker cannot reach (the job editor shows why its list fails).
  await expectCall('POST', '/api/adapters', { name: 'Gone PG', type: 'database', adapterId: 'postgres', config: { host: '127.0.0.1', port: 1, user: 'postgres' } }, 201);
  await nav('Sources').click();
  await page.getByRole('button', { name: 'Add source' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Type', { exact: true }).selectOption('postgres');
  await dialog.getByLabel('Name', { exact: true }).fill('Main PG');
  await dialog.getByLabel('Host *', { exact: true }).fill('127.0.0.1');
  await dialog.getByLabel('User *', { exact: true }).fill('postgres');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByRole('row', { name: /Main PG/ }).getByRole('button', { name: 'Databases' }).click();
  const list = page.getByRole('dialog').getByRole('list', { name: 'Databases' });
  await list.getByText(database, { exact: true }).waitFor({ timeout: 30_000 });
  assert((await list.getByText('postgres', { exact: true }).count()) === 0, 'the system database is hidden');
  await page.getByRole('dialog').getByRole('switch', { name: 'Show system databases' }).click();
  await list.locator('li', { hasText: 'postgres' }).filter({ hasText: 'system' }).first().waitFor();
  await page.getByRole('dialog').getByLabel('Search databases').fill(database.slice(0, 12));
  const names = await list.locator('li').allTextContents();
  assert(names.length >= 1 && names.every((n) => n.includes(database.slice(0, 12))), `search filters: ${names}`);
  await page.keyboard.press('Escape');
});

await step('the job editor picks databases from the list; manual entry when listing fails', async () => {
  await nav('Destinations').click();
  await page.getByRole('button', { name: 'Add destination' }).click();
  const d = page.getByRole('dialog');
  await d.getByLabel('Type', { exact: true }).selectOption('local');
  await d.getByLabel('Name', { exact: true }).fill('Disk');
  await d.getByLabel('Path *', { exact: true }).fill(storageDir);
  await d.getByRole('button', { name: 'Create' }).click();
  await d.waitFor({ state: 'hidden' });

  await nav('Jobs').click();
  await page.getByRole('button', { name: 'New job' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name', { exact: true }).fill('Picked');
  await dialog.getByLabel('Source', { exact: true }).selectOption({ label: 'Gone PG' });
  const failure = dialog.getByTestId('database-list-error');
  await failure.waitFor({ timeout: 30_000 });
  assert(/Could not list the databases/.test(await failure.textContent()), await failure.textContent());
  await dialog.getByLabel('Databases', { exact: true }).fill('typed_a, typed_b');

  await dialog.getByLabel('Source', { exact: true }).selectOption({ label: 'Main PG' });
  const available = dialog.getByRole('group', { name: 'Available databases' });
  await available.getByRole('checkbox', { name: database }).waitFor({ timeout: 30_000 });
  await dialog.getByLabel('Databases', { exact: true }).fill('');
  await available.getByRole('checkbox', { name: database }).check();
  const box = dialog.getByLabel('Databases', { exact: true });
  await page.waitForFunction(([el, want]) => el.value === want, [await box.elementHandle(), database], { timeout: 5_000 }).catch(() => {});
  assert((await box.inputValue()) === database, `the box follows the checkbox: ${await box.inputValue()}`);
  await snap('job-databases');
  await dialog.getByLabel('Search databases').fill(database.slice(0, 12));
  const shown = await available.getByRole('checkbox').count();
  assert(shown === 1, `the search leaves the one database: ${shown}`);
  await dialog.getByRole('button', { name: 'Add destination' }).click();
  await dialog.getByRole('button', { name: 'Create job' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const jobs = items(await expectCall('GET', '/api/jobs', undefined, 200));
  assert(jobs.length === 1 && JSON.stringify(jobs[0].databases) === JSON.stringify([database]), `stored: ${JSON.stringify(jobs[0]?.databases)}`);
});

await step('the health grid shows the runner\'s checks with tooltips and keyboard', async () => {
  const deadline = Date.now() + 90_000;
  let cells = 0;
  while (Date.now() < deadline) {
    await nav('Destinations').click();
    await nav('Sources').click();
    const grid = page.getByRole('row', { name: /Main PG/ }).getByTestId('health-grid');
    if (await grid.count()) cells = await grid.getByRole('button').count();
    if (cells >= 2) break;
    await page.waitForTimeout(2000);
  }
  assert(cells >= 2, `at least two checks of Main PG (${cells})`);
  const grid = page.getByRole('row', { name: /Main PG/ }).getByTestId('health-grid');
  const statuses = await grid.getByRole('button').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
  assert(statuses.every((s) => s === 'ONLINE'), `a reachable source is online: ${statuses}`);
  const last = grid.locator('button[tabindex="0"]');
  assert((await last.count()) === 1, 'one tab stop in the grid');
  await last.focus();
  const tip = page.getByTestId('health-tooltip');
  await tip.waitFor();
  assert(/online/.test(await tip.textContent()) && /\d+ ms/.test(await tip.textContent()), `tooltip: ${await tip.textContent()}`);
  const before = await page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
  await page.keyboard.press('ArrowLeft');
  const after = await page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
  assert(after && after !== before && /^online at .* · \d+ ms/.test(after), `arrow keys move between checks: ${before} → ${after}`);
  await page.keyboard.press('Home');
  await snap('sources');
  const gone = page.getByRole('row', { name: /Gone PG/ }).getByTestId('health-grid');
  await gone.locator('button[data-status=DEGRADED], button[data-status=OFFLINE]').first().waitFor({ timeout: 60_000 });
  await nav('Destinations').click();
  await page.getByRole('row', { name: /Disk/ }).getByTestId('health-grid').waitFor({ timeout: 30_000 });
});

let startedAt = '';
await step('a date-format change shows on the History page', async () => {
  await nav('Jobs').click();
  await page.getByRole('row', { name: /Picked/ }).getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/history\/[^/]+$/);
  const id = page.url().split('/').pop();
  const deadline = Date.now() + 90_000;
  let exec;
  while (Date.now() < deadline) {
    exec = await expectCall('GET', `/api/executions/${id}`, undefined, 200);
    if (!['Pending', 'Running'].includes(exec.status)) break;
    await page.waitForTimeout(500);
  }
  assert(exec.status === 'Success', `the backup finished: ${exec.status} ${exec.error ?? ''}`);
  startedAt = exec.startedAt;

  await page.getByRole('link', { name: ADMIN.name, exact: true }).click();
  await page.getByRole('heading', { name: 'Profile', level: 1 }).waitFor();
  const zone = page.getByRole('combobox', { name: 'Time zone' });
  await zone.click();
  await zone.fill('Tokyo');
  await page.getByRole('option', { name: 'Asia/Tokyo' }).click();
  await page.getByLabel('Date format', { exact: true }).selectOption({ label: 'Custom…' });
  await page.getByLabel('Date format', { exact: true }).fill('yyyy/MM/dd');
  await page.getByLabel('Time format', { exact: true }).selectOption('HH:mm:ss');
  const preview = page.getByTestId('date-preview');
  assert(/\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}/.test(await preview.textContent()), `live preview: ${await preview.textContent()}`);
  await page.getByLabel('Date format', { exact: true }).fill('yyyy-MM-dd jj');
  await page.getByText('unescaped latin alphabet character `j`').waitFor();
  assert((await preview.textContent()).includes('—'), 'no preview for a broken pattern');
  await page.getByLabel('Date format', { exact: true }).fill('yyyy/MM/dd');
  await snap('profile-dates');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.getByRole('status').filter({ hasText: 'Profile saved.' }).waitFor();
  const me = await expectCall('GET', '/api/profile', undefined, 200);
  assert(me.timezone === 'Asia/Tokyo' && me.dateFormat === 'yyyy/MM/dd' && me.timeFormat === 'HH:mm:ss', `stored: ${JSON.stringify(me)}`);

  // The same instant as Node formats it in Tokyo.
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(startedAt))
      .map((x) => [x.type, x.value]),
  );
  const want = `${p.year}/${p.month}/${p.day} ${p.hour}:${p.minute}:${p.second}`;
  await nav('History').click();
  const row = page.getByRole('row').filter({ hasText: 'Picked' }).first();
  await row.waitFor();
  const shown = ((await row.getByRole('link').first().textContent()) ?? '').trim();
  assert(shown === want, `History shows ${shown}, want ${want} (${startedAt} in Asia/Tokyo)`);
  await snap('history');
});

let objectName = '';
await step('config backup: save, back up now, listed', async () => {
  await nav('Settings').click();
  await page.getByRole('tab', { name: 'Configuration backup' }).click();
  await page.getByLabel('Destination', { exact: true }).selectOption({ label: 'Disk' });
  await page.getByRole('switch', { name: 'Include secrets' }).click();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Required when secrets or password hashes are included').waitFor();
  await page.getByRole('switch', { name: 'Include secrets' }).click();
  await page.getByRole('switch', { name: 'Scheduled configuration backup' }).click();
  await page.getByLabel('Keep', { exact: true }).fill('5');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'Configuration backup saved.' }).waitFor();
  const stored = await expectCall('GET', '/api/system/config-backup', undefined, 200);
  assert(stored.config.enabled && stored.config.keep === 5 && stored.config.destinationId, `stored: ${JSON.stringify(stored)}`);
  assert(stored.nextRunAt, 'a next run');
  assert(!/not scheduled/.test(await page.getByTestId('config-backup-next-run').textContent()), 'the next run is shown');
  await page.getByRole('button', { name: 'Back up now' }).click();
  const result = page.getByTestId('config-backup-result');
  await result.waitFor({ timeout: 60_000 });
  const text = await result.textContent();
  const m = /config-backups\/dbackup-config_[^\s·]+/.exec(text);
  assert(m, `the object name is shown: ${text}`);
  objectName = m[0];
  assert(/not encrypted/.test(text), text);
  await page.getByTestId('config-backup-row').filter({ hasText: objectName.split('/').pop() }).waitFor();
  await page.getByTestId('config-backup-last-run').filter({ hasText: 'success' }).waitFor();
});

await step('config restore: dry run of a listed backup shows the change table; confirm, then apply', async () => {
  // A change made after the backup: the restore puts the old value back.
  await expectCall('PATCH', '/api/settings', { auditLogRetentionDays: 33 }, 200);
  await page.getByTestId('config-backup-row').first().getByRole('button', { name: 'Restore…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Restore the configuration' });
  await dialog.getByRole('button', { name: 'Dry run' }).click();
  await dialog.getByTestId('config-dry-run').waitFor({ timeout: 60_000 });
  const counts = await dialog.getByTestId('config-dry-run-counts').textContent();
  assert(/0 create/.test(counts) && /1 update/.test(counts) && /\d+ unchanged/.test(counts), counts);
  const changed = await dialog.getByTestId('config-change-row').allTextContents();
  assert(changed.length === 1 && /Setting.*update.*auditLogRetentionDays/.test(changed[0]), `only the changed setting is shown: ${changed}`);
  await dialog.getByRole('switch', { name: 'Hide unchanged' }).click();
  const rows = await dialog.getByTestId('config-change-row').allTextContents();
  assert(rows.some((r) => r.includes('Main PG')) && rows.some((r) => r.includes('Picked')), `the sources and jobs are listed: ${rows.join(' | ')}`);
  await dialog.getByLabel('Entity', { exact: true }).selectOption('job');
  assert((await dialog.getByTestId('config-change-row').allTextContents()).every((r) => r.startsWith('Job')), 'the entity filter');
  await dialog.getByLabel('Entity', { exact: true }).selectOption('');
  await snap('config-restore');
  // The confirm dialog: cancel changes nothing, confirm applies.
  await dialog.getByRole('button', { name: 'Restore…' }).click();
  const confirm = page.getByRole('dialog', { name: 'Apply this restore?' });
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await confirm.waitFor({ state: 'hidden' });
  assert((await expectCall('GET', '/api/settings', undefined, 200)).auditLogRetentionDays === 33, 'cancel restores nothing');
  await dialog.getByRole('button', { name: 'Restore…' }).click();
  await confirm.getByRole('button', { name: 'Restore', exact: true }).click();
  await dialog.getByTestId('config-restore-applied').waitFor({ timeout: 60_000 });
  assert(/1 updated/.test(await dialog.getByTestId('config-restore-applied').textContent()), await dialog.getByTestId('config-restore-applied').textContent());
  assert((await expectCall('GET', '/api/settings', undefined, 200)).auditLogRetentionDays === 90, 'the restore put the old value back');
  await dialog.getByRole('button', { name: 'Done' }).click();
  await dialog.waitFor({ state: 'hidden' });
});

await step('config restore: dry run of an uploaded file', async () => {
  const dir = join(storageDir, 'config-backups');
  const files = readdirSync(dir).filter((f) => f.startsWith('dbackup-config_'));
  assert(files.length === 1, `one config backup on disk: ${files}`);
  await page.getByLabel('Restore from a file', { exact: true }).setInputFiles(join(dir, files[0]));
  await page.getByRole('button', { name: 'Restore from file…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Restore the configuration' });
  await dialog.getByRole('button', { name: 'Dry run' }).click();
  await dialog.getByTestId('config-dry-run').waitFor({ timeout: 60_000 });
  assert(/unchanged/.test(await dialog.getByTestId('config-dry-run-counts').textContent()), 'counts');
  await snap('settings-config-backup');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
});

await step('an encrypted config backup with secrets; its dry run finds the key by fingerprint', async () => {
  await nav('Vault').click();
  await page.getByRole('button', { name: 'New encryption profile' }).click();
  const create = page.getByRole('dialog');
  await create.getByLabel('Name', { exact: true }).fill('Config key');
  await create.getByRole('button', { name: 'Generate' }).click();
  await create.waitFor({ state: 'hidden' });
  await nav('Settings').click();
  await page.getByRole('tab', { name: 'Configuration backup' }).click();
  await page.getByRole('switch', { name: 'Include secrets' }).click();
  await page.getByLabel('Encryption profile', { exact: true }).selectOption({ label: 'Config key' });
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'Configuration backup saved.' }).waitFor();
  await page.getByRole('button', { name: 'Back up now' }).click();
  const result = page.getByTestId('config-backup-result');
  await result.waitFor({ timeout: 60_000 });
  const text = await result.textContent();
  assert(/\.dbk/.test(text) && / encrypted/.test(text) && !/not encrypted/.test(text), text);
  const newest = page.getByTestId('config-backup-row').first();
  await newest.filter({ hasText: '.dbk' }).waitFor();
  assert(/encrypted/.test(await newest.textContent()), 'listed as encrypted');
  assert((await page.getByTestId('config-backup-row').count()) === 2, 'both backups listed');
  await newest.getByRole('button', { name: 'Restore…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Restore the configuration' });
  await dialog.getByRole('button', { name: 'Dry run' }).click();
  await dialog.getByTestId('config-dry-run').waitFor({ timeout: 60_000 });
  assert(/\d+ unchanged/.test(await dialog.getByTestId('config-dry-run-counts').textContent()), 'decrypted and planned');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
});

await step('recovery kit: wrong password inline, then a ZIP download', async () => {
  await nav('Vault').click();
  await page.getByRole('button', { name: 'New encryption profile' }).click();
  const create = page.getByRole('dialog');
  await create.getByLabel('Name', { exact: true }).fill('Kit key');
  await create.getByRole('button', { name: 'Generate' }).click();
  await create.waitFor({ state: 'hidden' });
  await page.getByRole('row', { name: /Kit key/ }).getByRole('button', { name: 'Recovery kit' }).click();
  const dialog = page.getByRole('dialog', { name: 'Recovery kit of Kit key' });
  await dialog.getByLabel('Your password', { exact: true }).fill('not my password');
  await dialog.getByRole('button', { name: 'Download kit' }).click();
  await dialog.getByRole('alert').waitFor();
  await dialog.getByLabel('Your password', { exact: true }).fill(ADMIN.password);
  const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Download kit' }).click()]);
  const name = download.suggestedFilename();
  assert(/^dbackup-recovery-kit_.*\.zip$/.test(name), `file name: ${name}`);
  const bytes = readFileSync(await download.path());
  assert(bytes.subarray(0, 4).toString('latin1') === 'PK\u0003\u0004', 'a ZIP file');
  const text = bytes.toString('latin1');
  for (const f of ['key.hex', 'README.md', 'dbackup_decrypt.py']) assert(text.includes(f), `the kit holds ${f}`);
  await dialog.getByRole('status').filter({ hasText: name }).waitFor();
  await snap('vault');
  await dialog.getByRole('button', { name: 'Done' }).click();
});

await step('at phone width the new pages do not overflow sideways', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const wide = async (what) => {
    await page.waitForTimeout(200);
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(w <= 390, `${what} is ${w} px wide at 390 px`);
  };
  for (const path of ['/settings', '/profile', '/sources', '/vault']) {
    await page.goto(new URL(path, page.url()).href);
    await page.locator('h1').first().waitFor();
    await wide(path);
  }
  await page.goto(new URL('/settings', page.url()).href);
  await page.getByRole('tab', { name: 'Configuration backup' }).click();
  await page.getByTestId('config-backup-row').first().waitFor();
  await wide('the configuration backup tab');
  await page.getByTestId('config-backup-row').first().getByRole('button', { name: 'Restore…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Restore the configuration' });
  await dialog.getByRole('button', { name: 'Dry run' }).click();
  await dialog.getByTestId('config-dry-run').waitFor({ timeout: 60_000 });
  await wide('the restore dialog');
  await snap('config-restore-phone');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await page.setViewportSize({ width: 1280, height: 860 });
});

await finish();
