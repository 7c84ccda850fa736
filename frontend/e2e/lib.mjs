// Shared pieces of the browser scripts: launching Debian's Chromium through playwright-core,
// numbered steps with a screenshot on failure, and a few page helpers.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Generous: `cargo xtask test` runs these beside every other test on a small machine.
export const TIMEOUT = 30_000;

/**
 * Reads the base URL argument, launches Chromium, and returns the page and helpers.
 * `allowedConsole`: more console errors a script expects (e.g. a 502 it provokes).
 */
export async function start(script, { allowedConsole = [] } = {}) {
  const base = (process.argv[2] ?? '').replace(/\/$/, '');
  if (!/^https?:\/\//.test(base)) {
    console.error(`usage: node e2e/${script} <base URL>`);
    process.exit(2);
  }
  const artifacts = process.env.DBACKUP_E2E_ARTIFACTS || mkdtempSync(join(tmpdir(), 'dbackup-e2e-'));
  mkdirSync(artifacts, { recursive: true });
  const shots = process.env.DBACKUP_E2E_SCREENSHOTS;
  if (shots) mkdirSync(shots, { recursive: true });

  const profileDir = mkdtempSync(join(tmpdir(), 'dbackup-chromium-'));
  const ctx = await chromium.launchPersistentContext(profileDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  ctx.setDefaultTimeout(TIMEOUT);
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    // Answers like 401/403/404/409/429 are expected in these journeys; Chromium logs each as a
    // "Failed to load resource" console error. Anything else logged as an error is a defect.
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text()) && !allowedConsole.some((r) => r.test(m.text())))
      pageErrors.push(`console: ${m.text()}`);
  });

  let n = 0;
  async function step(name, f) {
    n++;
    const t0 = Date.now();
    try {
      await f();
    } catch (e) {
      const file = join(artifacts, `failed-${String(n).padStart(2, '0')}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      console.log(`FAILED: ${name}: ${(e && e.message) || e}`);
      console.log(`screenshot: ${file}`);
      console.log(`url: ${page.url()}`);
      // What the user saw: an open dialog's text (e.g. the error that kept it open) and alerts.
      const seen = await page
        .evaluate(() => {
          const text = (el) => (el.innerText || '').replace(/\s+/g, ' ').trim().slice(0, 1500);
          const parts = [...document.querySelectorAll('[role=dialog], [role=alert]')].map((el) => `${el.getAttribute('role')}: ${text(el)}`);
          const invalid = [...document.querySelectorAll('form :invalid')].map((el) => el.id || el.getAttribute('aria-label') || el.tagName);
          if (invalid.length) parts.push(`invalid fields: ${invalid.join(', ')}`);
          return parts;
        })
        .catch(() => []);
      for (const line of seen) console.log(line);
      await ctx.close().catch(() => {});
      process.exit(1);
    }
    console.log(`ok ${n} - ${name} (${Date.now() - t0} ms)`);
  }
  async function snap(name) {
    if (!shots) return;
    for (const theme of ['light', 'dark']) {
      await page.evaluate((t) => document.documentElement.classList.toggle('dark', t === 'dark'), theme);
      await page.waitForTimeout(100);
      await page.screenshot({ path: join(shots, `${name}-${theme}.png`) });
    }
    await page.evaluate(() => document.documentElement.classList.remove('dark'));
  }
  const nav = (label) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true });
  async function signIn(email, password) {
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }
  async function signOut() {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  }
  async function signUp({ name, email, password }) {
    await page.goto(base + '/');
    await page.getByRole('heading', { name: 'Welcome' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Confirm password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText(`Welcome back, ${name}.`).waitFor();
  }
  async function finish() {
    await step('no uncaught errors in the page', async () => {
      assert(pageErrors.length === 0, `page errors:\n${pageErrors.join('\n')}`);
    });
    await ctx.close();
    console.log(`ALL OK (${n} steps)`);
  }
  return { base, page, ctx, step, snap, nav, signIn, signOut, signUp, finish };
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

/**
 * Chooses a job's source and waits until its database picker has settled (the list shown, or
 * the reason it could not be listed), as a user would before going on: the list appearing
 * above the form's later buttons moves them.
 */
export async function chooseSource(dialog, label) {
  await dialog.getByLabel('Source', { exact: true }).selectOption({ label });
  const picker = dialog.getByTestId('database-picker');
  await picker.getByRole('group', { name: 'Available databases' }).or(picker.getByTestId('database-list-error')).waitFor({ timeout: 30_000 });
}
