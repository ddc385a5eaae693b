// The dashboard as a person sees it, in Debian's chromium through playwright-core: bars, level
// colours (computed styles), the numbers, a refresh without reload, markup shown as text, and a
// screenshot in the test's temp folder. Skipped without chromium, except under CI=true (fails).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard, type SpendGuard } from '@spendguard/core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from './server.js';
import { chromiumMissing, launchChromium } from './test-support/browser.js';

// The browser's globals, declared for this module only: the callbacks below run inside the page.
declare const getComputedStyle: (e: unknown) => { backgroundColor: string; fill: string };
declare const window: { __pwned?: number };
interface Box {
  getBoundingClientRect(): { width: number };
  parentElement: Box;
}

const missing = chromiumMissing();
const XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>';
const BUDGETS = [
  { id: 'monthly', limit: 100 },
  { id: 'project', per: 'project', limit: { '*': 10 } },
  { id: 'soft', where: { project: 'api' }, limit: 10, enforce: 'soft' as const },
];
/** The level colours of the stylesheet, as computed styles report them. */
const RGB = {
  ok: 'rgb(31, 157, 85)',
  info: 'rgb(43, 125, 233)',
  warning: 'rgb(217, 154, 0)',
  critical: 'rgb(232, 89, 12)',
  exhausted: 'rgb(194, 24, 91)',
};

describe.skipIf(missing !== undefined)(`dashboard in chromium${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let dir: string;
  let guard: SpendGuard;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const card = (name: string) => page.locator(`article.card[data-budget="${name.replace(/["\\]/g, '\\$&')}"]`);
  const fillColor = (name: string) =>
    card(name)
      .locator('.fill')
      .evaluate((e) => getComputedStyle(e).backgroundColor);
  const fillWidth = (name: string) =>
    card(name)
      .locator('.fill')
      .evaluate(
        (e) => (e as unknown as Box).getBoundingClientRect().width / (e as unknown as Box).parentElement.getBoundingClientRect().width,
      );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spendguard-dashboard-'));
    // The feed double stands in for guard.events() so the event list can be seen before core's feed lands.
    guard = createSpendGuard({ store: memoryAdapter(), budgets: BUDGETS });
    await guard.spend({ project: 'batch' }, 2); // project:batch 20 % ok
    await guard.spend({ project: 'web' }, 6); // project:web 60 % info
    await guard.spend({ project: 'search' }, 8); // 80 % warning
    await guard.spend({ project: 'api' }, 9.5); // project:api 95 % critical; soft 95 % critical
    await guard.spend({ project: XSS }, 10); // exhausted
    server = await startServer(guard, { port: 0, refreshMs: 500 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(server.url);
    await page.waitForSelector('body[data-refreshed]');
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await guard?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows every budget as a card with a bar, its level in its colour, and the right numbers', async () => {
    await expect.poll(() => page.locator('article.card').count()).toBe(7);
    const levels: Record<string, keyof typeof RGB> = {
      'project:batch': 'ok',
      'project:web': 'info',
      'project:search': 'warning',
      'project:api': 'critical',
      [`project:${XSS}`]: 'exhausted',
    };
    for (const [name, level] of Object.entries(levels)) {
      expect(await card(name).locator('.pill').textContent(), name).toBe(level);
      expect(await fillColor(name), name).toBe(RGB[level]);
      expect(
        await card(name)
          .locator('.pill')
          .evaluate((e) => getComputedStyle(e).backgroundColor),
        name,
      ).toBe(RGB[level]);
    }
    expect(await card('project:api').locator('.used').textContent()).toBe('9.50');
    expect(await card('project:api').locator('.limit').textContent()).toBe('/ 10.00');
    expect(await card('project:api').locator('.pct').textContent()).toBe('95%');
    expect(await fillWidth('project:api')).toBeCloseTo(0.95, 2);
    expect(await fillWidth('project:batch')).toBeCloseTo(0.2, 2);
    expect(await card('monthly').locator('.used').textContent()).toBe('35.50');
    expect(await card('soft').locator('.tag').isVisible()).toBe(true);
    expect(await card('project:api').locator('.stats').textContent()).toContain('Forecast');
    expect(await page.locator('#summary').textContent()).toContain('7 budgets');
  });

  it('draws a history chart per budget and lists the events', async () => {
    await expect.poll(() => card('monthly').locator('svg.history rect').count()).toBe(12);
    const now = card('monthly').locator('svg.history rect.hist-now');
    // Polled: the live refresh redraws the chart, and a rect read while it is replaced has no style.
    await expect.poll(() => now.evaluate((e) => getComputedStyle(e).fill)).toBe(RGB.ok);
    await expect.poll(() => page.locator('#events tr').count()).toBeGreaterThan(3);
    expect(await page.locator('#events').textContent()).toContain('ok → critical');
  });

  it('shows markup in budget names as text and runs none of it', async () => {
    const name = card(`project:${XSS}`).locator('h2');
    expect(await name.textContent()).toBe(`project:${XSS}`);
    expect(await page.locator('article.card img').count()).toBe(0);
    expect(await page.locator('main script').count()).toBe(0);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
    expect(await page.locator('#events').textContent()).toContain(XSS);
  });

  it('updates without a reload when more is spent', async () => {
    const loads: string[] = [];
    page.on('load', () => loads.push('load'));
    await guard.spend({ project: 'batch' }, 6); // 20 % → 80 %: ok → warning
    await expect.poll(() => card('project:batch').locator('.used').textContent(), { timeout: 15_000 }).toBe('8.00');
    expect(await card('project:batch').locator('.pill').textContent()).toBe('warning');
    expect(await fillColor('project:batch')).toBe(RGB.warning);
    await guard.spend({ project: 'new-one' }, 1); // a budget that did not exist: a new card
    await expect.poll(() => page.locator('article.card').count(), { timeout: 15_000 }).toBe(8);
    expect(loads).toEqual([]);
  });

  it('asks for the token when the server has one, then works with it', async () => {
    const locked = await startServer(guard, { port: 0, token: 'let-me-in', refreshMs: 500 });
    const p = await browser.newPage();
    try {
      const denied = await p.goto(locked.url);
      expect(denied?.status()).toBe(401);
      expect(await p.locator('input[name="token"]').count()).toBe(1);
      await p.fill('input[name="token"]', 'let-me-in');
      await p.click('button');
      await p.waitForSelector('body[data-refreshed]');
      await expect.poll(() => p.locator('article.card').count()).toBe(8);
    } finally {
      await p.close();
      await locked.close();
    }
  });

  it('saves a screenshot', async () => {
    const file = join(dir, 'dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(10_000);
  });
});
