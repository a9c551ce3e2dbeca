import { ConfigError, type ConfigIssue, parseConfig, type TapestryConfig } from "@tapestry/core";
import { secretReferences } from "@tapestry/core/config";
import { describe, expect, it } from "vitest";
import kickstart from "../../tapestry.config";

/** The kickstart config with `change` applied to a copy of its input. */
function config(change: (c: TapestryConfig) => void = () => undefined): unknown {
  const copy = structuredClone(kickstart) as unknown as TapestryConfig;
  change(copy);
  return copy;
}

function issuesOf(input: unknown): readonly ConfigIssue[] {
  try {
    parseConfig(input);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
}

/** Sets a field of the kickstart's step `s` of stage `t` (raw input, before defaults). */
function withStep(t: number, s: number, fields: Record<string, unknown>): unknown {
  return config((c) => {
    const step = c.pipelines[0]?.stages[t]?.steps[s] as unknown as Record<string, unknown>;
    Object.assign(step, fields);
  });
}

describe("completion: how a step learns that its job ended", () => {
  it("waits for the webhook on Airbyte and dbt Cloud (fallback poll every 300 s), and polls Grouparoo, by default", () => {
    const steps = parseConfig(config()).pipelines[0]?.stages.flatMap((stage) => stage.steps) ?? [];
    expect(steps.map((step) => [step.tool, step.completion])).toEqual([
      ["airbyte", "webhook"],
      ["airbyte", "webhook"],
      ["dbt-cloud", "webhook"],
      ["grouparoo", "poll"],
    ]);
    for (const step of steps) {
      if (step.completion === "webhook") expect(step.fallbackPollSeconds).toBe(300);
    }
  });

  it("takes poll, and a fallback interval of up to 3600 s (down to what the history budget allows)", () => {
    const parsed = parseConfig(withStep(0, 0, { completion: "poll", fallbackPollSeconds: 3600 }));
    expect(parsed.pipelines[0]?.stages[0]?.steps[0]).toMatchObject({
      completion: "poll",
      fallbackPollSeconds: 3600,
    });
    expect(issuesOf(withStep(1, 0, { fallbackPollSeconds: 2 }))).toEqual([]);
  });

  it("refuses an unknown completion at its path, naming both choices", () => {
    expect(issuesOf(withStep(0, 1, { completion: "push" }))).toEqual([
      {
        path: "pipelines[0].stages[0].steps[1].completion",
        message: expect.stringMatching(/^expected "webhook" .* or "poll" .*, got "push"$/),
      },
    ]);
  });

  it.each([0, 3601, 2.5, "300"])("refuses fallbackPollSeconds %j at its path", (value) => {
    expect(issuesOf(withStep(1, 0, { fallbackPollSeconds: value }))).toEqual([
      {
        path: "pipelines[0].stages[1].steps[0].fallbackPollSeconds",
        message: expect.stringContaining("expected a whole number of seconds from 1 to 3600"),
      },
    ]);
  });

  it("refuses webhook completion on Grouparoo, which sends none, and its fallback interval", () => {
    expect(issuesOf(withStep(2, 0, { completion: "webhook" }))).toEqual([
      {
        path: "pipelines[0].stages[2].steps[0].completion",
        message: expect.stringContaining("Grouparoo sends no completion webhook"),
      },
    ]);
    expect(issuesOf(withStep(2, 0, { fallbackPollSeconds: 60 }))).toEqual([
      {
        path: "pipelines[0].stages[2].steps[0].fallbackPollSeconds",
        message: "unknown key: remove it or check its spelling",
      },
    ]);
  });
});

describe("the webhooks' secrets", () => {
  it("are named AIRBYTE_WEBHOOK_SECRET and DBT_CLOUD_WEBHOOK_SECRET unless the tools say otherwise, and are referenced like the tools' other secrets", () => {
    const parsed = parseConfig(config());
    expect(parsed.tools.airbyte?.webhook).toEqual({ urlSecret: "AIRBYTE_WEBHOOK_SECRET" });
    expect(parsed.tools["dbt-cloud"]?.webhook).toEqual({ hmacKeySecret: "DBT_CLOUD_WEBHOOK_SECRET" });
    const custom = parseConfig(
      config((c) => {
        Object.assign(c.tools.airbyte ?? {}, { webhook: { urlSecret: "PROD_AIRBYTE_HOOK" } });
        Object.assign(c.tools["dbt-cloud"] ?? {}, { webhook: { hmacKeySecret: "PROD_DBT_HOOK" } });
      }),
    );
    expect(secretReferences(custom.tools).filter((reference) => reference.field.includes("webhook"))).toEqual(
      [
        { tool: "airbyte", field: "tools.airbyte.webhook.urlSecret", name: "PROD_AIRBYTE_HOOK" },
        { tool: "dbt-cloud", field: 'tools["dbt-cloud"].webhook.hmacKeySecret', name: "PROD_DBT_HOOK" },
      ],
    );
  });

  it("refuses a secret value where its name belongs, without repeating it", () => {
    const value = "dbtc_9f8e7d6c5b4a39281706f5e4d3c2b1a0";
    const issues = issuesOf(
      config((c) => Object.assign(c.tools["dbt-cloud"] ?? {}, { webhook: { hmacKeySecret: value } })),
    );
    expect(issues).toEqual([
      {
        path: 'tools["dbt-cloud"].webhook.hmacKeySecret',
        message: expect.stringContaining("looks like a secret value"),
      },
    ]);
    expect(JSON.stringify(issues)).not.toContain(value);
  });
});
