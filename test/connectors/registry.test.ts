import { ConnectorRegistry, ToolAuthError } from "@tapestry/core";
import { parseScenario, startDbtCloudSandbox } from "@tapestry/local/sandboxes";
import { describe, expect, it } from "vitest";
import { CANARY, call, closingAfterEach, context, dbtStep, FAST, rejection } from "./harness";

const track = closingAfterEach();

describe("ConnectorRegistry", () => {
  it("reads a tool's secret again after the tool refused it, so a fixed secret works without a restart", async () => {
    const sandbox = await track(
      startDbtCloudSandbox({
        scenario: parseScenario({
          "dbt-cloud": { defaults: FAST, auth: { kind: "token", token: CANARY.dbtToken } },
        })["dbt-cloud"],
      }),
    );
    const store = new Map([["DBT_CLOUD_TOKEN", "dbtc_revoked_token_0000"]]);
    const reads: string[] = [];
    const registry = new ConnectorRegistry(
      {
        "dbt-cloud": {
          baseUrl: sandbox.baseUrl,
          tokenSecret: "DBT_CLOUD_TOKEN",
          requestTimeoutSeconds: 5,
          webhook: { hmacKeySecret: "DBT_CLOUD_WEBHOOK_SECRET" },
        },
      },
      {
        secrets: async (name) => {
          reads.push(name);
          return store.get(name) ?? "";
        },
      },
    );
    const step = dbtStep();

    const refused = await rejection(registry.start(step, context));
    expect(refused).toBeInstanceOf(ToolAuthError);

    store.set("DBT_CLOUD_TOKEN", CANARY.dbtToken);
    const started = await registry.start(step, context);
    expect((await registry.poll(step, started.externalId, call)).state).toBe("running");
    expect(reads).toEqual(["DBT_CLOUD_TOKEN", "DBT_CLOUD_TOKEN"]);
  });
});
