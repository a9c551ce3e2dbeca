import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboardServer } from "../../packages/cli/src/dashboard/server";
import { fetchTransport } from "../../packages/cli/src/status-api/client";
import { type Plane, startPlane } from "../state-machines/harness";
import { launchChromium, type PageError, recordErrors, screenshotPath } from "./chromium";

/**
 * The dashboard in a real browser (headless Chromium) against the embedded control plane with
 * its sandboxes: the kickstart pipeline once succeeded, once failed (dbt Cloud's second run
 * fails, with markup in its message that must show as text).
 */

const PIPELINE = "rain-shield-audience";
const DBT_ERROR =
  'Database Error in model email_audience (models/<marts>/email_audience.sql): relation "stg_zoom__webinars" does not exist';
const STEPS = [
  ["ingest/zoom-webinar-registrants", "Airbyte", 40],
  ["ingest/salesforce-contacts", "Airbyte", 45],
  ["transform/email-model", "dbt Cloud", 58],
  ["sync/mailchimp-audience", "Grouparoo", 58],
] as const;

let plane: Plane;
let browser: Browser;
let succeeded: string;
let failed: string;
let tempDir: string;

async function runOnce(): Promise<string> {
  const started = await plane.startRun(PIPELINE, { kind: "manual" });
  await started.execution?.outcome;
  await plane.idle();
  return started.runId;
}

beforeAll(async () => {
  tempDir = mkdtempSync(join(tmpdir(), "tapestry-dashboard-"));
  plane = await startPlane({
    "dbt-cloud": { outcomes: [{ outcome: "succeeded" }, { outcome: "failed", error: DBT_ERROR }] },
  });
  succeeded = await runOnce();
  failed = await runOnce();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await plane?.stop();
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});

/** A new tab on `url`, its errors recorded, once the page has drawn what the API answered. */
async function open(url: string): Promise<{ page: Page; errors: PageError[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1000 });
  const errors = recordErrors(page);
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("body[data-refreshes]", { timeout: 20_000 });
  return { page, errors };
}

/** The timeline's rows: step, tool, status, rows, job link, error. */
async function timelineOf(page: Page, runId: string) {
  await page.waitForSelector(`article.run[data-run-id="${runId}"]`, { timeout: 20_000 });
  return page.$$eval("article.run table.timeline tbody tr", (rows) =>
    rows.map((row) => {
      const cells = [...row.querySelectorAll("th, td")].map((cell) => cell.textContent?.trim() ?? "");
      const link = row.querySelector("a.tool-link");
      return {
        step: row.getAttribute("data-step"),
        status: row.getAttribute("data-status"),
        tool: cells[1],
        rows: cells[4],
        link: link ? { href: link.getAttribute("href"), text: link.textContent } : undefined,
        error: cells[7],
        bar: row.querySelector("svg.bar rect") !== null,
      };
    }),
  );
}

/** The console errors a page may have: the 404 of GET /stacks where the stage has no such route. */
async function unexpected(errors: readonly PageError[], base: string): Promise<PageError[]> {
  const stacksAbsent = (await fetch(new URL("/stacks", base))).status === 404;
  return errors.filter(
    (e) => !(stacksAbsent && e.url === new URL("/stacks", base).href && /\b404\b/.test(e.text)),
  );
}

describe("the dashboard in Chromium, served by tapestry local at /", { timeout: 90_000 }, () => {
  it("shows the kickstart run as a timeline of its four steps with their rows and job links", async () => {
    const { page, errors } = await open(`${plane.apiUrl}/#run=${succeeded}`);
    const steps = await timelineOf(page, succeeded);
    expect(steps.map((s) => [s.step, s.tool, s.status, s.rows])).toEqual(
      STEPS.map(([step, tool, rows]) => [step, tool, "succeeded", String(rows)]),
    );
    const api = (await (await fetch(`${plane.apiUrl}/runs/${succeeded}`)).json()) as {
      steps: { stage: string; step: string; link?: string }[];
    };
    for (const [i, step] of steps.entries()) {
      expect(step.bar).toBe(true);
      expect(step.link?.href).toBe(api.steps[i]?.link);
    }
    const facts = await page.$$eval("article.run dl.facts dt, article.run dl.facts dd", (items) =>
      items.map((item) => item.textContent?.trim()),
    );
    expect(facts).toEqual(expect.arrayContaining(["Status", "✔ succeeded", "Rows", "201"]));
    expect(await unexpected(errors, plane.apiUrl)).toEqual([]);
    await page.close();
  });

  it("shows the failed run's error as text, the failed step's tool link, and the step it never started", async () => {
    const { page, errors } = await open(`${plane.apiUrl}/#run=${failed}`);
    const steps = await timelineOf(page, failed);
    const dbt = steps.find((s) => s.step === "transform/email-model");
    expect(dbt?.status).toBe("failed");
    expect(dbt?.error).toContain(DBT_ERROR);
    const api = (await (await fetch(`${plane.apiUrl}/runs/${failed}`)).json()) as {
      error?: string;
      steps: { step: string; link?: string; externalId?: string }[];
    };
    const dbtApi = api.steps.find((s) => s.step === "email-model");
    expect(dbtApi?.link).toMatch(/^https?:\/\//);
    expect(dbt?.link).toEqual({ href: dbtApi?.link, text: `dbt Cloud job ${dbtApi?.externalId}` });
    expect(steps.find((s) => s.step === "sync/mailchimp-audience")?.status).toBe("not-started");
    expect(api.error).toBeDefined();
    expect(await page.$eval("article.run .run-error", (el) => el.textContent)).toBe(`Error: ${api.error}`);
    // the markup in the message stayed text: no element was made of it, nothing ran
    expect(await page.$$("article.run marts")).toHaveLength(0);
    expect(
      await page.$eval('#pipelines tr[data-pipeline="rain-shield-audience"]', (el) => el.textContent),
    ).toMatch(/failing/);
    expect(await unexpected(errors, plane.apiUrl)).toEqual([]);
    await page.close();
  });

  it("charts one point per run (durations), one per step of each run (rows), each a link to its run", async () => {
    const { page, errors } = await open(`${plane.apiUrl}/`);
    await page.waitForSelector("svg.chart.rows a.run-point", { timeout: 20_000 });
    const durations = await page.$$eval("svg.chart.durations a.run-point", (points) =>
      points.map((p) => [p.getAttribute("data-run-id"), p.getAttribute("data-status")]),
    );
    expect(durations).toEqual([
      [succeeded, "succeeded"],
      [failed, "failed"],
    ]);
    // rows per step: one point per step that reported rows (the failed dbt Cloud run reports none;
    // the failed run's sync never started)
    const reported = await Promise.all(
      [succeeded, failed].map(async (runId) => {
        const run = (await (await fetch(`${plane.apiUrl}/runs/${runId}`)).json()) as {
          steps: { rows?: number }[];
        };
        return run.steps.filter((s) => typeof s.rows === "number").length;
      }),
    );
    expect(reported).toEqual([4, 2]);
    expect(await page.$$("svg.chart.rows a.run-point")).toHaveLength(6);
    const legend = await page.$$eval(".charts figure:nth-child(2) .legend li", (items) =>
      items.map((li) => li.textContent?.trim()),
    );
    expect(legend).toEqual(STEPS.map(([step]) => `■ ${step}`));

    // a point is a link to its run: the run panel follows
    await page.click(`svg.chart.durations a.run-point[data-run-id="${succeeded}"]`);
    await page.waitForSelector(`article.run[data-run-id="${succeeded}"]`, { timeout: 20_000 });

    // the stacks panel shows only where GET /stacks answers
    const stacksAnswer = await fetch(`${plane.apiUrl}/stacks`);
    expect(await page.$eval("#stacks-section", (el) => el.hasAttribute("hidden"))).toBe(
      stacksAnswer.status === 404,
    );
    // the provisioning run the embedded control plane made at start
    expect(await page.$eval("#provisioning", (el) => el.textContent)).toMatch(/provision-\w+ ✔ succeeded/);

    // the README's picture: the failed run, its error and its job's link
    await page.evaluate(`location.hash = "#run=${failed}"`);
    await page.waitForSelector(`article.run[data-run-id="${failed}"]`, { timeout: 20_000 });
    const file = screenshotPath(tempDir);
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(10_000);
    expect(await unexpected(errors, plane.apiUrl)).toEqual([]);
    await page.close();
  });
});

describe("the same page behind tapestry dashboard's proxy", { timeout: 90_000 }, () => {
  it("draws the same runs through the proxy, with no console error", async () => {
    const proxy = await startDashboardServer({
      transport: fetchTransport(plane.apiUrl),
      description: `the embedded control plane at ${plane.apiUrl}`,
      port: 0,
    });
    try {
      const { page, errors } = await open(`${proxy.url}#run=${failed}`);
      const steps = await timelineOf(page, failed);
      expect(steps.map((s) => s.status)).toEqual(["succeeded", "succeeded", "failed", "not-started"]);
      expect(await page.$$("svg.chart.durations a.run-point")).toHaveLength(2);
      expect(await unexpected(errors, proxy.url)).toEqual([]);
      await page.close();
    } finally {
      await proxy.close();
    }
  });
});

it("fails with the fix when Chromium is missing (never skips)", async () => {
  expect(existsSync("/nonexistent/chromium")).toBe(false);
  await expect(launchChromium("/nonexistent/chromium")).rejects.toThrow(
    /needs Chromium at \/nonexistent\/chromium: install it \(apt-get install chromium/,
  );
});

/** Runs in the page before its scripts: its 5 s timers are counted, so a test can see whether a refresh is scheduled. */
const COUNT_REFRESH_TIMERS = `
  const pending = new Map();
  const set = window.setTimeout.bind(window);
  const clear = window.clearTimeout.bind(window);
  window.pendingRefreshes = () => [...pending.values()].filter((delay) => delay === 5000).length;
  window.setTimeout = (callback, delay, ...rest) => {
    const id = set(() => { pending.delete(id); callback(...rest); }, delay);
    pending.set(id, delay);
    return id;
  };
  window.clearTimeout = (id) => { pending.delete(id); clear(id); };
`;
const setHidden = (hidden: boolean) => `
  Object.defineProperty(document, "hidden", { configurable: true, get: () => ${hidden} });
  document.dispatchEvent(new Event("visibilitychange"));
`;

describe("the provisioned stacks (GET /stacks of issue 11)", { timeout: 90_000 }, () => {
  it("lists each self-hosted tool's stack: status, URL link, HTTP-only flagged in words, last deploy", async () => {
    const stacks = {
      stacks: [
        {
          tool: "airbyte",
          stackName: "tapestry-prod-airbyte",
          status: "UPDATE_COMPLETE",
          outputs: {
            Url: "https://airbyte.rain-shield.example",
            LoadBalancerDnsName: "a.elb.example",
            HttpOnly: "false",
          },
          httpOnly: false,
          lastDeploy: {
            runId: "provision-01M96ZQN06ZAZWP031ZBBXF1KF",
            at: "2026-12-07T00:40:00.000Z",
            outcome: "deployed",
          },
        },
        {
          tool: "grouparoo",
          stackName: "tapestry-prod-grouparoo",
          status: "UPDATE_ROLLBACK_COMPLETE",
          outputs: { Url: "http://grouparoo.rain-shield.example", HttpOnly: "true" },
          httpOnly: true,
          lastDeploy: {
            runId: "provision-01M96ZQN06ZAZWP031ZBBXF1KF",
            at: "2026-12-07T00:41:00.000Z",
            outcome: "failed",
            reason: "WebService: CannotPullContainerError",
          },
        },
      ],
    };
    const embedded = fetchTransport(plane.apiUrl);
    const proxy = await startDashboardServer({
      transport: async (request) =>
        request.path === "/stacks"
          ? { status: 200, contentType: "application/json", body: JSON.stringify(stacks) }
          : embedded(request),
      description: "a stage with self-hosted tools",
      port: 0,
    });
    try {
      const { page, errors } = await open(proxy.url);
      await page.waitForSelector("#stacks-section:not([hidden]) tr[data-stack]");
      const rows = await page.$$eval("#stacks tbody tr", (found) =>
        found.map((row) => ({
          cells: [...row.querySelectorAll("td")].map((cell) => cell.textContent?.trim()),
          link: row.querySelector("a.tool-link")?.getAttribute("href"),
        })),
      );
      expect(rows.map((r) => r.cells.slice(0, 5))).toEqual([
        [
          "Airbyte",
          "tapestry-prod-airbyte",
          "UPDATE_COMPLETE",
          "https://airbyte.rain-shield.example",
          "HTTPS",
        ],
        [
          "Grouparoo",
          "tapestry-prod-grouparoo",
          "UPDATE_ROLLBACK_COMPLETE",
          "http://grouparoo.rain-shield.example",
          "⚠ HTTP only (no certificate)",
        ],
      ]);
      expect(rows.map((r) => r.link)).toEqual([
        "https://airbyte.rain-shield.example",
        "http://grouparoo.rain-shield.example",
      ]);
      expect(rows[1]?.cells[5]).toMatch(/^failed .*: WebService: CannotPullContainerError$/);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await proxy.close();
    }
  });
});

describe("when the status API cannot be reached", { timeout: 90_000 }, () => {
  it("says so on the page (role alert), naming the target, and keeps trying", async () => {
    const proxy = await startDashboardServer({
      transport: async () => {
        throw new TypeError("fetch failed");
      },
      description: "the embedded control plane at http://127.0.0.1:9",
      port: 0,
    });
    try {
      const page = await browser.newPage();
      await page.goto(proxy.url, { waitUntil: "load" });
      await page.waitForSelector("#problem:not([hidden])", { timeout: 20_000 });
      expect(await page.$eval("#problem", (el) => [el.getAttribute("role"), el.textContent])).toEqual([
        "alert",
        "Could not read the status API (/status: could not reach the embedded control plane at http://127.0.0.1:9: fetch failed); trying again in 5 s.",
      ]);
      await page.close();
    } finally {
      await proxy.close();
    }
  });
});

describe("auto-refresh", { timeout: 90_000 }, () => {
  it("draws a new run within a refresh, without a reload; stops refreshing while the tab is hidden", async () => {
    const page = await browser.newPage();
    const errors = recordErrors(page);
    await page.evaluateOnNewDocument(COUNT_REFRESH_TIMERS);
    await page.goto(`${plane.apiUrl}/`, { waitUntil: "load" });
    await page.waitForSelector("svg.chart.durations a.run-point");
    const points = () => page.$$eval("svg.chart.durations a.run-point", (found) => found.length);
    const before = await points();

    const third = await runOnce();
    await page.waitForSelector(`svg.chart.durations a.run-point[data-run-id="${third}"]`, {
      timeout: 20_000,
    });
    expect(await points()).toBe(before + 1);

    await page.waitForFunction("window.pendingRefreshes() === 1");
    // hidden: no refresh stays scheduled, and the page says so
    await page.evaluate(setHidden(true));
    expect(await page.evaluate("window.pendingRefreshes()")).toBe(0);
    expect(await page.$eval("#refresh", (el) => el.textContent)).toMatch(/paused while this tab is hidden$/);
    // visible again: it refreshes at once and schedules the next
    const refreshes = await page.$eval("body", (el) => Number(el.getAttribute("data-refreshes")));
    await page.evaluate(setHidden(false));
    await page.waitForFunction(`Number(document.body.getAttribute("data-refreshes")) > ${refreshes}`, {
      timeout: 20_000,
    });
    await page.waitForFunction("window.pendingRefreshes() === 1");
    expect(await page.$eval("#refresh", (el) => el.textContent)).toMatch(/refreshes every 5 s$/);
    expect(await unexpected(errors, plane.apiUrl)).toEqual([]);
    await page.close();
  });
});
