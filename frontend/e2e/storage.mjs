#!/usr/bin/env node
// The storage explorer and a restore from the browser, against a server with its worker and
// runner:
//
//   node e2e/storage.mjs http://127.0.0.1:3000 <local storage dir> <source database> <new database>
//
// The server must be fresh (no users yet); the test may have inserted a database source named
// "Old server" whose recorded engine version is older than the real one (for the version
// warning). Sets up a source, a destination and a job through the API (their pages are covered
// by run-backup.mjs), runs the job, then uses the Storage page: the backup is listed with its
// metadata, lock disables delete, unlock, download gives the stored bytes, the restore dialog
// warns for the older target and restores into <new database> (followed on the execution page
// to Success), and delete asks for confirmation and removes the backup. The caller checks the
// restored rows and the files.
import { statSync } from 'node:fs';
import { assert, start } from './lib.mjs';

const [storageDir, database, newDatabase] = [process.argv[3], process.argv[4], process.argv[5]];
if (!storageDir || !database || !newDatabase) {
  console.error('usage: node e2e/storage.mjs <base URL> <storage dir> <database> <new database>');
  process.exit(2);
}
const ADMIN = { name: 'Stella Storage', email: 'stella@example.com', password: 'correct horse battery staple' };
const { page, step, snap, nav, signUp, finish } = await start('storage.mjs');

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
      return { status: r.status, body: text ? JSON.parse(text) : null };
    },
    { method, path, body },
  );
}

async function expectCall(method, path, body, status) {
  const r = await call(method, path, body);
  assert(r.status === status, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

let destination;
let backup;

await step('sign up', async () => {
  await signUp(ADMIN);
});

await step('a backup made by running a job', async () => {
  const pg = { host: '127.0.0.1', port: 5432, user: 'postgres' };
  const source = await expectCall(
    'POST',
    '/api/adapters',
    { name: 'Orders', type: 'database', adapterId: 'postgres', config: { ...pg, database } },
    201,
  );
  const target = await expectCall(
    'POST',
    '/api/adapters',
    { name: 'Restore target', type: 'database', adapterId: 'postgres', config: { ...pg, database: 'postgres' } },
    201,
  );
  // Testing the saved source records its server version (the restore dialog compares it).
  const tested = await expectCall('POST', `/api/adapters/${target.id}/test`, {}, 200);
  assert(tested.ok, `the target connects: ${JSON.stringify(tested)}`);
  destination = await expectCall(
    'POST',
    '/api/adapters',
    { name: 'Disk', type: 'storage', adapterId: 'local', config: { path: storageDir } },
    201,
  );
  const job = await expectCall(
    'POST',
    '/api/jobs',
    {
      name: 'Orders nightly',
      schedule: '@yearly',
      sourceId: source.id,
      databases: [database],
      destinations: [{ destinationId: destination.id }],
      compression: 'GZIP',
    },
    201,
  );
  const run = await expectCall('POST', `/api/jobs/${job.id}/run`, undefined, 202);
  const deadline = Date.now() + 90_000;
  let exec;
  while (Date.now() < deadline) {
    exec = await expectCall('GET', `/api/executions/${run.executionId}`, undefined, 200);
    if (!['Pending', 'Running'].includes(exec.status)) break;
    await page.waitForTimeout(300);
  }
  assert(exec.status === 'Success', `the backup finished as ${exec.status}: ${exec.error}`);
});

await step('the Storage page lists the backup with its metadata', async () => {
  // The set-up went through the API behind the app's back; the dashboard may hold a fresh
  // (< 10 s) cached empty destination list, so start from a new page load.
  await page.reload();
  await nav('Storage').click();
  await page.getByRole('link', { name: /Disk/ }).click();
  await page.waitForURL(/\/storage\/[^/]+$/);
  const row = page.getByTestId('backup-row').filter({ hasText: 'Orders nightly' });
  await row.waitFor();
  assert((await page.getByTestId('backup-row').count()) === 1, 'one backup');
  const text = (await row.textContent()) ?? '';
  assert(text.includes(database), `the database is shown: ${text}`);
  assert(/postgresql \d+/.test(text), `the engine and version are shown: ${text}`);
  assert(/\d+(\.\d)? (B|KiB|MiB)/.test(text), `the size is shown: ${text}`);
  const listing = await expectCall('GET', `/api/storage/${destination.id}/backups`, undefined, 200);
  backup = listing.items[0];
  assert(text.includes(backup.path), `the path is shown: ${text}`);
  await snap('storage');
});

await step('lock disables delete; unlock enables it again', async () => {
  const row = page.getByTestId('backup-row');
  await row.getByRole('button', { name: 'Lock', exact: true }).click();
  await row.getByText('Locked', { exact: true }).waitFor();
  assert(await row.getByRole('button', { name: 'Delete' }).isDisabled(), 'delete is disabled while locked');
  const refused = await call('DELETE', `/api/storage/${destination.id}/backups?path=${encodeURIComponent(backup.path)}`);
  assert(refused.status === 409, `the server refuses too: ${refused.status}`);
  await row.getByRole('button', { name: 'Unlock', exact: true }).click();
  await row.getByRole('button', { name: 'Lock', exact: true }).waitFor();
  assert(await row.getByRole('button', { name: 'Delete' }).isEnabled(), 'delete is enabled again');
});

await step('download gives the stored bytes', async () => {
  const row = page.getByTestId('backup-row');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    row.getByRole('link', { name: 'Download', exact: true }).click(),
  ]);
  const file = await download.path();
  const size = statSync(file).size;
  assert(size === backup.size, `downloaded ${size} bytes, stored ${backup.size}`);
  assert(download.suggestedFilename() === backup.path.split('/').pop(), download.suggestedFilename());
});

await step('the restore dialog warns about an older target, then restores into a new database', async () => {
  await page.getByTestId('backup-row').getByRole('button', { name: 'Restore' }).click();
  const dialog = page.getByRole('dialog');
  const target = dialog.getByLabel('Target source', { exact: true });
  if ((await target.locator('option', { hasText: 'Old server' }).count()) > 0) {
    await target.selectOption({ label: 'Old server' });
    await dialog.getByTestId('version-warning').waitFor();
  }
  await target.selectOption({ label: 'Restore target' });
  await dialog.getByTestId('version-warning').waitFor({ state: 'detached' });
  await dialog.getByLabel(`Restore ${database} as`, { exact: true }).fill(newDatabase);
  await snap('restore-dialog');
  await dialog.getByRole('button', { name: 'Start restore' }).click();
  await page.waitForURL(/\/history\/[^/]+$/);
  const deadline = Date.now() + 90_000;
  let status = '';
  while (Date.now() < deadline) {
    status = ((await page.getByTestId('execution-status').first().textContent()) ?? '').trim();
    if (!['Pending', 'Running', ''].includes(status)) break;
    await page.waitForTimeout(200);
  }
  assert(status === 'Success', `the restore finished as ${status}: ${await page.locator('main').textContent()}`);
  const main = (await page.locator('main').textContent()) ?? '';
  assert(/Restore/.test(main), `a restore execution: ${main}`);
});

await step('delete asks for confirmation and removes the backup', async () => {
  await nav('Storage').click();
  await page.getByRole('link', { name: /Disk/ }).click();
  const row = page.getByTestId('backup-row');
  await row.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete this backup?' });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert((await page.getByTestId('backup-row').count()) === 1, 'cancel keeps it');
  await row.getByRole('button', { name: 'Delete' }).click();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await page.getByTestId('no-backups').waitFor();
});

await finish();
