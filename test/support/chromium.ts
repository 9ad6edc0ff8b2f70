/** A page of headless Chromium (Debian's `chromium`, driven by playwright-core) for the view tests. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';

/** Opens `file` in a new browser closed after the test; the test fails with the install command when Chromium is missing. */
export async function openInChromium(
  t: TestContext,
  file: string,
  viewport?: { width: number; height: number },
): Promise<Page> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  assert.ok(
    existsSync(executablePath),
    `Chromium not found at ${executablePath}: apt-get install -y chromium (or set CHROMIUM_PATH)`,
  );
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(() => browser.close());
  const page = await browser.newPage(viewport ? { viewport } : {});
  await page.goto(pathToFileURL(file).href);
  return page;
}
