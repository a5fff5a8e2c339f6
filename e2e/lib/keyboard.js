'use strict';
// Keyboard helpers: what has focus, whether it is visibly marked (WCAG 2.4.7), and Tab
// navigation that checks the focus indicator at every stop.

const assert = require('node:assert/strict');

/** What has focus now, and whether that is visible. */
function focusInfo(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: 'body' };
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2;
    const shadow = cs.boxShadow && cs.boxShadow !== 'none';
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id,
      type: el.getAttribute('type') || '',
      href: el.getAttribute('href') || '',
      text: (el.innerText || el.value || '').replace(/\s+/g, ' ').trim(),
      insideTable: !!el.closest('table'),
      // A date input's focus sits on its inner fields (shadow DOM): the input itself then
      // matches :focus-within, which the stylesheet marks like :focus-visible.
      focusVisible: el.matches(':focus-visible') || (el.type === 'date' && el.matches(':focus-within')),
      indicator: outline || shadow,
      outline: `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}`,
      inViewport: r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth && r.width > 0,
    };
  });
}

function describeFocus(f) {
  return `<${f.tag}${f.id ? ` id=${f.id}` : ''}${f.href ? ` href=${f.href}` : ''}> "${(f.text || '').slice(0, 40)}"`;
}

/** Asserts that focus is on a real control and visibly marked. */
function assertVisibleFocus(f) {
  assert.notEqual(f.tag, 'body', 'focus is on an element');
  if (f.id === 'inhalt') return; // <main tabindex=-1>, the skip link's target: no control, no ring
  assert.ok(f.focusVisible, `${describeFocus(f)} matches :focus-visible`);
  assert.ok(f.indicator, `${describeFocus(f)} shows a focus indicator (outline ${f.outline})`);
  assert.ok(f.inViewport, `${describeFocus(f)} is scrolled into view`);
}

/** Presses Tab (or Shift+Tab) until `match(focus)`; checks the focus indicator at every stop. */
async function tabTo(page, match, what, { back = false, max = 120 } = {}) {
  const seen = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const f = await focusInfo(page);
    assertVisibleFocus(f);
    seen.push(describeFocus(f));
    if (match(f)) return f;
  }
  throw new Error(`keyboard: did not reach ${what} within ${max} Tab presses; visited:\n  ${seen.join('\n  ')}`);
}

/**
 * The order in which this browser's date fields take typed digits (headless Chromium keeps
 * its own locale, whatever the page's): probed once on a blank page of `context`.
 */
async function dateOrder(context) {
  const probe = await context.newPage();
  try {
    await probe.setContent('<input id="a"><input id="d" type="date">');
    await probe.focus('#a');
    await probe.keyboard.press('Tab');
    await probe.keyboard.type('01022099');
    const v = await probe.$eval('#d', (e) => e.value);
    if (v === '2099-02-01') return 'DMY';
    if (v === '2099-01-02') return 'MDY';
    return 'YMD';
  } finally {
    await probe.close();
  }
}

/** The digits to type for the ISO date `iso` in a date field of `order`. */
function dateKeys(order, iso) {
  const [y, m, d] = iso.split('-');
  return { DMY: d + m + y, MDY: m + d + y, YMD: y + m + d }[order];
}

module.exports = { focusInfo, describeFocus, assertVisibleFocus, tabTo, dateOrder, dateKeys };
