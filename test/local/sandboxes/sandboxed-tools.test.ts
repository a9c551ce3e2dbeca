import { ConnectorRegistry, parseConfig, type StepSpec, ToolAuthError } from "@tapestry/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  generateSandboxCredentials,
  sandboxedTools,
  withSandboxAuth,
} from "../../../packages/local/src/control-plane/sandboxed-tools";
import { parseScenario, type SandboxSet, startSandboxes } from "../../../packages/local/src/sandboxes";
import kickstart from "../../../tapestry.config";

/**
 * The embedded control plane points the configured connectors at the sandboxes. A scenario's
 * `auth` block says which credentials a sandbox accepts; the connector must then present exactly
 * those (both sides from one block), or every call of the scenario is a 401.
 */

const CONFIG = parseConfig(structuredClone(kickstart));
const FAST = { defaults: { queuedMs: 5, durationMs: 20 } };
const stepOf = (tool: StepSpec["tool"]): StepSpec => {
  const step = CONFIG.pipelines[0]?.stages.flatMap((s) => s.steps).find((s) => s.tool === tool);
  if (!step) throw new Error(`no ${tool} step in the kickstart`);
  return step;
};

let sandboxes: SandboxSet | undefined;
afterEach(async () => {
  await sandboxes?.close();
  sandboxes = undefined;
});

/** One job of `tool` through the connector, from trigger to its end. */
async function runOneJob(scenario: Record<string, unknown>, tool: StepSpec["tool"]) {
  const credentials = generateSandboxCredentials();
  sandboxes = await startSandboxes(withSandboxAuth(parseScenario(scenario), credentials));
  const { tools, secrets } = sandboxedTools(CONFIG.tools, sandboxes, credentials, new Set(), async (name) => {
    throw new Error(`no real secret ${name} expected`);
  });
  // the kickstart's steps name their connections: any id will do for a sandbox
  const connectors = new ConnectorRegistry(tools, {
    secrets,
    connectionIds: async () => "5f0c8a52-7d3e-4b0e-9a57-2b4c1e0d9a11",
  });
  const step = stepOf(tool);
  const deadline = () => ({ deadline: Date.now() + 30_000 });
  const started = await connectors.start(step, {
    pipeline: "rain-shield-audience",
    runId: "r-1",
    ...deadline(),
  });
  for (let i = 0; i < 200; i++) {
    const status = await connectors.poll(step, started.externalId, deadline());
    if (status.state !== "running") return { status, sandbox: sandboxes.all.find((s) => s.tool === tool) };
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the job did not end");
}

describe("a scenario's auth configures both the sandbox and the connector", () => {
  it.each([
    [
      "Airbyte client credentials (the token expiry example: tokens live 0.5 s)",
      "airbyte",
      {
        kind: "client-credentials",
        clientId: "tapestry-sandbox",
        clientSecret: "sandbox-secret",
        tokenTtlSeconds: 0.5,
      },
    ],
    ["an Airbyte static bearer token", "airbyte", { kind: "bearer", token: "airbyte-sandbox-token" }],
    ["Airbyte without auth", "airbyte", { kind: "none" }],
    ["a dbt Cloud token (the dbt 401 example)", "dbt-cloud", { kind: "token", token: "dbtc_sandbox_token" }],
    ["dbt Cloud without auth", "dbt-cloud", { kind: "none" }],
    ["a Grouparoo API key", "grouparoo", { kind: "api-key", apiKey: "grouparoo-sandbox-key" }],
    ["Grouparoo without auth", "grouparoo", { kind: "none" }],
  ] as const)("%s", async (_, tool, auth) => {
    const { status, sandbox } = await runOneJob({ [tool]: { ...FAST, auth } }, tool);
    expect(status.state, status.error).toBe("succeeded");
    const refused = sandbox?.traffic.filter((exchange) => exchange.response?.status === 401) ?? [];
    expect(refused).toEqual([]);
  });

  it("uses the session's fresh credentials when the scenario names none, and the sandbox refuses others", async () => {
    const { status, sandbox } = await runOneJob({ "dbt-cloud": FAST }, "dbt-cloud");
    expect(status.state).toBe("succeeded");
    expect(sandbox?.auth).toMatchObject({ kind: "token", token: expect.stringMatching(/^dbtc_/) });
    const wrong = await fetch(`${sandbox?.baseUrl}/api/v2/accounts/70403/runs/`, {
      headers: { authorization: "Token dbtc_sandbox_token" },
    });
    expect(wrong.status).toBe(401);
  });

  it("a scripted 401 is still a refusal that names the secret to fix, never its value", async () => {
    const credentials = generateSandboxCredentials();
    sandboxes = await startSandboxes(
      withSandboxAuth(
        parseScenario({
          "dbt-cloud": {
            ...FAST,
            auth: { kind: "token", token: "dbtc_sandbox_token" },
            rules: [{ on: "triggerRun", respond: { status: 401 } }],
          },
        }),
        credentials,
      ),
    );
    const { tools, secrets } = sandboxedTools(
      CONFIG.tools,
      sandboxes,
      credentials,
      new Set(),
      async () => "",
    );
    // the kickstart's steps name their connections: any id will do for a sandbox
    const connectors = new ConnectorRegistry(tools, {
      secrets,
      connectionIds: async () => "5f0c8a52-7d3e-4b0e-9a57-2b4c1e0d9a11",
    });
    const failure = await connectors
      .start(stepOf("dbt-cloud"), {
        pipeline: "rain-shield-audience",
        runId: "r-2",
        deadline: Date.now() + 30_000,
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(ToolAuthError);
    expect((failure as Error).message).toContain('check the secret "SANDBOX_DBT_CLOUD_TOKEN"');
    expect((failure as Error).message).not.toContain("dbtc_sandbox_token");
  });
});
