'use strict';
// The clerk's main flow with the keyboard only (status, Aktenzeichen, Wiedervorlage, Daten
// anhängen, Kommentar with attachment; then the final deletion): Tab, Shift+Tab, Enter, Space and typing
// through page.keyboard; no click, no mouse. Every element that receives focus on the way
// must show it (WCAG 2.4.7), and the skip link must lead into the main content (2.4.1).

const assert = require('node:assert/strict');
const { describe, it, before, after } = require('node:test');
const {
  startServer,
  launchBrowser,
  newContext,
  expectAccessible,
  andLoad,
  screenshot,
  DEMO_PASSWORD,
} = require('../lib/harness');
const { focusInfo, assertVisibleFocus, tabTo, dateOrder, dateKeys } = require('../lib/keyboard');

async function mouseEvents(page) {
  return page.evaluate(() => Number(sessionStorage.getItem('e2e-mouse') || 0));
}

describe('keyboard only', () => {
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

  it('clerk main flow with Tab, Shift+Tab, Enter, Space and typing', async () => {
    const context = await newContext(browser);
    // Counts every mouse or pointer event in the page, across navigations: there must be none.
    await context.addInitScript(() => {
      for (const type of ['mousedown', 'mouseup', 'mousemove', 'pointerdown', 'pointermove', 'wheel']) {
        addEventListener(
          type,
          () => sessionStorage.setItem('e2e-mouse', String(Number(sessionStorage.getItem('e2e-mouse') || 0) + 1)),
          true,
        );
      }
    });
    const order = await dateOrder(context);
    const page = await context.newPage();
    try {
      const url = server.url;
      await page.goto(`${url}/login`);

      // Skip link first: visible when focused, and it moves focus into <main>.
      await page.keyboard.press('Tab');
      let f = await focusInfo(page);
      if (f.id === 'username' || f.id === 'password') {
        // autofocus put focus into the form: go back to the top first
        f = await tabTo(page, (x) => x.text === 'Zum Inhalt springen', 'the skip link', { back: true });
      }
      assert.equal(f.text, 'Zum Inhalt springen');
      assertVisibleFocus(f);
      await page.keyboard.press('Enter');
      assert.equal((await focusInfo(page)).id, 'inhalt', 'the skip link moves focus to the main content');

      // Log in by typing.
      await tabTo(page, (x) => x.id === 'username', 'the user name');
      await page.keyboard.type('max');
      await page.keyboard.press('Tab');
      assert.equal((await focusInfo(page)).id, 'password');
      await page.keyboard.type(DEMO_PASSWORD);
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/\/vorgaenge$/);
      await expectAccessible(page, 'Vorgangsliste (Tastatur)');

      // On the worklist, the skip link jumps past the navigation to the page's first control.
      f = await tabTo(page, (x) => x.text === 'Zum Inhalt springen', 'the skip link');
      await page.keyboard.press('Enter');
      assert.equal((await focusInfo(page)).id, 'inhalt');
      await page.keyboard.press('Tab');
      assert.equal((await focusInfo(page)).text, 'Nächsten Vorgang übernehmen', 'after the skip: the first control of the page');

      // Filter by status and sort by Vorgangsnummer.
      await tabTo(page, (x) => x.tag === 'a' && /^Neu \d+$/.test(x.text), 'the filter "Neu"');
      await screenshot(page, 'tastatur-fokus');
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/status=/);
      await tabTo(page, (x) => x.tag === 'a' && x.text.startsWith('Vorgangsnummer'), 'the sort link');
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/sort=/);
      assert.ok(await page.locator('th[aria-sort]', { hasText: 'Vorgangsnummer' }).count());

      // Vorgang suchen: type into the search box, Enter submits.
      await tabTo(page, (x) => x.id === 'suche', 'the search box');
      await page.keyboard.type('schmidt');
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/suche=schmidt/);
      assert.ok(await page.locator('table.worklist tbody mark').count(), 'hits are marked');

      // Open the first Vorgang of the list.
      await tabTo(page, (x) => x.insideTable && /\/vorgaenge\/[^/?]+$/.test(x.href), 'the first Vorgang');
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/\/vorgaenge\/[^/?]+$/);
      await expectAccessible(page, 'Vorgang (Tastatur)');

      // Back to the list, take the next one with Space.
      await tabTo(page, (x) => x.text === '← Zur Vorgangsliste', 'the link back');
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/\/vorgaenge$/);
      await tabTo(page, (x) => x.text === 'Nächsten Vorgang übernehmen', 'the take-next button');
      await andLoad(page, () => page.keyboard.press('Space'));
      await page.waitForURL(/meldung=uebernommen/);

      // Change the status.
      await tabTo(page, (x) => x.tag === 'button' && x.text === 'Annehmen', 'Annehmen');
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/meldung=status/);
      assert.equal((await page.locator('main .page-head .badge').textContent()).trim(), 'Angenommen');

      // Set the Aktenzeichen: type it and submit with Enter.
      await tabTo(page, (x) => x.id === 'aktenzeichen', 'the Aktenzeichen field');
      await page.keyboard.press('Control+A');
      await page.keyboard.type('TAST-42/2026');
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/meldung=aktenzeichen/);
      assert.match(await page.locator('dl.facts').textContent(), /TAST-42\/2026/);

      // A Wiedervorlage: Betreff, Frist (typed into the date field, German order), submit.
      await tabTo(page, (x) => x.id === 'wv-betreff', 'the Betreff field');
      await page.keyboard.type('Per Tastatur angelegt');
      await page.keyboard.press('Tab');
      assert.equal((await focusInfo(page)).id, 'wv-frist', 'Frist follows Betreff');
      await page.keyboard.type(dateKeys(order, '2099-12-31'));
      assert.equal(await page.locator('#wv-frist').inputValue(), '2099-12-31', 'the typed Frist');
      await tabTo(page, (x) => x.tag === 'button' && x.text === 'Wiedervorlage anlegen', 'Wiedervorlage anlegen');
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/meldung=wiedervorlage/);
      assert.match(await page.locator('#wiedervorlagen').textContent(), /Per Tastatur angelegt[\s\S]*31\.12\.2099/);

      // Daten anhängen (the section before the Wiedervorlagen, where the page opened: back
      // with Shift+Tab): the file input opens the file chooser with Space.
      await tabTo(page, (x) => x.id === 'datei', 'the file input', { back: true });
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
      await chooser.setFiles([{ name: 'Tastatur.txt', mimeType: 'text/plain', buffer: Buffer.from('per Tastatur') }]);
      await tabTo(page, (x) => x.tag === 'button' && x.text === 'Daten anhängen', 'Daten anhängen');
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/meldung=dokumente/);
      assert.match(await page.locator('#bearbeitungsdokumente').textContent(), /Tastatur\.txt/);

      // A Kommentar with an attachment.
      await tabTo(page, (x) => x.id === 'kommentar-text', 'the Kommentar field');
      await page.keyboard.type('Per Tastatur kommentiert');
      await page.keyboard.press('Tab');
      assert.equal((await focusInfo(page)).id, 'kommentar-anhang', 'the attachment input follows the text');
      const [chooser2] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
      await chooser2.setFiles([{ name: 'Anlage.txt', mimeType: 'text/plain', buffer: Buffer.from('Anlage') }]);
      await page.keyboard.press('Tab');
      assert.equal((await focusInfo(page)).text, 'Kommentar speichern');
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/meldung=kommentar/);
      assert.match(await page.locator('#kommentare').textContent(), /Per Tastatur kommentiert[\s\S]*Anlage\.txt/);
      await expectAccessible(page, 'Vorgang nach Notizen (Tastatur)');

      // Shift+Tab goes back the same way.
      await tabTo(page, (x) => x.tag === 'button' && x.text === 'Speichern', 'the Speichern button');
      await page.keyboard.press('Shift+Tab');
      assert.equal((await focusInfo(page)).id, 'aktenzeichen', 'Shift+Tab returns to the field');
      await tabTo(page, (x) => x.text === 'Abmelden', 'Abmelden', { back: true });
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/\/login/);

      assert.equal(await mouseEvents(page), 0, 'no mouse or pointer event reached the page');
    } finally {
      await context.close();
    }
  });

  it('final deletion with the keyboard (Löschberechtigt)', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    try {
      const url = server.url;
      await page.goto(`${url}/login`);
      if ((await focusInfo(page)).id !== 'username') {
        await tabTo(page, (x) => x.id === 'username', 'the user name');
      }
      await page.keyboard.type('lena');
      await page.keyboard.press('Tab');
      await page.keyboard.type(DEMO_PASSWORD);
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/\/vorgaenge$/);
      await tabTo(page, (x) => x.tag === 'a' && /^Zu Löschen \d+$/.test(x.text), 'the filter "Zu Löschen"');
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/status=ZU_LOESCHEN/);
      const f = await tabTo(page, (x) => x.insideTable && /\/vorgaenge\/[^/?]+$/.test(x.href), 'a Vorgang awaiting deletion');
      const nummer = f.text;
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/\/vorgaenge\/[^/?]+$/);
      const vorgangPage = page.url();
      await tabTo(page, (x) => x.id === 'loeschen-bestaetigt', 'the confirmation');
      await page.keyboard.press('Space');
      assert.ok(await page.locator('#loeschen-bestaetigt').isChecked(), 'Space ticks the box');
      await page.keyboard.press('Tab');
      assert.equal((await focusInfo(page)).text, 'Endgültig löschen');
      await andLoad(page, () => page.keyboard.press('Enter'));
      await page.waitForURL(/meldung=geloescht/);
      assert.ok(nummer, 'the Vorgang had a number');
      const gone = await page.goto(vorgangPage);
      assert.equal(gone.status(), 404, `Vorgang ${nummer} is gone`);
    } finally {
      await context.close();
    }
  });
});
