'use strict';
// The main flows with mouse and JavaScript: axe-core (WCAG 2.1 AA) on every page visited,
// screenshots of the main pages for reviewers (e2e/artifacts/screenshots, docs/ui).

const { describe, it, before, after } = require('node:test');
const { startServer, launchBrowser, newContext } = require('../lib/harness');
const { clerkFlow, poststelleFlow, deletionFlow, adminFlow, operatorFlow } = require('../lib/flows');

describe('UI flows with axe on every page', () => {
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
    const context = await newContext(browser);
    const page = await context.newPage();
    try {
      await flow(page, server.url, { axe: true, shots: true });
    } finally {
      await context.close();
    }
  };

  it('clerk: log in, worklist, filter, sort, open, take next, status, Aktenzeichen, notes, documents, log out', run(clerkFlow));
  it('Poststelle: hand a Vorgang to a unit (Weitergeben)', run(poststelleFlow));
  it('Löschberechtigt: delete a Vorgang for good after a Löschanforderung', run(deletionFlow));
  it('administration: users, units, tokens, protocol, settings, quarantine', run(adminFlow));
  it('platform operator: tenants', run(operatorFlow));
});
