import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadScenarioFile, parseScenario, ScenarioError } from "../../../packages/local/src/sandboxes";

function issuesOf(input: unknown): Array<{ path: string; message: string }> {
  try {
    parseScenario(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    expect((error as Error).name).toBe("ScenarioError");
    return [...(error as ScenarioError).issues];
  }
  throw new Error("expected the scenario to be rejected");
}

describe("parseScenario: invalid scenarios name the path and the fix", () => {
  it("a respond status that is not an integer", () => {
    const rules = [
      { on: "createJob", calls: [1], respond: { status: 429 } },
      { on: "getJob", latencyMs: 10 },
      { on: "createJob", respond: { status: "x" } },
    ];
    expect(issuesOf({ airbyte: { rules } })).toEqual([
      { path: "airbyte.rules[2].respond.status", message: 'expected an integer 200..599, got "x"' },
    ]);
  });

  it("an unknown key, listing the allowed ones", () => {
    expect(issuesOf({ airbyte: { outcomes: [{ outcome: "failed", eror: "typo" }] } })).toEqual([
      {
        path: "airbyte.outcomes[0].eror",
        message:
          "unknown key: remove it or use one of: for, outcome, error, status, queuedMs, durationMs, incompleteMs, rows, bytes",
      },
    ]);
    expect(issuesOf({ grouparo: {} })).toEqual([
      {
        path: "grouparo",
        message: "unknown key: remove it or use one of: description, airbyte, dbt-cloud, grouparoo",
      },
    ]);
  });

  it("an unknown operation name in a rule", () => {
    expect(issuesOf({ "dbt-cloud": { rules: [{ on: "createJob", respond: { status: 500 } }] } })).toEqual([
      {
        path: "dbt-cloud.rules[0].on",
        message:
          'expected an operation (one of "triggerRun", "getRun", "cancelRun", "listRuns", "getRunArtifact", "listWebhookSubscriptions", "createWebhookSubscription", "updateWebhookSubscription", "any") or a list of them, got "createJob"',
      },
    ]);
  });

  it("an outcome that does not exist for the tool, and a missing unknown status", () => {
    expect(
      issuesOf({
        grouparoo: { outcomes: [{ outcome: "incomplete-then-succeeded" }, { outcome: "unknown-status" }] },
      }),
    ).toEqual([
      {
        path: "grouparoo.outcomes[0].outcome",
        message:
          'expected one of "succeeded", "failed", "cancelled", "stuck", "unknown-status", got "incomplete-then-succeeded"',
      },
      {
        path: "grouparoo.outcomes[1].status",
        message: "is required with outcome unknown-status: give the status value the tool should report",
      },
    ]);
  });

  it("a negative duration and a real status passed off as unknown", () => {
    expect(
      issuesOf({
        "dbt-cloud": { defaults: { queuedMs: -5 }, outcomes: [{ outcome: "unknown-status", status: 10 }] },
      }),
    ).toEqual([
      {
        path: "dbt-cloud.defaults.queuedMs",
        message: "expected an integer 0..3600000 (milliseconds), got -5",
      },
      {
        path: "dbt-cloud.outcomes[0].status",
        message: "10 is a status the tool really uses: pick a value outside 1, 2, 3, 10, 20, 30",
      },
    ]);
  });

  it("a rule that does nothing, and one mixing calls with from/times", () => {
    expect(
      issuesOf({
        airbyte: {
          rules: [
            { on: "getJob", calls: [1] },
            { on: "getJob", calls: [1], times: 2, respond: { status: 503 } },
          ],
        },
      }),
    ).toEqual([
      {
        path: "airbyte.rules[0]",
        message: "this rule does nothing: give it at least one of latencyMs, respond, drop, revokeTokens",
      },
      { path: "airbyte.rules[1].calls", message: "use either calls or from/times, not both" },
    ]);
  });

  it("drop together with respond, and revokeTokens outside Airbyte", () => {
    expect(
      issuesOf({
        grouparoo: {
          rules: [
            { on: "runSchedule", drop: true, respond: { status: 500 } },
            { on: "getRun", revokeTokens: true },
          ],
        },
      }),
    ).toEqual([
      {
        path: "grouparoo.rules[0].drop",
        message: "drop and respond exclude each other (a dropped connection gets no answer): remove one",
      },
      {
        path: "grouparoo.rules[1].revokeTokens",
        message: "only the Airbyte sandbox issues tokens: script a 401 with respond: { status: 401 } instead",
      },
    ]);
  });

  it("an unknown auth kind and a missing credential", () => {
    expect(issuesOf({ airbyte: { auth: { kind: "oauth" } } })).toEqual([
      {
        path: "airbyte.auth.kind",
        message: 'expected one of "client-credentials", "bearer", "none", got "oauth"',
      },
    ]);
    expect(issuesOf({ airbyte: { auth: { kind: "client-credentials", clientId: "app" } } })).toEqual([
      { path: "airbyte.auth.clientSecret", message: "is required: expected a non-empty string" },
    ]);
  });

  it("a document that is not a mapping, and a section of the wrong type", () => {
    expect(issuesOf("hello")).toEqual([
      {
        path: "(root)",
        message:
          'expected a mapping with keys among: description, airbyte, dbt-cloud, grouparoo, got "hello"',
      },
    ]);
    expect(issuesOf({ airbyte: { rules: { on: "getJob" } } })).toEqual([
      { path: "airbyte.rules", message: 'expected a list of rules, got {"on":"getJob"}' },
    ]);
  });

  it("puts every problem in the error message, one per line", () => {
    expect(() => parseScenario({ airbyte: { defaults: { rows: -1 } } }, "scenario flaky.yaml")).toThrow(
      "scenario flaky.yaml is invalid (1 problem):\n  - airbyte.defaults.rows: expected an integer >= 0, got -1",
    );
  });
});

describe("parseScenario: valid scenarios", () => {
  it("accepts an empty document", () => {
    expect(parseScenario(undefined)).toEqual({});
    expect(parseScenario({})).toEqual({});
  });

  it("accepts every example of docs/sandbox-scenarios.md", async () => {
    const doc = await readFile(new URL("../../../docs/sandbox-scenarios.md", import.meta.url), "utf8");
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
    expect(blocks.length).toBeGreaterThanOrEqual(16);
    for (const block of blocks) {
      expect(() => parseScenario(parseYaml(block), block)).not.toThrow();
    }
  });

  it("accepts every example file of docs/scenarios", async () => {
    const dir = new URL("../../../docs/scenarios/", import.meta.url);
    const files = (await readdir(dir)).filter((f) => f.endsWith(".yaml"));
    expect(files.length).toBeGreaterThanOrEqual(20);
    for (const file of files)
      await expect(loadScenarioFile(fileURLToPath(new URL(file, dir)))).resolves.toBeDefined();
  });
});

describe("loadScenarioFile", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tapestry-scenario-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads YAML", async () => {
    const file = join(dir, "flaky.yaml");
    await writeFile(
      file,
      "airbyte:\n  rules:\n    - { on: createJob, calls: [1], respond: { status: 429 } }\n",
    );
    expect(await loadScenarioFile(file)).toEqual({
      airbyte: { rules: [{ on: "createJob", calls: [1], respond: { status: 429 } }] },
    });
  });

  it("reads JSON", async () => {
    const file = join(dir, "stuck.json");
    await writeFile(file, JSON.stringify({ grouparoo: { outcomes: [{ outcome: "stuck" }] } }));
    expect(await loadScenarioFile(file)).toEqual({ grouparoo: { outcomes: [{ outcome: "stuck" }] } });
  });

  it("treats an empty file as an empty scenario", async () => {
    const file = join(dir, "empty.yaml");
    await writeFile(file, "");
    expect(await loadScenarioFile(file)).toEqual({});
  });

  it("names the file in errors: bad YAML, invalid content, missing file", async () => {
    const bad = join(dir, "bad.yaml");
    await writeFile(bad, "airbyte: [unclosed\n");
    await expect(loadScenarioFile(bad)).rejects.toThrow(`scenario ${bad} is invalid`);
    await expect(loadScenarioFile(bad)).rejects.toThrow("not valid YAML");

    const invalid = join(dir, "invalid.yaml");
    await writeFile(invalid, "airbyte:\n  outcomes:\n    - { outcome: paused }\n");
    await expect(loadScenarioFile(invalid)).rejects.toThrow(
      `scenario ${invalid} is invalid (1 problem):\n  - airbyte.outcomes[0].outcome: expected one of`,
    );

    await expect(loadScenarioFile(join(dir, "missing.yaml"))).rejects.toThrow("cannot read");
  });
});
