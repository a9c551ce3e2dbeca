import { randomBytes, randomUUID } from "node:crypto";
import type { Execution } from "./lifecycle";
import { isRecord, type Route, type SandboxRequest, type SandboxResponse } from "./server";
import type { WebhookBuilder } from "./webhook-sender";

/**
 * Airbyte's workspace notifications (public API v1, `GET`/`PATCH /workspaces/{workspaceId}`): the
 * success and failure webhooks the sandbox posts to when a sync ends, with the payload Airbyte
 * documents (`data` with the connection, `jobId`, records and bytes committed, `success`,
 * `errorMessage`, beside Slack text). Unsigned: the receiver's URL carries its secret.
 */

type NotificationConfig = { email?: { enabled?: boolean }; webhook?: { enabled?: boolean; url?: string } };
type NotificationsConfig = Partial<Record<(typeof NOTIFICATION_TYPES)[number], NotificationConfig>>;

const NOTIFICATION_TYPES = [
  "failure",
  "success",
  "connectionUpdate",
  "connectionUpdateActionRequired",
  "syncDisabled",
  "syncDisabledWarning",
] as const;

export interface AirbyteWorkspace {
  readonly workspaceId: string;
  readonly name: string;
  notifications: NotificationsConfig;
}

/** The sandbox's one workspace, its two routes, and the webhooks of a sync that ended. */
export function airbyteNotifications(
  problem: (status: number, detail: string) => SandboxResponse,
  workspaceId: string = randomUUID(),
) {
  const workspace: AirbyteWorkspace = { workspaceId, name: "Sandbox workspace", notifications: {} };
  const view = () => ({
    workspaceId: workspace.workspaceId,
    name: workspace.name,
    dataResidency: "auto",
    notifications: workspace.notifications,
  });
  const find = (request: SandboxRequest): SandboxResponse | undefined =>
    request.params[0] === workspace.workspaceId
      ? undefined
      : problem(404, `Could not find a resource for: ${request.params[0]}`);

  const routes: Route[] = [
    {
      method: "GET",
      pattern: /^\/workspaces\/([^/]+)\/?$/,
      operation: "getWorkspace",
      handle: (request) => find(request) ?? { status: 200, body: view() },
    },
    {
      method: "PATCH",
      pattern: /^\/workspaces\/([^/]+)\/?$/,
      operation: "updateWorkspace",
      handle: (request) => {
        const missing = find(request);
        if (missing) return missing;
        const body = request.body;
        if (!isRecord(body)) return problem(400, "The body must be a WorkspaceUpdateRequest object.");
        if (body.notifications !== undefined) {
          if (!isRecord(body.notifications)) return problem(400, "notifications must be an object.");
          for (const [type, config] of Object.entries(body.notifications)) {
            if (!(NOTIFICATION_TYPES as readonly string[]).includes(type) || !isRecord(config))
              return problem(400, `notifications.${type} is not a notification setting.`);
            workspace.notifications[type as keyof NotificationsConfig] = config as NotificationConfig;
          }
        }
        return { status: 200, body: view() };
      },
    },
  ];

  const build: WebhookBuilder = (execution: Execution, { forged, claim }) => {
    const hook = workspace.notifications[claim === "succeeded" ? "success" : "failure"]?.webhook;
    if (!hook?.enabled || !hook.url) return [];
    const url = forged ? hook.url.replace(/[^/]+$/, randomBytes(24).toString("base64url")) : hook.url;
    return [{ url, body: JSON.stringify(payload(workspace, execution, claim === "succeeded")), headers: {} }];
  };

  return { workspace, routes, build };
}

function payload(workspace: AirbyteWorkspace, execution: Execution, success: boolean) {
  const started = execution.startedAt ?? execution.createdAt;
  const finished = execution.finishedAt ?? new Date();
  const seconds = Math.max(0, Math.round((finished.getTime() - started.getTime()) / 1000));
  const link = (kind: string, id: string) =>
    `https://sandbox.airbyte.local/workspaces/${workspace.workspaceId}/${kind}/${id}`;
  return {
    text: `Your connection sync ${success ? "succeeded" : "failed"}: job ${execution.id}`,
    data: {
      workspace: { id: workspace.workspaceId, name: workspace.name, url: link("", "").replace(/\/+$/, "") },
      connection: {
        id: execution.key,
        name: `Connection ${execution.key}`,
        url: link("connections", execution.key),
      },
      source: { id: randomUUID(), name: "Source", url: link("source", "sandbox") },
      destination: { id: randomUUID(), name: "Destination", url: link("destination", "sandbox") },
      jobId: Number(execution.id),
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      bytesEmitted: execution.bytes,
      bytesCommitted: execution.bytes,
      recordsEmitted: execution.rows,
      recordsCommitted: execution.rows,
      bytesEmittedFormatted: `${execution.bytes} B`,
      bytesCommittedFormatted: `${execution.bytes} B`,
      success,
      ...(success ? {} : { errorMessage: execution.error ?? "Sync failed" }),
      durationInSeconds: seconds,
      durationFormatted: `${Math.floor(seconds / 60)} min ${seconds % 60} sec`,
    },
  };
}
