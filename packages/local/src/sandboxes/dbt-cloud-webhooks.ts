import { createHmac, randomBytes } from "node:crypto";
import type { Execution } from "./lifecycle";
import { isRecord, type Route, type SandboxRequest, type SandboxResponse } from "./server";
import type { WebhookBuilder } from "./webhook-sender";

/**
 * dbt Cloud's webhook subscriptions (API v3, `/api/v3/accounts/{account_id}/webhooks/...`) and the
 * webhooks a run's end sends: `job.run.completed` (and `job.run.errored` for an errored run) with
 * `runStatusCode`, signed: `Authorization` is the hex HMAC-SHA256 of the raw body keyed by the
 * subscription's `hmac_secret`, which only the create's answer shows.
 */

const EVENT_TYPES = ["job.run.started", "job.run.completed", "job.run.errored"] as const;
const STATUS: Record<string, { code: number; text: string }> = {
  succeeded: { code: 10, text: "Success" },
  failed: { code: 20, text: "Errored" },
  cancelled: { code: 30, text: "Cancelled" },
};

export interface DbtWebhookSubscription {
  id: string;
  account_id: number;
  account_identifier: string;
  name: string;
  description?: string;
  event_types: string[];
  job_ids: number[];
  client_url: string;
  active: boolean;
  hmac_secret: string;
  created_at: string;
  updated_at: string;
  http_status_code: string;
  dispatched_at?: string;
}

type Envelope = (status: number, data?: unknown, message?: string) => unknown;

export function dbtCloudWebhooks(
  envelope: Envelope,
  accountOf: (execution: Execution) => number | undefined,
) {
  const subscriptions = new Map<string, DbtWebhookSubscription>();
  const fail = (status: number, data: unknown = null): SandboxResponse => ({
    status,
    body: envelope(status, data),
  });
  const wrap = (status: number, data: unknown) => ({ data, status: { code: status, is_success: true } });
  // the create's answer is the only one that shows hmac_secret
  const view = ({ hmac_secret: _secret, ...subscription }: DbtWebhookSubscription) => subscription;

  const validate = (body: unknown): string | undefined => {
    if (!isRecord(body)) return "Expected a dictionary.";
    if (typeof body.name !== "string" || body.name === "") return "name: This field is required.";
    if (typeof body.client_url !== "string" || body.client_url === "")
      return "client_url: This field is required.";
    if (typeof body.active !== "boolean") return "active: This field is required.";
    const events = body.event_types;
    if (
      !Array.isArray(events) ||
      events.length === 0 ||
      events.some((e) => !(EVENT_TYPES as readonly string[]).includes(e))
    )
      return "event_types: a non-empty list of job.run.started, job.run.completed, job.run.errored.";
    if (
      body.job_ids !== undefined &&
      (!Array.isArray(body.job_ids) || body.job_ids.some((id) => !Number.isInteger(id)))
    )
      return "job_ids: a list of job ids.";
    return undefined;
  };
  const fields = (body: Record<string, unknown>) => ({
    name: body.name as string,
    ...(typeof body.description === "string" ? { description: body.description } : {}),
    event_types: body.event_types as string[],
    job_ids: (body.job_ids as number[] | undefined) ?? [],
    client_url: body.client_url as string,
    active: body.active as boolean,
  });
  const ofAccount = (request: SandboxRequest) =>
    [...subscriptions.values()].filter((s) => s.account_id === Number(request.params[0]));

  const accounts = "^/api/v3/accounts/(\\d+)/webhooks";
  const routes: Route[] = [
    {
      method: "GET",
      pattern: new RegExp(`${accounts}/subscriptions/?$`),
      operation: "listWebhookSubscriptions",
      handle: (request) => {
        const list = ofAccount(request).map(view);
        return {
          status: 200,
          body: {
            ...wrap(200, list),
            extra: {
              pagination: { total_count: list.length, count: list.length },
              filters: { offset: 0, limit: 100 },
            },
          },
        };
      },
    },
    {
      method: "POST",
      pattern: new RegExp(`${accounts}/subscriptions/?$`),
      operation: "createWebhookSubscription",
      handle: (request) => {
        const problem = validate(request.body);
        if (problem) return fail(400, { detail: problem });
        const now = `${Date.now()}000`;
        const subscription: DbtWebhookSubscription = {
          id: `wsu_${randomBytes(12).toString("hex")}`,
          account_id: Number(request.params[0]),
          account_identifier: `act_${request.params[0]}`,
          ...fields(request.body as Record<string, unknown>),
          hmac_secret: randomBytes(32).toString("hex"),
          created_at: now,
          updated_at: now,
          http_status_code: "0",
        };
        subscriptions.set(subscription.id, subscription);
        return { status: 201, body: wrap(201, subscription) };
      },
    },
    {
      method: "PUT",
      pattern: new RegExp(`${accounts}/subscription/([^/]+)/?$`),
      operation: "updateWebhookSubscription",
      handle: (request) => {
        const subscription = subscriptions.get(request.params[1] ?? "");
        if (!subscription || subscription.account_id !== Number(request.params[0])) return fail(404);
        const problem = validate(request.body);
        if (problem) return fail(400, { detail: problem });
        Object.assign(subscription, fields(request.body as Record<string, unknown>), {
          updated_at: `${Date.now()}000`,
        });
        return { status: 200, body: wrap(200, view(subscription)) };
      },
    },
  ];

  const build: WebhookBuilder = (execution, { forged, claim }) => {
    const account = accountOf(execution);
    const status = STATUS[claim] ?? { code: 20, text: "Errored" };
    const events = ["job.run.completed", ...(status.code === 20 ? ["job.run.errored"] : [])];
    return [...subscriptions.values()]
      .filter(
        (s) =>
          s.active &&
          (account === undefined || s.account_id === account) &&
          (s.job_ids.length === 0 || s.job_ids.includes(Number(execution.key))),
      )
      .flatMap((subscription) =>
        events
          .filter((event) => subscription.event_types.includes(event))
          .map((event) => {
            const body = JSON.stringify(payload(subscription, execution, event, status));
            const key = forged ? randomBytes(32).toString("hex") : subscription.hmac_secret;
            subscription.dispatched_at = `${Date.now()}000`;
            return {
              url: subscription.client_url,
              body,
              headers: { authorization: createHmac("sha256", key).update(body).digest("hex") },
            };
          }),
      );
  };

  return { subscriptions, routes, build };
}

function payload(
  subscription: DbtWebhookSubscription,
  execution: Execution,
  eventType: string,
  status: { code: number; text: string },
) {
  const ended = (execution.finishedAt ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z");
  return {
    accountId: subscription.account_id,
    webhooksID: subscription.id,
    eventId: `wev_${randomBytes(14).toString("hex")}`,
    timestamp: new Date().toISOString(),
    eventType,
    webhookName: subscription.name,
    data: {
      jobId: execution.key,
      jobName: `Job ${execution.key}`,
      runId: execution.id,
      environmentId: "218762",
      environmentName: "Production",
      dbtVersion: "versionless",
      projectName: "Sandbox project",
      projectId: "70403",
      runStatus: status.text,
      runStatusCode: status.code,
      runStatusMessage: execution.error ?? "None",
      runReason: "Kicked off via the API",
      runStartedAt: (execution.startedAt ?? execution.createdAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
      ...(eventType === "job.run.errored" ? { runErroredAt: ended } : { runFinishedAt: ended }),
    },
  };
}
