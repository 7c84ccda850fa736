#!/usr/bin/env node
// The source forms of issue 17 in the browser, against a server with its worker and runner:
//
//   node e2e/ssh-files.mjs http://127.0.0.1:3000 <ssh port> <client key file> <host key line> \
//        <other host key line> <files dir> <restore dir> <storage dir>
//
// The server must be fresh (no users yet); sshd must listen on 127.0.0.1:<ssh port> letting root
// in with the key in <client key file>, its host key being <host key line>; PostgreSQL at
// 127.0.0.1:5432 (postgres, trust) on the same machine. A PostgreSQL source is created with its
// "Run the dump over SSH" sub-form: a wrong pinned host key tests "Failed", the right one
// "Connected"; editing shows the SSH host and keeps the key write-only (saved unchanged, still
// connects). A files source is made from list rows (paths, excludes), backed up (job set up
// through the API), and restored from the Storage page into <restore dir> with the dialog's
// target directory. The caller checks the restored tree and the sshd log.
import { readFileSync } from 'node:fs';
import { assert, start } from './lib.mjs';

const [sshPort, keyFile, hostKey, otherHostKey, filesDir, restoreDir, storageDir] = process.argv.slice(3, 10);
if (!storageDir) {
  console.error('usage: node e2e/ssh-files.mjs <base URL> <ssh port> <key file> <host key> <other host key> <files dir> <restore dir> <storage dir>');
  process.exit(2);
}
const clientKey = readFileSync(keyFile, 'utf8');
const ADMIN = { name: 'Sam Shell', email: 'sam@example.com', password: 'correct horse battery staple' };
const { page, step, snap, nav, signUp, finish } = await start('ssh-files.mjs');

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
      return { status: r.status, text, body: text ? JSON.parse(text) : null };
    },
    { method, path, body },
  );
}

async function expectCall(method, path, body, status) {
  const r = await call(method, path, body);
  assert(r.status === status, `${method} ${path}: ${r.status} ${r.text}`);
  return r.body;
}

/** Clicks "Test connection" in `dialog` and returns the result's text once it is shown. */
async function testConnection(dialog) {
  await dialog.getByRole('button', { name: 'Test connection' }).click();
  const result = dialog.getByTestId('test-result');
  await result.waitFor({ timeout: 30_000 });
  return (await result.textContent()) ?? '';
}

/** Waits on the execution page until it is no longer pending/running; its status. */
async function settledStatus() {
  await page.waitForURL(/\/history\/[^/]+$/);
  const deadline = Date.now() + 90_000;
  let status = '';
  while (Date.now() < deadline) {
    status = ((await page.getByTestId('execution-status').first().textContent()) ?? '').trim();
    if (!['Pending', 'Running', ''].includes(status)) break;
    await page.waitForTimeout(200);
  }
  return status;
}

await step('sign up', async () => {
  await signUp(ADMIN);
});

await step('a PostgreSQL source with the SSH sub-form: a wrong host key fails, the pinned one connects', async () => {
  await nav('Sources').click();
  await page.getByRole('button', { name: 'Add source' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Type', { exact: true }).selectOption('postgres');
  await dialog.getByLabel('Name', { exact: true }).fill('Orders over SSH');
  await dialog.getByLabel('Host *', { exact: true }).fill('127.0.0.1');
  await dialog.getByLabel('User *', { exact: true }).fill('postgres');
  // Off until asked for: no SSH inputs.
  assert((await dialog.getByLabel('SSH host *', { exact: true }).count()) === 0, 'the SSH inputs are hidden while off');
  await dialog.getByRole('switch', { name: 'Run the dump over SSH' }).click();
  await dialog.getByLabel('SSH host *', { exact: true }).fill('127.0.0.1');
  await dialog.getByLabel('SSH port', { exact: true }).fill(sshPort);
  await dialog.getByLabel('SSH user *', { exact: true }).fill('root');
  // A private key is the default way in; a password is the other choice.
  assert((await dialog.getByLabel('Sign in with', { exact: true }).inputValue()) === 'privateKey', 'key by default');
  await dialog.getByLabel('Sign in with', { exact: true }).selectOption('password');
  await dialog.getByLabel('SSH password *', { exact: true }).waitFor();
  await dialog.getByLabel('Sign in with', { exact: true }).selectOption('privateKey');
  await dialog.getByLabel('SSH private key *', { exact: true }).fill(clientKey);
  const pin = dialog.getByLabel('Pinned host key *', { exact: true });
  await pin.fill(otherHostKey);
  const refused = await testConnection(dialog);
  assert(refused.startsWith('Failed'), `another host key is refused: ${refused}`);
  assert(/host key/i.test(refused), `the refusal names the host key: ${refused}`);
  await pin.fill(hostKey);
  const ok = await testConnection(dialog);
  assert(ok.startsWith('Connected'), `the worker reached PostgreSQL over SSH: ${ok}`);
  assert(/PostgreSQL|\d+\.\d+/.test(ok), `the server version is shown: ${ok}`);
  await snap('source-ssh');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByRole('row', { name: /Orders over SSH/ }).waitFor();
});

await step('editing shows the SSH host and keeps the key write-only', async () => {
  const list = await expectCall('GET', '/api/adapters?type=database', undefined, 200);
  const source = list.find((a) => a.name === 'Orders over SSH');
  assert(source, `the source is listed: ${JSON.stringify(list)}`);
  assert(source.config.ssh.host === '127.0.0.1' && String(source.config.ssh.port) === sshPort, `host shown: ${JSON.stringify(source.config.ssh)}`);
  assert(source.config.ssh.privateKey === '••••', `the key is masked: ${JSON.stringify(source.config.ssh)}`);
  assert(!JSON.stringify(list).includes('PRIVATE KEY'), 'no private key in the answer');
  const row = page.getByRole('row', { name: /Orders over SSH/ });
  await row.getByRole('button', { name: 'Edit' }).click();
  const dialog = page.getByRole('dialog');
  assert((await dialog.getByRole('switch', { name: 'Run the dump over SSH' }).getAttribute('aria-checked')) === 'true', 'SSH is on');
  assert((await dialog.getByLabel('SSH host *', { exact: true }).inputValue()) === '127.0.0.1', 'the SSH host is shown');
  assert((await dialog.getByLabel('Pinned host key *', { exact: true }).inputValue()) === hostKey, 'the pinned key is shown');
  assert((await dialog.getByLabel('SSH private key *', { exact: true }).inputValue()) === '••••', 'the key shows the mask');
  // Saved unchanged: the mask keeps the stored key (a 400 would keep the dialog open).
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await row.getByRole('button', { name: 'Test connection' }).click();
  const result = row.getByTestId('test-result');
  await result.waitFor({ timeout: 30_000 });
  const text = (await result.textContent()) ?? '';
  assert(text.startsWith('Connected'), `the kept key still connects: ${text}`);
});

let site;
await step('a files source from list rows: paths and excludes', async () => {
  await page.getByRole('button', { name: 'Add source' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Type', { exact: true }).selectOption('files');
  await dialog.getByLabel('Name', { exact: true }).fill('Site');
  await dialog.getByLabel('Paths 1', { exact: true }).fill(filesDir);
  // A second row, then removed again.
  await dialog.getByRole('button', { name: 'Add a path' }).click();
  await dialog.getByLabel('Paths 2', { exact: true }).fill('/nowhere');
  await dialog.getByRole('button', { name: 'Remove paths 2' }).click();
  assert((await dialog.getByLabel('Paths 2', { exact: true }).count()) === 0, 'the row is gone');
  await dialog.getByLabel('Excludes 1', { exact: true }).fill('*.log');
  await dialog.getByRole('button', { name: 'Add a pattern' }).click();
  await dialog.getByLabel('Excludes 2', { exact: true }).fill('cache, old');
  const ok = await testConnection(dialog);
  assert(ok.startsWith('Connected'), `the worker opened the path: ${ok}`);
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const list = await expectCall('GET', '/api/adapters?type=database', undefined, 200);
  site = list.find((a) => a.name === 'Site');
  assert(
    JSON.stringify(site?.config?.paths) === JSON.stringify([filesDir]) &&
      JSON.stringify(site?.config?.excludes) === JSON.stringify(['*.log', 'cache, old']),
    `one entry per row, a comma kept: ${JSON.stringify(site?.config)}`,
  );
});

await step('a files backup restored into a chosen directory from the Storage page', async () => {
  const disk = await expectCall('POST', '/api/adapters', { name: 'Disk', type: 'storage', adapterId: 'local', config: { path: storageDir } }, 201);
  const job = await expectCall(
    'POST',
    '/api/jobs',
    { name: 'Site nightly', schedule: '@yearly', sourceId: site.id, destinations: [{ destinationId: disk.id }], compression: 'ZSTD' },
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
  assert(exec.status === 'Success', `the files backup finished as ${exec.status}: ${exec.error}`);
  // Set up behind the app's back: a fresh page load, not a cached destination list.
  await page.reload();
  await nav('Storage').click();
  await page.getByRole('link', { name: /Disk/ }).click();
  const row = page.getByTestId('backup-row').filter({ hasText: 'Site nightly' });
  await row.waitFor();
  await row.getByRole('button', { name: 'Restore' }).click();
  const dialog = page.getByRole('dialog');
  const target = dialog.getByLabel('Target source', { exact: true });
  // Only files sources can take a files backup.
  await target.locator('option', { hasText: 'Site' }).waitFor({ state: 'attached' });
  const options = await target.locator('option').allTextContents();
  assert(JSON.stringify(options) === JSON.stringify(['Choose…', 'Site']), `targets: ${options.join(', ')}`);
  await target.selectOption({ label: 'Site' });
  const start = dialog.getByRole('button', { name: 'Start restore' });
  assert(await start.isDisabled(), 'no restore without a target directory');
  assert((await dialog.getByText('Create the database as (optional)').count()) === 0, 'no database account for files');
  const overwrite = dialog.getByRole('checkbox', { name: /Replace existing files/ });
  assert((await overwrite.getAttribute('aria-checked')) === 'false', 'existing files are kept by default');
  await dialog.getByLabel('Target directory', { exact: true }).fill(restoreDir);
  await snap('restore-files');
  await start.click();
  const status = await settledStatus();
  assert(status === 'Success', `the files restore finished as ${status}: ${await page.locator('main').textContent()}`);
});

await finish();
