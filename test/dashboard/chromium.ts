import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@tapestry/local";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

/**
 * Debian's Chromium (`.ci/run` installs it when absent), driven by puppeteer-core; never a browser
 * downloaded by a package. Missing, the test fails saying how to install it: it is never skipped.
 */
export const CHROMIUM = process.env.TAPESTRY_CHROMIUM ?? "/usr/bin/chromium";

export async function launchChromium(executablePath = CHROMIUM): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(
      `the dashboard's browser test needs Chromium at ${executablePath}: install it (apt-get install chromium; .ci/run does it on CI) or point TAPESTRY_CHROMIUM at one`,
    );
  }
  return puppeteer.launch({
    executablePath,
    headless: true,
    args: [
      // Chromium's sandbox refuses to run as root (CI runs as root)
      ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--lang=en-US",
    ],
    env: { ...process.env, TZ: "UTC" },
  });
}

/** A message the page wrote to its console as an error, a failed load, or an uncaught exception. */
export interface PageError {
  readonly text: string;
  readonly url?: string;
}

/** Records the page's console errors and uncaught exceptions from now on. */
export function recordErrors(page: Page): PageError[] {
  const errors: PageError[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push({ text: message.text(), url: message.location().url });
  });
  page.on("pageerror", (error) => {
    errors.push({ text: `uncaught: ${error instanceof Error ? error.message : String(error)}` });
  });
  return errors;
}

/**
 * Where a screenshot goes: the test's temporary folder, or with TAPESTRY_DOCS_SCREENSHOT=1
 * (`npm run docs:screenshot`) the README's docs/images/dashboard.png.
 */
export function screenshotPath(tempDir: string): string {
  if (process.env.TAPESTRY_DOCS_SCREENSHOT === "1") {
    mkdirSync(join(REPO_ROOT, "docs", "images"), { recursive: true });
    return join(REPO_ROOT, "docs", "images", "dashboard.png");
  }
  return join(tempDir, "dashboard.png");
}
