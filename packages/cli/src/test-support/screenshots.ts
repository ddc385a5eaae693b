// Writes the README's pictures: docs/dashboard.png (the page served by `spendguard serve`, on demo
// data) and docs/cli-status.png (`spendguard status` in a terminal). Run after `pnpm build`:
//   pnpm exec tsx packages/cli/src/test-support/screenshots.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { colors } from '../render/colors.js';
import { statusSummary, statusTable } from '../render/status-table.js';
import { startServer } from '../server.js';
import { ansiToHtml } from './ansi-html.js';
import { launchChromium } from './browser.js';
import { DEMO_NOW, seedDemo } from './demo.js';

const docs = fileURLToPath(new URL('../../../../docs/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'spendguard-shots-'));
const guard = await seedDemo(join(dir, 'demo.db'), DEMO_NOW);
const server = await startServer(guard, { port: 0, title: 'spendguard.config.ts' });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1400 }, deviceScaleFactor: 1 });
  await page.goto(server.url);
  await page.waitForSelector('.card .history rect', { state: 'attached' });
  await page.waitForSelector('#events tr', { state: 'attached' });
  await page.waitForTimeout(600); // the bars' width transition
  await page.screenshot({ path: join(docs, 'dashboard.png') });

  const statuses = await guard.status();
  const c = colors(true);
  const text = `$ spendguard status\n${statusTable(c, statuses)}\n\n${statusSummary(c, statuses)}\n`;
  const term = await browser.newPage({ viewport: { width: 1200, height: 300 }, deviceScaleFactor: 1 });
  await term.setContent(ansiToHtml(text, 'spendguard status'));
  await term.locator('.win').screenshot({ path: join(docs, 'cli-status.png') });
} finally {
  await browser.close();
  await server.close();
  await guard.close();
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`wrote ${join(docs, 'dashboard.png')} and ${join(docs, 'cli-status.png')}\n`);
