'use strict';
// A test of the checker itself: a page with a deliberately broken label and contrast must make
// the accessibility assertion fail, with a message naming the rule and the element; the same
// page fixed must pass. So a broken label or contrast in the app demonstrably fails the suite.

const assert = require('node:assert/strict');
const path = require('node:path');
const { describe, it, before, after } = require('node:test');
const { startServer, launchBrowser, newContext, axeViolations, expectAccessible } = require('../lib/harness');
const { tabTo } = require('../lib/keyboard');

const { pathToFileURL } = require('node:url');

// Static fixtures, loaded from file: URLs.
const fixture = (name) => pathToFileURL(path.join(__dirname, '..', 'fixtures', name)).href;

describe('the accessibility checker', () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  async function withPage(url, fn) {
    const context = await newContext(browser);
    const page = await context.newPage();
    try {
      await page.goto(url);
      await fn(page);
    } finally {
      await context.close();
    }
  }

  it('reports a missing label and too little contrast', async () => {
    await withPage(fixture('broken.html'), async (page) => {
      const ids = (await axeViolations(page)).map((v) => v.id);
      assert.ok(ids.includes('label'), `label violation expected, got ${ids.join(', ')}`);
      assert.ok(ids.includes('color-contrast'), `color-contrast violation expected, got ${ids.join(', ')}`);

      // The assertion every flow uses fails, naming rule, help text and element.
      await assert.rejects(expectAccessible(page, 'fixture'), (err) => {
        assert.match(err.message, /label: Form elements must have labels/);
        assert.match(err.message, /color-contrast: Elements must meet minimum color contrast ratio thresholds/);
        assert.match(err.message, /at input/);
        assert.match(err.message, /at p\n/);
        return true;
      });
    });
  });

  it('passes the same page once label and contrast are fixed', async () => {
    await withPage(fixture('fixed.html'), async (page) => {
      await expectAccessible(page, 'fixed fixture');
    });
  });

  it('the keyboard check fails when focus is not visible', async () => {
    await withPage(fixture('no-focus.html'), async (page) => {
      await assert.rejects(
        tabTo(page, (f) => f.text === 'Speichern', 'the button'),
        /<a href=#weiter> "Weiter" shows a focus indicator/,
      );
    });
  });

  it('fails on the real login page once a label and a colour are broken there', async () => {
    const server = await startServer();
    try {
      await withPage(`${server.url}/login`, async (page) => {
        await expectAccessible(page, 'Anmeldung, unverändert');
        // Break the page the way a careless template edit would: detach the label of the user
        // name field and make the tenant line light grey.
        await page.evaluate(() => {
          document.querySelector('label[for="username"]').removeAttribute('for');
          document.querySelector('.login .muted').style.color = '#b0b0b0';
        });
        await assert.rejects(expectAccessible(page, 'Anmeldung, beschädigt'), (err) => {
          assert.match(err.message, /label: Form elements must have labels/);
          assert.match(err.message, /at #username/);
          assert.match(err.message, /color-contrast: /);
          assert.match(err.message, /foreground color: #b0b0b0/);
          return true;
        });
      });
    } finally {
      await server.stop();
    }
  });
});
