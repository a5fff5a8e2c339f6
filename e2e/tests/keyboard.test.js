'use strict';
// The clerk's main flow with the keyboard only: Tab, Shift+Tab, Enter, Space and typing
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
const { focusInfo, assertVisibleFocus, tabTo } = require('../lib/keyboard');

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
});
