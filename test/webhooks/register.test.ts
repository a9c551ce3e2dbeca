import { parseConfig, type TapestryConfig } from "@tapestry/core";
import { SecretNotSetError } from "@tapestry/core/errors";
import { registerToolWebhooks } from "@tapestry/core/webhooks";
import {
  type AirbyteSandbox,
  type DbtCloudSandbox,
  startAirbyteSandbox,
  startDbtCloudSandbox,
} from "@tapestry/local/sandboxes";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import kickstart from "../../tapestry.config";
import { assertTrafficConforms } from "../contract/openapi-contract";

/**
 * registerToolWebhooks against the sandboxes of Airbyte (workspace notifications, public API v1)
 * and dbt Cloud (webhook subscriptions, API v3), every exchange checked against the official specs.
 */

const API_URL = "https://abc123.execute-api.eu-west-1.amazonaws.com";
const TOKEN = "dbtc_register_token_7c1e";
const AIRBYTE = { clientId: "register-client", clientSecret: "register-client-secret-9d2f" };

let airbyte: AirbyteSandbox;
let dbt: DbtCloudSandbox;
let store: Map<string, string>;

beforeEach(async () => {
  airbyte = await startAirbyteSandbox({ auth: { kind: "client-credentials", ...AIRBYTE } });
  dbt = await startDbtCloudSandbox({ auth: { kind: "token", token: TOKEN } });
  store = new Map([
    ["AIRBYTE_CLIENT_ID", AIRBYTE.clientId],
    ["AIRBYTE_CLIENT_SECRET", AIRBYTE.clientSecret],
    ["DBT_CLOUD_TOKEN", TOKEN],
  ]);
});
afterEach(async () => {
  await Promise.all([airbyte.close(), dbt.close()]);
});

function config(change?: (c: TapestryConfig) => void): TapestryConfig {
  const parsed = parseConfig(structuredClone(kickstart));
  const tools = parsed.tools as { -readonly [K in keyof typeof parsed.tools]: (typeof parsed.tools)[K] };
  if (tools.airbyte) tools.airbyte = { ...tools.airbyte, baseUrl: airbyte.baseUrl };
  if (tools["dbt-cloud"]) tools["dbt-cloud"] = { ...tools["dbt-cloud"], baseUrl: dbt.baseUrl };
  change?.(parsed);
  return parsed;
}

const deps = {
  secrets: async (name: string) => {
    const value = store.get(name);
    if (value === undefined) throw new SecretNotSetError(name, "prod");
    return value;
  },
  storeSecret: async (name: string, value: string) => {
    store.set(name, value);
  },
  newUrlSecret: () => "generated-url-secret-1",
};

async function register(c: TapestryConfig = config(), extra: { replaceOtherAirbyteWebhooks?: boolean } = {}) {
  return registerToolWebhooks(
    {
      tools: c.tools,
      pipelines: c.pipelines,
      apiUrl: `${API_URL}/`,
      airbyteWorkspaceId: airbyte.workspaceId,
      ...extra,
    },
    deps,
  );
}

async function workspace() {
  const token = await (
    await fetch(`${airbyte.baseUrl}/applications/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_id: AIRBYTE.clientId,
        client_secret: AIRBYTE.clientSecret,
        grant_type: "client_credentials",
      }),
    })
  ).json();
  const response = await fetch(`${airbyte.baseUrl}/workspaces/${airbyte.workspaceId}`, {
    headers: { authorization: `Bearer ${(token as { access_token: string }).access_token}` },
  });
  return (await response.json()) as {
    notifications: Record<string, { webhook?: { url?: string }; email?: unknown }>;
  };
}

describe("registerToolWebhooks", () => {
  it("points Airbyte's sync notifications and a dbt Cloud subscription at the status API, storing their secrets", async () => {
    expect(await register()).toEqual([
      {
        tool: "airbyte",
        target: `workspace ${airbyte.workspaceId}`,
        outcome: "registered",
        detail: expect.any(String),
      },
      {
        tool: "dbt-cloud",
        target: "account 70403",
        outcome: "registered",
        detail: expect.stringContaining("DBT_CLOUD_WEBHOOK_SECRET"),
      },
    ]);
    expect(store.get("AIRBYTE_WEBHOOK_SECRET")).toBe("generated-url-secret-1");
    const hook = { enabled: true, url: `${API_URL}/webhooks/airbyte/generated-url-secret-1` };
    expect((await workspace()).notifications).toMatchObject({
      success: { webhook: hook },
      failure: { webhook: hook },
    });
    const [subscription] = dbt.webhookSubscriptions();
    expect(subscription).toMatchObject({
      client_url: `${API_URL}/webhooks/dbt-cloud`,
      event_types: ["job.run.completed"],
      job_ids: [112233],
      active: true,
    });
    // dbt Cloud shows the key once, when it creates the subscription: it is stored, never shown again
    expect(store.get("DBT_CLOUD_WEBHOOK_SECRET")).toBe(subscription?.hmac_secret);
    assertTrafficConforms([...airbyte.traffic, ...dbt.traffic]);
  });

  it("changes nothing the second time (idempotent, by URL)", async () => {
    await register();
    const before = { airbyte: airbyte.traffic.length, key: store.get("DBT_CLOUD_WEBHOOK_SECRET") };
    expect((await register()).map((r) => r.outcome)).toEqual(["unchanged", "unchanged"]);
    expect(airbyte.traffic.slice(before.airbyte).map((t) => t.operation)).not.toContain("updateWorkspace");
    expect(dbt.webhookSubscriptions()).toHaveLength(1);
    expect(store.get("DBT_CLOUD_WEBHOOK_SECRET")).toBe(before.key);
  });

  it("turns a subscription dbt Cloud deactivated (5 failed deliveries) on again, and covers a new job", async () => {
    await register();
    const [subscription] = dbt.webhookSubscriptions();
    if (subscription) subscription.active = false;
    const more = config((c) => {
      const stage = c.pipelines[0]?.stages[1];
      const step = stage?.steps[0];
      if (stage && step?.tool === "dbt-cloud")
        stage.steps = [step, { ...step, name: "email-model-2", jobId: 445566 }];
    });
    expect((await register(more)).find((r) => r.tool === "dbt-cloud")).toMatchObject({
      outcome: "updated",
      detail: expect.stringContaining("deactivated"),
    });
    expect(dbt.webhookSubscriptions()).toMatchObject([{ active: true, job_ids: [112233, 445566] }]);
  });

  it("replaces a subscription whose key was lost (it cannot be read back), deactivating the old one", async () => {
    await register();
    store.delete("DBT_CLOUD_WEBHOOK_SECRET");
    const result = (await register()).find((r) => r.tool === "dbt-cloud");
    expect(result).toMatchObject({
      outcome: "registered",
      detail: expect.stringMatching(/replaced .* deactivated/),
    });
    const [old, fresh] = dbt.webhookSubscriptions();
    expect([old?.active, fresh?.active]).toEqual([false, true]);
    expect(store.get("DBT_CLOUD_WEBHOOK_SECRET")).toBe(fresh?.hmac_secret);
  });

  it("leaves another webhook of the workspace alone and says what to do, naming only its host; replaces it when told to", async () => {
    const slack = "https://hooks.slack.com/services/T000/B000/slack-secret-path";
    await register();
    const token = await (
      await fetch(`${airbyte.baseUrl}/applications/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          client_id: AIRBYTE.clientId,
          client_secret: AIRBYTE.clientSecret,
          grant_type: "client_credentials",
        }),
      })
    ).json();
    await fetch(`${airbyte.baseUrl}/workspaces/${airbyte.workspaceId}`, {
      method: "PATCH",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${(token as { access_token: string }).access_token}`,
      },
      body: JSON.stringify({
        notifications: { failure: { email: { enabled: true }, webhook: { enabled: true, url: slack } } },
      }),
    });
    const refused = (await register()).find((r) => r.tool === "airbyte");
    expect(refused).toMatchObject({ outcome: "manual", detail: expect.stringContaining("hooks.slack.com") });
    expect(refused?.detail).not.toContain("slack-secret-path");
    expect((await workspace()).notifications.failure?.webhook?.url).toBe(slack);

    const replaced = (await register(config(), { replaceOtherAirbyteWebhooks: true })).find(
      (r) => r.tool === "airbyte",
    );
    expect(replaced?.outcome).toBe("updated");
    const failure = (await workspace()).notifications.failure;
    expect(failure).toEqual({
      email: { enabled: true },
      webhook: { enabled: true, url: `${API_URL}/webhooks/airbyte/generated-url-secret-1` },
    });
  });

  it("says what to set by hand without a workspace id, skips tools no step waits on, and names dbt accounts it cannot verify", async () => {
    const polled = config((c) => {
      for (const step of c.pipelines[0]?.stages[0]?.steps ?? []) Object.assign(step, { completion: "poll" });
    });
    const c = polled;
    const stage = c.pipelines[0]?.stages[1];
    const step = stage?.steps[0];
    if (stage && step?.tool === "dbt-cloud")
      stage.steps = [step, { ...step, name: "other-account", accountId: 99 }];
    const results = await registerToolWebhooks(
      { tools: c.tools, pipelines: c.pipelines, apiUrl: API_URL },
      deps,
    );
    expect(results).toEqual([
      { tool: "airbyte", outcome: "skipped", detail: "no Airbyte step waits for a webhook" },
      expect.objectContaining({ tool: "dbt-cloud", target: "account 70403", outcome: "registered" }),
      {
        tool: "dbt-cloud",
        target: "account 99",
        outcome: "manual",
        detail: expect.stringContaining('set completion: "poll" on the steps of account 99'),
      },
    ]);
    const manual = await registerToolWebhooks(
      { tools: config().tools, pipelines: config().pipelines, apiUrl: API_URL },
      deps,
    );
    expect(manual[0]).toMatchObject({
      tool: "airbyte",
      outcome: "manual",
      detail: expect.stringContaining(
        `${API_URL}/webhooks/airbyte/<the value of secret AIRBYTE_WEBHOOK_SECRET>`,
      ),
    });
    for (const result of [...results, ...manual]) {
      for (const value of store.values()) expect(JSON.stringify(result)).not.toContain(value);
    }
  });
});
