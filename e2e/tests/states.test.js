'use strict';
// The pages the flows do not reach and the states a form shows after wrong input: error pages
// (404, 403), the password change, the Wiedervorlagen list and edit page, and the answers to
// an empty Kommentar, an invalid Frist, a wrong current password, a wrong login and an admin
// form with a Kennung in use. axe (WCAG 2.1 AA, the same rules as every flow) on each, and the
// error must be announced: a message with role=alert, and where the form is shown again, the
// field pointing at it with aria-describedby (and aria-invalid where the template knows the
// field).

const assert = require('node:assert/strict');
const { describe, it, before, after } = require('node:test');
const {
  ADMIN_PASSWORD,
  DEMO_PASSWORD,
  startServer,
  launchBrowser,
  newContext,
  expectAccessible,
  login,
  andLoad,
} = require('../lib/harness');

/** Runs `action` (a submit or click) and returns the response of the page it leads to. */
async function navigation(page, action) {
  const [response] = await Promise.all([page.waitForNavigation(), action()]);
  return response;
}

/**
 * The page's one message with role=alert says `text`; with `field`, that input is described
 * by the message (aria-describedby names its id), and with `invalid` also marked aria-invalid.
 */
async function expectAnnounced(page, text, { field, invalid = false } = {}) {
  const alert = page.locator('main [role="alert"]');
  assert.equal(await alert.count(), 1, 'exactly one message with role=alert');
  assert.match((await alert.textContent()).trim(), text);
  if (!field) return;
  const id = await alert.getAttribute('id');
  assert.ok(id, 'the message has an id a field can point to');
  const input = page.locator(field);
  const describedBy = ((await input.getAttribute('aria-describedby')) ?? '').split(/\s+/);
  assert.ok(describedBy.includes(id), `${field} is described by #${id}: aria-describedby="${describedBy.join(' ')}"`);
  if (invalid) assert.equal(await input.getAttribute('aria-invalid'), 'true', `${field} is marked aria-invalid`);
}

function tomorrow() {
  return new Date(Date.now() + 24 * 3600 * 1000).toISOString().slice(0, 10);
}

/** Opens the first Vorgang of the clerk's worklist. */
async function openFirstVorgang(page, url) {
  await andLoad(page, () => page.goto(`${url}/vorgaenge`));
  await andLoad(page, () => page.locator('table.worklist tbody tr').first().locator('td:nth-child(3) a').click());
  await page.waitForURL(/\/vorgaenge\/[^/?]+$/);
  return page.url();
}

describe('error pages, the password and Wiedervorlage pages, and form errors with axe', () => {
  let server;
  let browser;
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const run = (fn) => async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    try {
      await fn(page, server.url);
    } finally {
      await context.close();
    }
  };

  it(
    'error pages: 404 of an unknown Vorgang, 403 of a page the role may not open',
    run(async (page, url) => {
      await login(page, url, 'max', DEMO_PASSWORD);
      await page.waitForURL(/\/vorgaenge$/);

      const missing = await page.goto(`${url}/vorgaenge/01900000-0000-7000-8000-000000000000`);
      assert.equal(missing.status(), 404);
      assert.equal((await page.getByRole('heading', { level: 1 }).textContent()).trim(), 'Nicht gefunden');
      await expectAnnounced(page, /Nicht gefunden/);
      await expectAccessible(page, 'Fehlerseite 404 (unbekannter Vorgang)');

      const forbidden = await page.goto(`${url}/admin/benutzer`);
      assert.equal(forbidden.status(), 403);
      assert.equal((await page.getByRole('heading', { level: 1 }).textContent()).trim(), 'Nicht erlaubt');
      await expectAnnounced(page, /Keine Berechtigung/);
      await expectAccessible(page, 'Fehlerseite 403 (Administration als Sachbearbeitung)');
    }),
  );

  it(
    'password change: the page, and the error for a wrong current password',
    run(async (page, url) => {
      await login(page, url, 'max', DEMO_PASSWORD);
      await page.waitForURL(/\/vorgaenge$/);
      await andLoad(page, () => page.getByRole('banner').getByRole('link', { name: 'Passwort ändern' }).click());
      await page.waitForURL(/\/passwort$/);
      assert.equal((await page.getByRole('heading', { level: 1 }).textContent()).trim(), 'Passwort ändern');
      await expectAccessible(page, 'Passwort ändern');

      await page.getByLabel('Bisheriges Passwort').fill('falsches-passwort-123');
      await page.getByLabel('Neues Passwort', { exact: true }).fill('Ein-ganz-neues-Kennwort-7');
      await page.getByLabel('Neues Passwort wiederholen').fill('Ein-ganz-neues-Kennwort-7');
      const res = await navigation(page, () => page.getByRole('button', { name: 'Passwort ändern' }).click());
      assert.equal(res.status(), 400);
      await expectAnnounced(page, /Das bisherige Passwort stimmt nicht/, { field: '#aktuell' });
      await expectAccessible(page, 'Passwort ändern: bisheriges Passwort falsch');
    }),
  );

  it(
    'Wiedervorlagen: the list, the edit page, and the error for an invalid Frist',
    run(async (page, url) => {
      await login(page, url, 'max', DEMO_PASSWORD);
      await page.waitForURL(/\/vorgaenge$/);
      await openFirstVorgang(page, url);
      const betreff = `Unterlagen prüfen ${Date.now() % 100000}`;
      const region = page.getByRole('region', { name: 'Wiedervorlagen' });
      await region.getByLabel('Betreff').fill(betreff);
      await region.getByLabel('Frist').fill(tomorrow());
      await andLoad(page, () => region.getByRole('button', { name: 'Wiedervorlage anlegen' }).click());
      await page.waitForURL(/meldung=wiedervorlage/);

      await andLoad(page, () => page.getByRole('navigation', { name: 'Hauptnavigation' }).getByRole('link', { name: 'Wiedervorlagen' }).click());
      await page.waitForURL(/\/wiedervorlagen$/);
      assert.match(await page.locator('main').textContent(), new RegExp(betreff));
      await expectAccessible(page, 'Wiedervorlagen');

      // Edited from its Vorgang, which the list links to.
      const row = page.locator('main table tbody tr', { hasText: betreff });
      await andLoad(page, () => row.getByRole('link').click());
      await page.waitForURL(/\/vorgaenge\/[^/?]+#wiedervorlagen$/);
      await andLoad(page, () => page.getByRole('link', { name: new RegExp(`^Bearbeiten\\W+${betreff}$`) }).click());
      await page.waitForURL(/\/wiedervorlagen\/[^/?]+$/);
      assert.equal((await page.getByRole('heading', { level: 1 }).textContent()).trim(), 'Wiedervorlage bearbeiten');
      await expectAccessible(page, 'Wiedervorlage bearbeiten');

      // A browser without a date picker sends what was typed.
      await page.getByLabel('Frist').evaluate((input) => {
        input.type = 'text';
        input.value = '31.02.2026';
      });
      const res = await navigation(page, () => page.getByRole('button', { name: 'Speichern' }).click());
      assert.equal(res.status(), 400);
      await expectAnnounced(page, /Die Frist ist kein gültiges Datum/);
      await expectAccessible(page, 'Wiedervorlage bearbeiten: Frist ungültig');

      // The same in the form on the Vorgang.
      await openFirstVorgang(page, url);
      const again = page.getByRole('region', { name: 'Wiedervorlagen' });
      await again.getByLabel('Betreff').fill('Ohne gültige Frist');
      await again.getByLabel('Frist').evaluate((input) => {
        input.type = 'text';
        input.value = 'morgen';
      });
      const res2 = await navigation(page, () => again.getByRole('button', { name: 'Wiedervorlage anlegen' }).click());
      assert.equal(res2.status(), 400);
      await expectAnnounced(page, /Die Frist ist kein gültiges Datum/);
      await expectAccessible(page, 'Wiedervorlage anlegen: Frist ungültig');
    }),
  );

  it(
    'Kommentar: the error for a text of only spaces',
    run(async (page, url) => {
      await login(page, url, 'max', DEMO_PASSWORD);
      await page.waitForURL(/\/vorgaenge$/);
      await openFirstVorgang(page, url);
      const region = page.getByRole('region', { name: /^Kommentare/ });
      await region.getByLabel('Neuer Kommentar').fill('   ');
      const res = await navigation(page, () => region.getByRole('button', { name: 'Kommentar speichern' }).click());
      assert.equal(res.status(), 400);
      await expectAnnounced(page, /darf nicht leer sein/);
      await expectAccessible(page, 'Kommentar: leer');
    }),
  );

  it(
    'login: the error for a wrong password',
    run(async (page, url) => {
      await page.goto(`${url}/login`);
      await page.getByLabel('Benutzername').fill('max');
      await page.getByLabel('Passwort', { exact: true }).fill('falsches-passwort-123');
      const res = await navigation(page, () => page.getByRole('button', { name: 'Anmelden' }).click());
      assert.equal(res.status(), 401);
      await expectAnnounced(page, /Benutzername oder Passwort ist falsch/, { field: '#username' });
      await expectAccessible(page, 'Anmeldung: Passwort falsch');
    }),
  );

  it(
    'administration: a Kennung in use marks the field and points it at the message',
    run(async (page, url) => {
      await login(page, url, 'admin', ADMIN_PASSWORD);
      await page.waitForURL(/\/admin\/benutzer$/);
      await andLoad(page, () => page.getByRole('navigation', { name: 'Hauptnavigation' }).getByRole('link', { name: 'Organisationseinheiten' }).click());
      await page.waitForURL(/\/admin\/einheiten$/);
      const taken = await page.locator('main table input[name="kennung"]').first().inputValue();
      await page.locator('#name').fill('Doppelte Stelle');
      await page.locator('#kennung').fill(taken);
      const res = await navigation(page, () => page.getByRole('button', { name: 'Anlegen', exact: true }).click());
      assert.equal(res.status(), 422);
      await expectAnnounced(page, /bereits vergeben/, { field: '#kennung', invalid: true });
      await expectAccessible(page, 'Organisationseinheit anlegen: Kennung vergeben');
    }),
  );
});
