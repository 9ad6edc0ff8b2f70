/**
 * Renders an HTML view in headless Chromium (Debian's) and saves a PNG, for the README:
 *   node --import tsx scripts/screenshot-view.ts .el4ner/sample-view.html docs/img/view.png
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [input, output] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ],
});
const page = await browser.newPage({ viewport: { width: 1100, height: 1300 } });
await page.goto(pathToFileURL(resolve(input)).href);
await page.screenshot({ path: output, fullPage: false });
await browser.close();
