import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type CliResult, runTapestryOnce } from "../support/tapestry-cli";

/**
 * `tapestry local --once` as a user runs it: a child process on the project's Node 24, the
 * repository's kickstart config (unless a test passes another), a state folder of its own and
 * `--port 0`, so these tests run alongside anything else.
 */

const SPAWN_LIMIT_MS = 20_000;
const TEST_TIMEOUT_MS = 60_000;
const SUMMARY_HEADER = /^pipeline\s+run\s+status\s+steps\s+rows\s+duration\s*$/m;

const temps: string[] = [];
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tapestry-cli-"));
  temps.push(dir);
  return dir;
}

/** `tapestry local --once --port 0 <args>` from the repository's root; killed (and failed) after 20 s. */
const runOnce = (args: readonly string[]) => runTapestryOnce(args, { limitMs: SPAWN_LIMIT_MS });

/** The lines of stdout that match, for "exactly one line per event" checks. */
const matching = (result: CliResult, pattern: RegExp) => result.lines.filter((line) => pattern.test(line));

/** The summary table's rows (header first), cells split on the two-space column gap. */
function summaryTable(result: CliResult): string[][] {
  const header = result.lines.findIndex((line) => SUMMARY_HEADER.test(line));
  expect(header, `no summary header in:\n${result.stdout}`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of result.lines.slice(header)) {
    if (!line.trim() || !/\S {2,}\S/.test(line)) break;
    rows.push(line.trim().split(/ {2,}/));
  }
  return rows;
}

describe("tapestry local --once (child process)", { timeout: TEST_TIMEOUT_MS }, () => {
  it("runs the kickstart pipeline against the sandboxes, prints each event and the summary, exits 0", async () => {
    const stateDir = join(tempDir(), "state");
    const result = await runOnce(["--state-dir", stateDir]);

    // --port 0: the status API tells which port it got
    const api = result.stdout.match(/status API at http:\/\/127\.0\.0\.1:(\d+)/);
    expect(Number(api?.[1])).toBeGreaterThan(0);

    const started = matching(result, /▶ run (\S+) started \(at start-up\)$/);
    expect(started).toHaveLength(1);
    const runId = started[0]?.match(/run (\S+) started/)?.[1] ?? "";
    // the run's rows are its steps' rows: 40 + 45 + 58 + 58
    expect(runId).toMatch(/^rain-shield-audience-/);

    for (const [step, tool] of [
      ["ingest/zoom-webinar-registrants", "airbyte"],
      ["ingest/salesforce-contacts", "airbyte"],
      ["transform/email-model", "dbt-cloud"],
      ["sync/mailchimp-audience", "grouparoo"],
    ] as const) {
      expect(
        matching(result, new RegExp(`^\\S+ rain-shield-audience {3}${step} ${tool} started job \\S+$`)),
        step,
      ).toHaveLength(1);
      expect(matching(result, new RegExp(`✓ ${step} ${tool}\\b`)), step).toHaveLength(1);
    }
    expect(matching(result, /✓ ingest\/zoom-webinar-registrants airbyte 40 rows, \d+\.\d s$/)).toHaveLength(
      1,
    );
    expect(matching(result, /✓ ingest\/salesforce-contacts airbyte 45 rows, \d+\.\d s$/)).toHaveLength(1);
    // dbt Cloud reports the rows its model wrote (run_results.json): the 58 e-mail addresses
    expect(matching(result, /✓ transform\/email-model dbt-cloud 58 rows, \d+\.\d s$/)).toHaveLength(1);
    expect(matching(result, /✓ sync\/mailchimp-audience grouparoo 58 rows, \d+\.\d s$/)).toHaveLength(1);
    expect(matching(result, new RegExp(`✔ run ${runId} succeeded: 201 rows in \\d+\\.\\d s$`))).toHaveLength(
      1,
    );
    expect(matching(result, /✗|✘|failed/)).toEqual([]);

    const [header, ...rows] = summaryTable(result);
    expect(header).toEqual(["pipeline", "run", "status", "steps", "rows", "duration"]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toEqual([
      "rain-shield-audience",
      runId,
      "succeeded",
      "4 ok",
      "201",
      expect.stringMatching(/^\d+\.\d s$/),
    ]);

    const audience = JSON.parse(readFileSync(join(stateDir, "exports", "mailchimp-audience.json"), "utf8"));
    expect(Array.isArray(audience)).toBe(true);
    expect(audience).toHaveLength(58);
    expect(result.code, result.stderr || result.stdout).toBe(0);
  });

  it("exits 1 when a step fails: the summary names the failed step, its reason and message; later stages never start", async () => {
    const dir = tempDir();
    const message = 'Database Error in model email_audience: relation "stg_zoom__webinars" does not exist';
    const scenario = join(dir, "dbt-errors.yaml");
    writeFileSync(
      scenario,
      ["dbt-cloud:", "  outcomes:", "    - outcome: failed", `      error: '${message}'`, ""].join("\n"),
    );
    const result = await runOnce(["--state-dir", join(dir, "state"), "--scenario", scenario]);

    expect(matching(result, /✓ ingest\/zoom-webinar-registrants airbyte 40 rows/)).toHaveLength(1);
    expect(matching(result, /✓ ingest\/salesforce-contacts airbyte 45 rows/)).toHaveLength(1);
    expect(matching(result, /transform\/email-model dbt-cloud started job/)).toHaveLength(1);
    const stepFailed = matching(result, /✗ transform\/email-model dbt-cloud failed \(failed\): /);
    expect(stepFailed).toHaveLength(1);
    expect(stepFailed[0]).toContain(message);
    expect(matching(result, /✘ run \S+ failed: /)).toHaveLength(1);
    expect(result.stdout).not.toContain("sync/mailchimp-audience");

    const [, ...rows] = summaryTable(result);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.[0]).toBe("rain-shield-audience");
    expect(rows[0]?.[2]).toBe("failed");
    expect(rows[0]?.[3]).toBe("2 ok, 1 failed");
    const stepLine = matching(result, /^ {2}transform\/email-model \(dbt-cloud, failed\): /);
    expect(stepLine).toHaveLength(1);
    expect(stepLine[0]).toContain(message);

    expect(result.code, result.stderr || result.stdout).toBe(1);
  });

  it("exits 2 on an invalid config, naming the path and the problem, and creates no state", async () => {
    const dir = tempDir();
    const config = join(dir, "bad.config.ts");
    const stage = (name: string, step: Record<string, unknown>) => ({ name, steps: [step] });
    const invalid = {
      tools: {
        airbyte: { baseUrl: "https://api.airbyte.com/v1", auth: { kind: "none" } },
        "dbt-cloud": { baseUrl: "https://cloud.getdbt.com", tokenSecret: "DBT_CLOUD_TOKEN" },
      },
      pipelines: [
        {
          name: "rain-shield-audience",
          schedule: { expression: "cron(0 6 * * ? *)", timezone: "America/New_York" },
          overlap: "skip",
          stages: [
            stage("ingest", {
              name: "zoom-webinar-registrants",
              tool: "airbyte",
              connectionId: "5f0c8a52-7d3e-4b0e-9a57-2b4c1e0d9a11",
              timeoutMinutes: 60,
            }),
            stage("transform", {
              name: "email-model",
              tool: "dbt-cloud",
              accountId: 70403,
              jobId: "abc",
              timeoutMinutes: 30,
            }),
          ],
        },
      ],
    };
    writeFileSync(config, `export default ${JSON.stringify(invalid, null, 2)};\n`);
    const stateDir = join(dir, "state");
    const result = await runOnce(["--config", config, "--state-dir", stateDir]);
    expect(result.code, result.stdout).toBe(2);
    expect(result.stderr).toContain(
      `pipelines[0].stages[1].steps[0].jobId: expected a positive integer, got "abc"`,
    );
    expect(result.stdout).toBe("");
    expect(existsSync(stateDir)).toBe(false);
  });

  it("exits 2 on an invalid scenario, naming the scenario file and the problem", async () => {
    const dir = tempDir();
    const scenario = join(dir, "typo.yaml");
    writeFileSync(
      scenario,
      ["airbyte:", "  rules:", "    - { on: getJob, respnd: { status: 500 } }", ""].join("\n"),
    );
    const stateDir = join(dir, "state");
    const result = await runOnce(["--state-dir", stateDir, "--scenario", scenario]);
    expect(result.code, result.stdout).toBe(2);
    expect(result.stderr).toContain(`scenario ${scenario} is invalid`);
    expect(result.stderr).toContain("airbyte.rules[0].respnd: unknown key");
    expect(result.stdout).toBe("");
    expect(existsSync(stateDir)).toBe(false);
  });
});
