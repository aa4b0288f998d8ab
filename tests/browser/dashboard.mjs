// Drives Debian's Chromium (headless, through playwright-core) over the dashboard of a running
// gateway, as a person would: the pages without a session, the login form, the Overview,
// Data-protection and Keys pages at 1280x800, the Overview on a phone. Writes what the pages show (every
// data-metric and table cell's data-value), the statuses seen and every console error to
// $HG_OUT/shown.json, and a screenshot of each page to $HG_OUT. The asserting is done by the
// test that started it (tests/integration/dashboard_ui_test.cc), against the CLI's JSON.
//
// usage: HG_URL=http://127.0.0.1:PORT HG_ADMIN_KEY=... HG_OUT=DIR node dashboard.mjs
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const url = process.env.HG_URL, key = process.env.HG_ADMIN_KEY, out = process.env.HG_OUT;
if (!url || !key || !out) {
  console.error('dashboard.mjs: set HG_URL, HG_ADMIN_KEY and HG_OUT');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.HG_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
// Console errors while signed in. Before signing in and after signing out the 401s are the point
// (Chromium logs each as "Failed to load resource"), so they are kept apart and checked as such.
const shown = { statuses: {}, console_errors: [], signed_out_console: [], pages: {} };
let signedIn = false;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = () => (signedIn ? shown.console_errors : shown.signed_out_console);
  page.on('console', (m) => { if (m.type() === 'error') errors().push(m.text()); });
  page.on('pageerror', (e) => errors().push(String(e)));

  // Without a session: the page is a 401 with the login form, and so is the data API.
  shown.statuses.ui_without_key = (await page.goto(`${url}/ui/`)).status();
  shown.statuses.login_form_shown = await page.locator('form[action="/ui/login"] input[name="key"]').count();
  shown.statuses.api_without_key = (await page.request.get(`${url}/admin/api/overview`)).status();
  await page.screenshot({ path: join(out, 'login.png') });
  // A wrong key: 401 again, with the note.
  await page.fill('#key', 'not-the-key');
  const [wrong] = await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  shown.statuses.wrong_key = wrong.status();
  shown.statuses.wrong_key_note = (await page.locator('.note').textContent()).trim();
  // The right one: to the Overview.
  await page.fill('#key', key);
  signedIn = true;
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  shown.statuses.after_login = page.url();
  shown.statuses.key_in_storage = await page.evaluate((k) =>
    JSON.stringify({ ...localStorage }).includes(k) || JSON.stringify({ ...sessionStorage }).includes(k) ||
    document.cookie.includes(k), key);

  async function read(name) {
    await page.waitForSelector(`body[data-loaded="${name}"]`, { timeout: 15000 });
    const section = page.locator(`#page-${name}`);
    const metrics = {};
    for (const e of await section.locator('[data-metric]').all()) {
      metrics[await e.getAttribute('data-metric')] = {
        value: Number(await e.getAttribute('data-value')),
        text: (await e.textContent()).trim(),
      };
    }
    const tables = {};
    for (const t of await section.locator('table[id]').all()) {
      const rows = [];
      for (const tr of await t.locator('tbody tr[data-row]').all()) {
        const row = {};
        for (const td of await tr.locator('td[data-col]').all()) {
          const v = await td.getAttribute('data-value');
          row[await td.getAttribute('data-col')] = Number.isNaN(Number(v)) || v === '' ? v : Number(v);
        }
        rows.push(row);
      }
      tables[await t.getAttribute('id')] = rows;
    }
    const charts = await section.locator('.chart canvas').count();
    const verdict = (await page.locator('#verdict').textContent()) ?? '';
    return { metrics, tables, charts, verdict: verdict.trim() };
  }

  shown.pages.overview = await read('overview');
  await page.screenshot({ path: join(out, 'overview.png'), fullPage: true });
  // Keyboard: Tab from the top reaches the navigation; Enter on "Data protection" opens it.
  await page.keyboard.press('Tab');  // the skip link
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  shown.statuses.focused_after_tabs = await page.evaluate(() => document.activeElement?.textContent?.trim());
  await page.keyboard.press('Enter');
  shown.pages.protection = await read('protection');
  await page.screenshot({ path: join(out, 'protection.png'), fullPage: true });
  await page.click('nav a[data-page="keys"]');
  shown.pages.keys = await read('keys');
  await page.screenshot({ path: join(out, 'keys.png'), fullPage: true });

  // On a phone: the same page, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${url}/ui/#overview`);
  await page.waitForSelector('body[data-loaded="overview"]', { timeout: 15000 });
  shown.statuses.phone_overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: join(out, 'overview-phone.png'), fullPage: true });

  // Signing out ends the session, for a copy of its cookie too.
  const saved = (await context.cookies()).find((c) => c.name === 'hg_ui_session')?.value ?? '';
  const withCopy = () => fetch(`${url}/admin/api/overview`, { headers: { cookie: `hg_ui_session=${saved}` } });
  shown.statuses.copied_cookie_before_logout = (await withCopy()).status;
  await page.setViewportSize({ width: 1280, height: 800 });
  await Promise.all([page.waitForNavigation(), page.click('form[action="/ui/logout"] button')]);
  signedIn = false;
  shown.statuses.after_logout = (await page.goto(`${url}/ui/`)).status();
  shown.statuses.copied_cookie_after_logout = (await withCopy()).status;
} finally {
  await browser.close();
}
writeFileSync(join(out, 'shown.json'), JSON.stringify(shown, null, 2));
console.log(`dashboard.mjs: wrote ${join(out, 'shown.json')}`);
