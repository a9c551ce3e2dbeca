import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { PipelineSpec, ToolsConfig } from "../config";
import { airbyteAuth } from "../connectors/airbyte/connector";
import { parseAnswer } from "../connectors/answer";
import { toolHttpClient } from "../connectors/tool-http";
import type { ConnectorDependencies } from "../connectors/types";
import { SecretNotSetError } from "../errors";
import { staticHeaderAuth } from "../http";
import type { WebhookTool } from "./store";

/**
 * Registers the completion webhooks with the tools, idempotently (create if absent, update if
 * different, leave if equal), for the provision state machine and `tapestry local` alike:
 * - Airbyte: the workspace's "Successful syncs" and "Failed syncs" notifications
 *   (`PATCH /workspaces/{workspaceId}`, `notifications.success|failure.webhook`), pointed at
 *   `<apiUrl>/webhooks/airbyte/<URL secret>`; the URL secret is generated once and stored under
 *   `tools.airbyte.webhook.urlSecret`. A workspace has one webhook URL per notification: one that
 *   is not ours is reported, not replaced, unless `replaceOtherAirbyteWebhooks`.
 * - dbt Cloud: one API v3 webhook subscription per account (`job.run.completed`, the jobs of the
 *   steps that wait for it), pointed at `<apiUrl>/webhooks/dbt-cloud`; dbt generates its HMAC key,
 *   shown once, stored under `tools["dbt-cloud"].webhook.hmacKeySecret`. A deactivated
 *   subscription (dbt turns one off after 5 failed deliveries) is turned on again.
 * Only tools with a step whose `completion` is "webhook" are registered. What a plan or an install
 * does not allow comes back as `manual`, with what to set by hand; secrets never appear in a result.
 */

export interface RegisterToolWebhooksInput {
  readonly tools: ToolsConfig;
  readonly pipelines: readonly PipelineSpec[];
  /** the status API's base URL: the StatusApi stack's output StatusApiUrl on AWS, the local API embedded */
  readonly apiUrl: string;
  /** the Airbyte workspace whose sync notifications to set (Airbyte Cloud shows it in the workspace's address) */
  readonly airbyteWorkspaceId?: string;
  /** replace a webhook URL of someone else's in the workspace's sync notifications (default: report it) */
  readonly replaceOtherAirbyteWebhooks?: boolean;
}

export interface RegisterToolWebhooksDeps extends ConnectorDependencies {
  /** stores a secret's value under its name: SSM SecureString on AWS, the session's secrets embedded */
  readonly storeSecret: (name: string, value: string) => Promise<void>;
  /** a new Airbyte URL secret (default 32 random bytes, base64url) */
  readonly newUrlSecret?: () => string;
  /** how long registering may take in all (default 60 s) */
  readonly timeoutMs?: number;
}

export interface ToolWebhookRegistration {
  readonly tool: WebhookTool;
  /** which account or workspace */
  readonly target?: string;
  /** registered: created; updated: changed to ours; unchanged: already ours; skipped: no step waits for it; manual: see detail */
  readonly outcome: "registered" | "updated" | "unchanged" | "skipped" | "manual";
  /** what was done, or what to set by hand (never a secret) */
  readonly detail: string;
}

const AIRBYTE_ROUTE = "/webhooks/airbyte/";
const DBT_ROUTE = "/webhooks/dbt-cloud";
const DBT_EVENTS = ["job.run.completed"];

export async function registerToolWebhooks(
  input: RegisterToolWebhooksInput,
  deps: RegisterToolWebhooksDeps,
): Promise<ToolWebhookRegistration[]> {
  const apiUrl = input.apiUrl.replace(/\/+$/, "");
  const deadline = Date.now() + (deps.timeoutMs ?? 60_000);
  const steps = input.pipelines.flatMap((pipeline) => pipeline.stages.flatMap((stage) => stage.steps));
  const waiting = (tool: WebhookTool) => steps.filter((s) => s.tool === tool && s.completion === "webhook");
  const results: ToolWebhookRegistration[] = [];

  const airbyte = input.tools.airbyte;
  if (airbyte && waiting("airbyte").length > 0) {
    results.push(await registerAirbyte(input, { ...airbyte }, apiUrl, deps, deadline));
  } else if (airbyte) {
    results.push({ tool: "airbyte", outcome: "skipped", detail: "no Airbyte step waits for a webhook" });
  }

  const dbt = input.tools["dbt-cloud"];
  const dbtSteps = waiting("dbt-cloud").flatMap((s) => (s.tool === "dbt-cloud" ? [s] : []));
  if (dbt && dbtSteps.length > 0) {
    // the first account in the config's order; the others cannot share its HMAC key
    const accounts = [...new Set(dbtSteps.map((s) => s.accountId))];
    const [first, ...others] = accounts;
    if (first !== undefined) {
      const jobIds = [...new Set(dbtSteps.filter((s) => s.accountId === first).map((s) => s.jobId))].sort(
        (a, b) => a - b,
      );
      results.push(await registerDbtCloud(dbt, first, jobIds, apiUrl, deps, deadline));
    }
    for (const account of others) {
      results.push({
        tool: "dbt-cloud",
        target: `account ${account}`,
        outcome: "manual",
        detail: `one dbt Cloud account's webhooks can be verified (tools["dbt-cloud"].webhook holds one HMAC key, account ${first}'s): set completion: "poll" on the steps of account ${account}`,
      });
    }
  } else if (dbt) {
    results.push({ tool: "dbt-cloud", outcome: "skipped", detail: "no dbt Cloud step waits for a webhook" });
  }
  return results;
}

const notificationSchema = z
  .looseObject({
    webhook: z.looseObject({ enabled: z.boolean().optional(), url: z.string().optional() }).optional(),
  })
  .optional();
const workspaceAnswer = z.looseObject({
  workspaceId: z.string(),
  notifications: z.looseObject({ success: notificationSchema, failure: notificationSchema }).optional(),
});

async function registerAirbyte(
  input: RegisterToolWebhooksInput,
  config: NonNullable<ToolsConfig["airbyte"]>,
  apiUrl: string,
  deps: RegisterToolWebhooksDeps,
  deadline: number,
): Promise<ToolWebhookRegistration> {
  const secretName = config.webhook.urlSecret;
  const workspaceId = input.airbyteWorkspaceId;
  if (!workspaceId) {
    return {
      tool: "airbyte",
      outcome: "manual",
      detail: `no Airbyte workspace id given: in the workspace's Settings > Notifications, send "Failed syncs" and "Successful syncs" to the webhook ${apiUrl}${AIRBYTE_ROUTE}<the value of secret ${secretName}>`,
    };
  }
  const target = `workspace ${workspaceId}`;
  let secret = await readSecret(deps, secretName);
  if (secret === undefined) {
    secret = deps.newUrlSecret?.() ?? randomBytes(32).toString("base64url");
    await deps.storeSecret(secretName, secret);
  }
  const url = `${apiUrl}${AIRBYTE_ROUTE}${secret}`;
  const http = toolHttpClient("airbyte", config, deps, await airbyteAuth(config, deps));
  const path = `/workspaces/${encodeURIComponent(workspaceId)}`;
  const read = await http.request({ operation: "read workspace", method: "GET", path, deadline });
  const workspace = parseAnswer("airbyte", "the workspace read", workspaceAnswer, read.body);
  const current = { success: workspace.notifications?.success, failure: workspace.notifications?.failure };
  const foreign = Object.values(current).find(
    (n) => n?.webhook?.enabled && n.webhook.url && !n.webhook.url.startsWith(`${apiUrl}${AIRBYTE_ROUTE}`),
  );
  if (foreign?.webhook?.url && !input.replaceOtherAirbyteWebhooks) {
    return {
      tool: "airbyte",
      target,
      outcome: "manual",
      detail: `the workspace already sends its sync notifications to another webhook (${hostOf(foreign.webhook.url)}), and Airbyte keeps one per notification: replace it (replaceOtherAirbyteWebhooks) or set completion: "poll" on the Airbyte steps`,
    };
  }
  const ours = (n: (typeof current)["success"]) => n?.webhook?.enabled === true && n.webhook.url === url;
  if (ours(current.success) && ours(current.failure)) {
    return {
      tool: "airbyte",
      target,
      outcome: "unchanged",
      detail: "sync notifications already go to Tapestry",
    };
  }
  const hadOurs = [current.success, current.failure].some((n) =>
    n?.webhook?.url?.startsWith(`${apiUrl}${AIRBYTE_ROUTE}`),
  );
  await http.request({
    operation: "update workspace notifications",
    method: "PATCH",
    path,
    body: {
      notifications: {
        success: { ...current.success, webhook: { enabled: true, url } },
        failure: { ...current.failure, webhook: { enabled: true, url } },
      },
    },
    deadline,
  });
  return {
    tool: "airbyte",
    target,
    outcome: hadOurs ? "updated" : "registered",
    detail: "successful and failed syncs now notify Tapestry's webhook",
  };
}

const subscriptionSchema = z.looseObject({
  id: z.string(),
  client_url: z.string(),
  active: z.boolean(),
  event_types: z.array(z.unknown()),
  job_ids: z.array(z.union([z.number(), z.string()])).nullish(),
});
const subscriptionsAnswer = z.looseObject({ data: z.array(subscriptionSchema) });
const createdAnswer = z.looseObject({
  data: z.looseObject({ id: z.string(), hmac_secret: z.string().min(1) }),
});

async function registerDbtCloud(
  config: NonNullable<ToolsConfig["dbt-cloud"]>,
  accountId: number,
  jobIds: readonly number[],
  apiUrl: string,
  deps: RegisterToolWebhooksDeps,
  deadline: number,
): Promise<ToolWebhookRegistration> {
  const target = `account ${accountId}`;
  const url = `${apiUrl}${DBT_ROUTE}`;
  const token = await deps.secrets(config.tokenSecret);
  const http = toolHttpClient(
    "dbt-cloud",
    config,
    deps,
    staticHeaderAuth("authorization", "Bearer", token, config.tokenSecret),
  );
  const base = `/api/v3/accounts/${accountId}/webhooks`;
  const listed = await http.request({
    operation: "list webhook subscriptions",
    method: "GET",
    path: `${base}/subscriptions`,
    query: { limit: 100, offset: 0 },
    deadline,
  });
  const existing = parseAnswer("dbt-cloud", "the webhook list", subscriptionsAnswer, listed.body).data.find(
    (s) => s.client_url === url,
  );
  const wanted = {
    name: "Tapestry step completion",
    description: "Ends Tapestry pipeline steps when their dbt Cloud runs complete (POST /webhooks/dbt-cloud)",
    event_types: DBT_EVENTS,
    job_ids: [...jobIds],
    client_url: url,
    active: true,
  };
  const keyName = config.webhook.hmacKeySecret;
  const haveKey = (await readSecret(deps, keyName)) !== undefined;
  if (existing && haveKey) {
    const covered =
      existing.active &&
      DBT_EVENTS.every((event) => existing.event_types.includes(event)) &&
      jobIds.every((id) => (existing.job_ids ?? []).map(Number).includes(id));
    if (covered)
      return {
        tool: "dbt-cloud",
        target,
        outcome: "unchanged",
        detail: "the webhook subscription is ours and active",
      };
    await http.request({
      operation: "update webhook subscription",
      method: "PUT",
      path: `${base}/subscription/${encodeURIComponent(existing.id)}`,
      body: wanted,
      deadline,
    });
    return {
      tool: "dbt-cloud",
      target,
      outcome: "updated",
      detail: existing.active
        ? "the webhook subscription now covers every job that waits for it"
        : "the webhook subscription had been deactivated (dbt Cloud turns one off after 5 failed deliveries): it is active again",
    };
  }
  if (existing) {
    // Its key is shown only when a subscription is created: without it, nothing it sends can be verified.
    await http.request({
      operation: "update webhook subscription",
      method: "PUT",
      path: `${base}/subscription/${encodeURIComponent(existing.id)}`,
      body: { ...wanted, active: false },
      deadline,
    });
  }
  const created = await http.request({
    operation: "create webhook subscription",
    method: "POST",
    path: `${base}/subscriptions`,
    body: wanted,
    deadline,
  });
  const { data } = parseAnswer("dbt-cloud", "the webhook creation", createdAnswer, created.body);
  await deps.storeSecret(keyName, data.hmac_secret);
  return {
    tool: "dbt-cloud",
    target,
    outcome: "registered",
    detail: existing
      ? `a new webhook subscription (${data.id}) replaced ${existing.id}, whose key was not stored; ${existing.id} is deactivated: delete it in dbt Cloud's Account settings > Webhooks`
      : `webhook subscription ${data.id} created; its key is stored as secret ${keyName}`,
  };
}

async function readSecret(deps: RegisterToolWebhooksDeps, name: string): Promise<string | undefined> {
  try {
    const value = await deps.secrets(name);
    return value === "" ? undefined : value;
  } catch (error) {
    if (error instanceof SecretNotSetError) return undefined;
    throw error;
  }
}

/** The host of a URL, the only part of someone else's webhook URL worth repeating (its path may hold a secret). */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "an address that is not a URL";
  }
}
