'use strict';
// The UI has no JavaScript and must work without it: every flow again, in a browser with
// JavaScript disabled, and no page may ship a script.

const assert = require('node:assert/strict');
const { describe, it, before, after } = require('node:test');
const { startServer, launchBrowser, newContext } = require('../lib/harness');
const { clerkFlow, poststelleFlow, deletionFlow, adminFlow, operatorFlow } = require('../lib/flows');

describe('all flows with JavaScript disabled', () => {
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

  const run = (flow) => async () => {
    const context = await newContext(browser, { javaScriptEnabled: false });
    const page = await context.newPage();
    const visited = [];
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) visited.push(f.url());
    });
    const scripts = [];
    page.on('request', (r) => {
      if (r.resourceType() === 'script') scripts.push(r.url());
    });
    try {
      // Prove that JavaScript really is off in this context: an inline script does not run.
      await page.setContent('<title>vorher</title><script>document.title = "nachher"</script>');
      assert.equal(await page.title(), 'vorher', 'page scripts do not run');
      scripts.length = 0;
      visited.length = 0;
      await flow(page, server.url, { axe: false });
      // No page loaded or contained a script.
      assert.deepEqual(scripts, []);
      assert.equal(await page.locator('script').count(), 0);
      assert.ok(visited.length > 3, `the flow went through several pages (${visited.length})`);
    } finally {
      await context.close();
    }
  };

  it('clerk flow without JavaScript', run(clerkFlow));
  it('Poststelle flow without JavaScript', run(poststelleFlow));
  it('deletion flow without JavaScript', run(deletionFlow));
  it('administration flow without JavaScript', run(adminFlow));
  it('operator flow without JavaScript', run(operatorFlow));
});
