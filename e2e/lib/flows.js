'use strict';
// The flows a person goes through, written once and run in several modes: with the mouse and
// JavaScript (plus axe on every page and screenshots), and with JavaScript disabled.
// The keyboard-only variant lives in tests/keyboard.test.js.

const assert = require('node:assert/strict');
const { DEMO_PASSWORD, ADMIN_PASSWORD, expectAccessible, screenshot, login, logout, andLoad } = require('./harness');

/**
 * `check(page, label)` runs after every page the flow reaches: axe in the JS run, nothing
 * (or a no-JS assertion) in the other runs. `shot(page, name)` takes screenshots.
 */
function modes({ axe = true, shots = false } = {}) {
  return {
    check: axe ? (page, label) => expectAccessible(page, label) : async () => {},
    shot: shots ? (page, name, opts) => screenshot(page, name, opts) : async () => {},
  };
}

// Smallest files a browser shows in a preview.
const MINI_PDF = '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n';
const MINI_PNG = Uint8Array.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01,
  0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41,
  0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00,
  0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
]);

async function flash(page) {
  return (await page.locator('main .flash').textContent()).trim();
}

async function badgeText(page) {
  return (await page.locator('main .page-head .badge').textContent()).trim();
}

/** The clerk's main flow as `max`. */
async function clerkFlow(page, url, opts = {}) {
  const { check, shot } = modes(opts);

  await page.goto(`${url}/login`);
  await check(page, 'Anmeldung');
  await shot(page, 'anmeldung');
  await login(page, url, 'max', DEMO_PASSWORD);
  await page.waitForURL(/\/vorgaenge$/);
  await assert.doesNotReject(page.getByRole('heading', { level: 1, name: 'Vorgänge' }).waitFor());
  await check(page, 'Vorgangsliste');
  await shot(page, 'vorgangsliste');

  // Filter by status through the filter links.
  const filters = page.getByRole('navigation', { name: 'Nach Status filtern' });
  await andLoad(page, () => filters.getByRole('link', { name: /^Neu \d+$/ }).click());
  await page.waitForURL(/status=/);
  assert.equal(await filters.getByRole('link', { name: /^Neu \d+$/ }).getAttribute('aria-current'), 'true');
  const badges = await page.locator('table.worklist tbody .badge').allTextContents();
  assert.ok(badges.length > 0, 'the filter for Neu shows Vorgänge');
  assert.deepEqual([...new Set(badges.map((b) => b.trim()))], ['Neu']);
  await check(page, 'Vorgangsliste, gefiltert nach Status Neu');

  // Sort by Vorgangsnummer through the column header.
  await andLoad(page, () => page.getByRole('columnheader', { name: 'Vorgangsnummer' }).getByRole('link').click());
  await page.waitForURL(/sort=/);
  const sorted = page.getByRole('columnheader', { name: 'Vorgangsnummer' });
  assert.match((await sorted.getAttribute('aria-sort')) ?? '', /^(ascending|descending)$/);
  assert.match(await page.locator('table.worklist caption').textContent(), /sortiert nach Vorgangsnummer/);
  const numbers = await page.locator('table.worklist tbody tr td:nth-child(3)').allTextContents();
  const sortedCopy = [...numbers].sort(); // Vorgangsnummern sort as plain strings
  if ((await sorted.getAttribute('aria-sort')) === 'descending') sortedCopy.reverse();
  assert.deepEqual(numbers, sortedCopy, 'rows are sorted by Vorgangsnummer');
  await check(page, 'Vorgangsliste, sortiert');

  // Vorgang suchen: "moeller" finds „Möller“ (umlaut folded), the hits are marked; a form
  // filter narrows it, and the whole view is in the URL.
  const search = page.getByRole('search', { name: 'Vorgänge suchen und filtern' });
  await search.getByLabel('Vorgang suchen').fill('moeller');
  await andLoad(page, () => search.getByRole('button', { name: 'Suchen' }).click());
  await page.waitForURL(/suche=moeller/);
  assert.match(await page.locator('main .result-count').textContent(), /\d+ Vorg(ang|änge) gefunden/);
  const marks = await page.locator('table.worklist tbody mark').allTextContents();
  assert.ok(marks.length > 0, 'hits are highlighted');
  assert.ok(marks.every((m) => /^m(ö|oe)ller/i.test(m.trim())), `only the matching words are marked: ${marks}`);
  await check(page, 'Suchergebnis');
  await shot(page, 'suche');
  const formSelect = page.getByRole('search').getByLabel('Formular');
  const formOption = (await formSelect.locator('option').allTextContents()).map((o) => o.trim()).find((o) => !o.startsWith('Alle'));
  await formSelect.selectOption({ label: formOption });
  await andLoad(page, () => page.getByRole('search').getByRole('button', { name: 'Filter anwenden' }).click());
  await page.waitForURL(/formular=/);
  assert.match(page.url(), /suche=moeller/, 'the search stays with the filter');
  const forms = await page.locator('table.worklist tbody tr td:nth-child(4)').allTextContents();
  assert.ok(forms.every((f) => f.trim().startsWith(formOption)), `only ${formOption}: ${forms}`);
  await andLoad(page, () => page.getByRole('link', { name: 'Suche und Filter zurücksetzen' }).first().click());
  assert.doesNotMatch(page.url(), /suche=/);

  // Open a Vorgang from the list.
  const first = page.locator('table.worklist tbody tr').first().locator('td:nth-child(3) a');
  const nummer = (await first.textContent()).trim();
  await andLoad(page, () => first.click());
  await page.waitForURL(/\/vorgaenge\/[^/?]+$/);
  assert.match(await page.getByRole('heading', { level: 1 }).textContent(), new RegExp(nummer));
  await check(page, 'Vorgang');
  await shot(page, 'vorgang', { fullPage: true });

  // Back to the list and take the next one.
  await andLoad(page, () => page.getByRole('link', { name: '← Zur Vorgangsliste' }).click());
  await page.waitForURL(/\/vorgaenge$/);
  await andLoad(page, () => page.getByRole('button', { name: 'Nächsten Vorgang übernehmen' }).click());
  await page.waitForURL(/\/vorgaenge\/[^/]+\?meldung=uebernommen/);
  assert.equal(await flash(page), 'Der nächste Vorgang wurde Ihnen zugewiesen.');
  assert.equal(await badgeText(page), 'Neu');
  const facts = page.locator('dl.facts');
  assert.match(await facts.textContent(), /Max/);
  await check(page, 'Übernommener Vorgang');

  // Change the status: Annehmen, then Bearbeiten.
  const status = page.getByRole('region', { name: 'Status ändern' });
  await andLoad(page, () => status.getByRole('button', { name: 'Annehmen' }).click());
  await page.waitForURL(/meldung=status/);
  assert.equal(await flash(page), 'Der Status wurde geändert.');
  assert.equal(await badgeText(page), 'Angenommen');
  await check(page, 'Vorgang nach Statuswechsel');
  await andLoad(page, () => page.getByRole('region', { name: 'Status ändern' }).getByRole('button', { name: 'Bearbeiten' }).click());
  await page.waitForURL(/meldung=status/);
  assert.equal(await badgeText(page), 'In Bearbeitung');

  // Set the Aktenzeichen.
  const az = `E2E-${Date.now() % 100000}/2026`;
  const azRegion = page.getByRole('region', { name: 'Aktenzeichen' });
  await azRegion.getByLabel('Aktenzeichen').fill(az);
  await andLoad(page, () => azRegion.getByRole('button', { name: 'Speichern' }).click());
  await page.waitForURL(/meldung=aktenzeichen/);
  assert.equal(await flash(page), 'Das Aktenzeichen wurde gespeichert.');
  assert.match(await facts.textContent(), new RegExp(az.replace('/', '\\/')));
  await check(page, 'Vorgang nach Aktenzeichen');

  // A Wiedervorlage (due tomorrow) and an internal Kommentar on the same Vorgang.
  const tomorrow = new Date(Date.now() + 24 * 3600 * 1000).toISOString().slice(0, 10);
  const wvRegion = page.getByRole('region', { name: 'Wiedervorlagen' });
  await wvRegion.getByLabel('Betreff').fill('Ausweiskopie nachfordern');
  await wvRegion.getByLabel('Frist').fill(tomorrow);
  await andLoad(page, () => wvRegion.getByRole('button', { name: 'Wiedervorlage anlegen' }).click());
  await page.waitForURL(/meldung=wiedervorlage/);
  assert.equal(await flash(page), 'Die Wiedervorlage wurde angelegt.');
  const kRegion = page.getByRole('region', { name: /^Kommentare/ });
  await kRegion.getByLabel('Neuer Kommentar').fill('Rückruf bei der Antragstellerin vereinbart.');
  await andLoad(page, () => kRegion.getByRole('button', { name: 'Kommentar speichern' }).click());
  await page.waitForURL(/meldung=kommentar/);
  assert.match(await page.getByRole('region', { name: 'Historie' }).textContent(), /Rückruf bei der Antragstellerin/);
  await check(page, 'Vorgang mit Wiedervorlage und Kommentar');

  // Daten anhängen: the clerk's own files, kept apart from the applicant's, with a preview.
  const own = page.getByRole('region', { name: /Dokumente der Verwaltung/ });
  await own.getByLabel('Dateien auswählen').setInputFiles([
    { name: 'Vermerk Ortstermin.pdf', mimeType: 'application/pdf', buffer: Buffer.from(MINI_PDF) },
    { name: 'Notizen.txt', mimeType: 'text/plain', buffer: Buffer.from('Rückruf 14 Uhr') },
  ]);
  await andLoad(page, () => own.getByRole('button', { name: 'Daten anhängen' }).click());
  await page.waitForURL(/meldung=dokumente/);
  assert.equal(await flash(page), 'Die Dateien wurden angehängt.');
  const ownRegion = page.getByRole('region', { name: /Dokumente der Verwaltung/ });
  assert.match(await ownRegion.textContent(), /Vermerk Ortstermin\.pdf[\s\S]*Notizen\.txt/);
  assert.equal(await ownRegion.getByRole('link', { name: /^Vorschau/ }).count(), 2, 'PDF and text can be previewed');
  assert.doesNotMatch(await page.getByRole('region', { name: 'Dokumente des Antrags' }).textContent(), /Vermerk/);
  assert.match(await page.getByRole('region', { name: 'Historie' }).textContent(), /Dokument angehängt: Vermerk Ortstermin\.pdf/);
  const previewHref = await ownRegion.getByRole('link', { name: /^Vorschau/ }).first().getAttribute('href');
  const preview = await page.request.get(new URL(previewHref, page.url()).href);
  assert.equal(preview.status(), 200);
  assert.equal(preview.headers()['content-type'], 'application/pdf');
  // A Kommentar with an attachment.
  const kRegion2 = page.getByRole('region', { name: /^Kommentare/ });
  await kRegion2.getByLabel('Neuer Kommentar').fill('Foto vom Ortstermin anbei.');
  await kRegion2.getByLabel('Anhänge (optional)').setInputFiles([
    { name: 'Ortstermin.png', mimeType: 'image/png', buffer: Buffer.from(MINI_PNG) },
  ]);
  await andLoad(page, () => kRegion2.getByRole('button', { name: 'Kommentar speichern' }).click());
  await page.waitForURL(/meldung=kommentar/);
  assert.match(await page.getByRole('region', { name: /^Kommentare/ }).textContent(), /Anhang: Ortstermin\.png/);
  await check(page, 'Vorgang mit Dokumenten der Verwaltung');
  await shot(page, 'vorgang-dokumente', { fullPage: true });

  // The Wiedervorlagen view across Vorgänge; mark it done there.
  const vorgangUrl = page.url().split('?')[0];
  await andLoad(page, () => page.getByRole('navigation', { name: 'Hauptnavigation' }).getByRole('link', { name: 'Wiedervorlagen' }).click());
  assert.match(await page.locator('main').textContent(), /Ausweiskopie nachfordern/);
  await check(page, 'Wiedervorlagen');
  await shot(page, 'wiedervorlagen');
  await andLoad(page, () => page.getByRole('button', { name: /^Erledigt\W+Ausweiskopie nachfordern$/ }).first().click());
  await page.waitForURL(/meldung=wiedervorlage-erledigt/);
  assert.equal(await flash(page), 'Die Wiedervorlage ist erledigt.');
  await andLoad(page, () => page.goto(vorgangUrl));

  // A status change that needs a reason: take the next one and reject it (Verwerfen).
  await andLoad(page, () => page.getByRole('link', { name: '← Zur Vorgangsliste' }).click());
  await andLoad(page, () => page.getByRole('button', { name: 'Nächsten Vorgang übernehmen' }).click());
  await page.waitForURL(/meldung=uebernommen/);
  await page.getByLabel('Begründung für „Verwerfen“').fill('Doppelt eingereicht (E2E-Test).');
  await andLoad(page, () => page.getByRole('region', { name: 'Status ändern' }).getByRole('button', { name: 'Verwerfen' }).click());
  await page.waitForURL(/meldung=status/);
  assert.equal(await badgeText(page), 'Verworfen');
  assert.match(await page.getByRole('region', { name: 'Historie' }).textContent(), /Doppelt eingereicht/);
  // Ask for its deletion; carrying it out is somebody else's (deletionFlow).
  await page.getByLabel('Begründung für „Löschen anfordern“').fill('Dublette (E2E-Test).');
  await andLoad(page, () => page.getByRole('region', { name: 'Status ändern' }).getByRole('button', { name: 'Löschen anfordern' }).click());
  await page.waitForURL(/meldung=status/);
  assert.equal(await badgeText(page), 'Zu Löschen');
  assert.equal(await page.getByRole('region', { name: 'Endgültig löschen' }).count(), 0, 'a clerk cannot delete for good');

  // "Meine" lists only Vorgänge assigned to max.
  await andLoad(page, () => page.getByRole('navigation', { name: 'Hauptnavigation' }).getByRole('link', { name: 'Vorgänge' }).click());
  await andLoad(page, () => page.getByRole('navigation', { name: 'Ansicht' }).getByRole('link', { name: 'Meine' }).click());
  await page.waitForURL(/ansicht=meine/);
  const assignees = await page.locator('table.worklist tbody td:nth-child(6)').allTextContents();
  assert.ok(assignees.length > 0, '"Meine" lists the Vorgänge taken');
  assert.deepEqual([...new Set(assignees.map((a) => a.trim()))], ['Max Schröder']);
  await check(page, 'Meine Vorgänge');

  await logout(page);
  assert.match(await page.locator('main').textContent(), /Anmelden/);
  await check(page, 'Abgemeldet');
}

/** `lena` (Löschberechtigt) deletes a Vorgang for good that a clerk asked to delete. */
async function deletionFlow(page, url, opts = {}) {
  const { check, shot } = modes(opts);
  await login(page, url, 'lena', DEMO_PASSWORD);
  await page.waitForURL(/\/vorgaenge$/);
  const filters = page.getByRole('navigation', { name: 'Nach Status filtern' });
  await andLoad(page, () => filters.getByRole('link', { name: /^Zu Löschen \d+$/ }).click());
  await page.waitForURL(/status=ZU_LOESCHEN/);
  const before = await page.locator('table.worklist tbody tr').count();
  assert.ok(before > 0, 'there is a Vorgang awaiting deletion');
  const first = page.locator('table.worklist tbody tr').first().locator('td:nth-child(3) a');
  const nummer = (await first.textContent()).trim();
  await andLoad(page, () => first.click());
  await page.waitForURL(/\/vorgaenge\/[^/?]+$/);
  const vorgangUrl = page.url();
  const region = page.getByRole('region', { name: 'Endgültig löschen' });
  await check(page, 'Vorgang zur Löschung');
  await shot(page, 'endgueltig-loeschen');
  await region.getByLabel(/Ich habe geprüft/).check();
  await andLoad(page, () => region.getByRole('button', { name: 'Endgültig löschen' }).click());
  await page.waitForURL(/meldung=geloescht/);
  assert.equal(await flash(page), 'Der Vorgang wurde endgültig gelöscht.');
  await check(page, 'Vorgangsliste nach Löschung');
  await andLoad(page, () => page.goto(`${url}/vorgaenge?status=ZU_LOESCHEN`));
  assert.equal(await page.locator('table.worklist tbody tr').count(), before - 1, 'one fewer awaits deletion');
  assert.doesNotMatch(await page.locator('main').textContent(), new RegExp(nummer));
  const gone = await page.goto(vorgangUrl);
  assert.equal(gone.status(), 404, 'the deleted Vorgang is not found');
  await andLoad(page, () => page.goto(`${url}/vorgaenge`));
  await logout(page);
}

/** The Poststelle (`paula`) hands a Vorgang to a unit (Weitergeben). */
async function poststelleFlow(page, url, opts = {}) {
  const { check } = modes(opts);
  await login(page, url, 'paula', DEMO_PASSWORD);
  await page.waitForURL(/\/vorgaenge$/);
  await check(page, 'Vorgangsliste (Poststelle)');
  await andLoad(page, () => page.getByRole('navigation', { name: 'Ansicht' }).getByRole('link', { name: 'Nicht zugewiesen' }).click());
  await page.waitForURL(/ansicht=nicht-zugewiesen/);
  await andLoad(page, () => page.locator('table.worklist tbody tr').first().locator('td:nth-child(3) a').click());
  await page.waitForURL(/\/vorgaenge\/[^/?]+$/);
  await check(page, 'Vorgang (Poststelle)');
  const region = page.getByRole('region', { name: 'Weitergeben' });
  const select = region.getByLabel('Organisationseinheit');
  const labels = (await select.locator('option').allTextContents()).map((o) => o.trim());
  const selected = ((await select.locator('option:checked').textContent()) ?? '').trim();
  const target = labels.find((o) => !o.startsWith('–') && o !== selected);
  assert.ok(target, 'there is a unit to hand the Vorgang to');
  await select.selectOption({ label: target });
  await andLoad(page, () => region.getByRole('button', { name: 'Weitergeben' }).click());
  await page.waitForURL(/meldung=weitergegeben/);
  assert.equal(await flash(page), 'Der Vorgang wurde an die Organisationseinheit weitergegeben.');
  await check(page, 'Vorgang nach Weitergeben');
  await logout(page);
}

/** The tenant administration as `admin`. */
async function adminFlow(page, url, opts = {}) {
  const { check, shot } = modes(opts);
  await login(page, url, 'admin', ADMIN_PASSWORD);
  await page.waitForURL(/\/admin\/benutzer$/);
  await check(page, 'Benutzer');
  await shot(page, 'benutzer');
  const nav = page.getByRole('navigation', { name: 'Hauptnavigation' });

  await andLoad(page, () => page.getByRole('rowheader').getByRole('link', { name: /Max/ }).click());
  await page.waitForURL(/\/admin\/benutzer\/[^/]+$/);
  assert.match(await page.getByRole('heading', { level: 1 }).textContent(), /max/);
  await check(page, 'Benutzer bearbeiten');
  await andLoad(page, () => page.getByRole('button', { name: 'Speichern' }).click());
  await page.waitForURL(/\/admin\/benutzer\/[^/]+/);
  await check(page, 'Benutzer gespeichert');

  await andLoad(page, () => nav.getByRole('link', { name: 'Organisationseinheiten' }).click());
  await page.waitForURL(/\/admin\/einheiten$/);
  await check(page, 'Organisationseinheiten');

  await andLoad(page, () => nav.getByRole('link', { name: 'API-Tokens' }).click());
  await page.waitForURL(/\/admin\/tokens$/);
  await check(page, 'API-Tokens');
  const tokenName = `E2E-Formulardienst ${Date.now() % 100000}`;
  await page.getByLabel('Name', { exact: true }).fill(tokenName);
  await page.getByRole('group', { name: 'Berechtigungen' }).getByRole('checkbox').first().check();
  await andLoad(page, () => page.getByRole('button', { name: 'Token erstellen' }).click());
  await page.getByRole('region', { name: `Neues Token „${tokenName}“` }).waitFor();
  const token = await page.getByLabel('Token', { exact: true }).inputValue();
  assert.ok(token.length > 20, 'the new token is shown once');
  await check(page, 'API-Token erstellt');

  // A form service delivers something broken with that token: it lands in the quarantine.
  const delivery = await page.request.post(`${url}/api/v1/antraege`, {
    headers: { Authorization: `Bearer ${token}` },
    data: { formData: [] },
  });
  assert.equal(delivery.status(), 400, 'a delivery without control is refused and quarantined');

  await andLoad(page, () => nav.getByRole('link', { name: 'Protokoll' }).click());
  await page.waitForURL(/\/admin\/protokoll$/);
  await check(page, 'Protokoll');
  await shot(page, 'protokoll');
  await page.getByLabel('Aktion').selectOption({ index: 1 });
  await andLoad(page, () => page.getByRole('button', { name: 'Filtern' }).click());
  await page.waitForURL(/aktion=/);
  await check(page, 'Protokoll gefiltert');

  await andLoad(page, () => nav.getByRole('link', { name: 'Einstellungen' }).click());
  await page.waitForURL(/\/admin\/einstellungen$/);
  await check(page, 'Einstellungen');

  await andLoad(page, () => nav.getByRole('link', { name: 'Quarantäne' }).click());
  await page.waitForURL(/\/admin\/quarantaene$/);
  assert.ok(await page.locator('main table tbody tr').count() >= 1, 'the broken delivery is listed');
  await check(page, 'Quarantäne');
  await shot(page, 'quarantaene');
  await andLoad(page, () => page.getByRole('navigation', { name: 'Listen' }).getByRole('link', { name: 'Nicht zuordenbar' }).click());
  await page.waitForURL(/liste=nicht-zuordenbar/);
  await check(page, 'Quarantäne, nicht zuordenbar');

  await logout(page);
}

/** The platform operator (`betrieb`) at /t/plattform. */
async function operatorFlow(page, url, opts = {}) {
  const { check, shot } = modes(opts);
  await page.goto(`${url}/t/plattform/login`);
  await check(page, 'Anmeldung Plattformbetrieb');
  await login(page, url, 'betrieb', ADMIN_PASSWORD, '/t/plattform');
  await page.waitForURL(/\/t\/plattform\/betrieb\/mandanten$/);
  await check(page, 'Mandanten');
  await shot(page, 'mandanten');
  await andLoad(page, () => page.getByRole('link', { name: 'Nicht zuordenbare Eingänge' }).click());
  await page.waitForURL(/liste=nicht-zuordenbar/);
  await check(page, 'Nicht zuordenbare Eingänge (Betrieb)');
  await page.goBack();
  await logout(page);
}

module.exports = { clerkFlow, poststelleFlow, deletionFlow, adminFlow, operatorFlow };
