#!/usr/bin/env node
// A real backup from the browser, against a server with its worker and runner:
//
//   node e2e/run-backup.mjs http://127.0.0.1:3000 <local storage dir> <PostgreSQL database>
//
// Starts nothing itself: the server must be fresh (no users yet), its worker able to reach
// PostgreSQL at 127.0.0.1:5432 as `postgres` (trust). Tests the source connection (inline
// "Connected" from the worker), creates a job for the database, runs it and follows the
// execution page's live progress bar and logs to Success, then finds it in the history and
// on the dashboard. Output as e2e/journey.mjs.
import { assert, chooseSource, start } from './lib.mjs';

const [storageDir, database] = [process.argv[3], process.argv[4]];
if (!storageDir || !database) {
  console.error('usage: node e2e/run-backup.mjs <base URL> <storage dir> <database>');
  process.exit(2);
}
const ADMIN = { name: 'Rita Runner', email: 'rita@example.com', password: 'correct horse battery staple' };
const { page, step, snap, nav, signUp, finish } = await start('run-backup.mjs');

await step('sign up', async () => {
  await signUp(ADMIN);
});

await step('a PostgreSQL source tests "Connected" through the worker', async () => {
  await nav('Sources').click();
  await page.getByRole('button', { name: 'Add source' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Type', { exact: true }).selectOption('postgres');
  await dialog.getByLabel('Name', { exact: true }).fill('Orders');
  await dialog.getByLabel('Host *', { exact: true }).fill('127.0.0.1');
  await dialog.getByLabel('User *', { exact: true }).fill('postgres');
  // The connection database is the one backed up too: the worker prefers the source's
  // `database` over the job's selection today (reported; the server fills "postgres" when empty).
  await dialog.getByLabel('Database', { exact: true }).fill(database);
  await dialog.getByRole('button', { name: 'Test connection' }).click();
  const result = dialog.getByTestId('test-result');
  await result.waitFor({ timeout: 30_000 });
  const text = await result.textContent();
  assert(text.startsWith('Connected'), `the worker reached PostgreSQL: ${text}`);
  assert(/PostgreSQL|\d+\.\d+/.test(text), `the server version is shown: ${text}`);
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.waitFor({ state: 'hidden' });
});

await step('a local destination', async () => {
  await nav('Destinations').click();
  await page.getByRole('button', { name: 'Add destination' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Type', { exact: true }).selectOption('local');
  await dialog.getByLabel('Name', { exact: true }).fill('Disk');
  await dialog.getByLabel('Path *', { exact: true }).fill(storageDir);
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.waitFor({ state: 'hidden' });
});

await step('a job for the database', async () => {
  await nav('Jobs').click();
  await page.getByRole('button', { name: 'New job' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name', { exact: true }).fill('Orders nightly');
  await chooseSource(dialog, 'Orders');
  await dialog.getByLabel('Databases', { exact: true }).fill(database);
  await dialog.getByRole('button', { name: 'Add destination' }).click();
  await dialog.getByRole('button', { name: 'Create job' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByRole('row', { name: /Orders nightly/ }).waitFor();
});

await step('run now: the live view follows the execution to Success', async () => {
  await page.getByRole('row', { name: /Orders nightly/ }).getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/history\/[^/]+$/);
  const bar = page.getByRole('progressbar', { name: 'Execution progress' });
  await bar.waitFor();
  const seen = new Set();
  const deadline = Date.now() + 90_000;
  let status = '';
  while (Date.now() < deadline) {
    status = ((await page.getByTestId('execution-status').first().textContent()) ?? '').trim();
    seen.add(status);
    if (!['Pending', 'Running'].includes(status)) break;
    await page.waitForTimeout(200);
  }
  assert(status === 'Success', `finished as ${status} (seen: ${[...seen].join(', ')}); page: ${await page.locator('main').textContent()}`);
  assert((await bar.getAttribute('aria-valuenow')) === '100', 'the bar is full');
  const logs = await page.locator('details').allTextContents();
  assert(logs.length >= 2, `logs grouped by stage: ${logs.length} group(s)`);
  const main = await page.locator('main').textContent();
  assert(/size \d/.test(main), 'the size is shown');
  assert(main.includes(`_${database}.dump`), `the dump of ${database} is named: ${main}`);
  // Verification after upload: the destination's copy was read back and found equal.
  const check = page.getByTestId('verification-row').first();
  await check.waitFor();
  const verified = (await check.textContent()) ?? '';
  assert(verified.includes('Verified') && verified.includes('SHA-256 equal'), `verification after upload: ${verified}`);
  await snap('execution-success');
});

await step('the history and the dashboard show the successful backup', async () => {
  await nav('History').click();
  await page.getByRole('row').filter({ hasText: 'Orders nightly' }).filter({ hasText: 'Success' }).waitFor();
  await nav('Dashboard').click();
  await page.getByText('Recent executions').waitFor();
  await page.locator('li').filter({ hasText: 'Backup' }).filter({ hasText: 'Success' }).first().waitFor();
  await snap('dashboard-after-backup');
});

await finish();
