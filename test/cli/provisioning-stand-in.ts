import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for a stage's status API as the deprovisioning contract of issue 11 describes it
 * (shared-s17: DELETE /provisioning starts the deprovision state machine, GET /provisioning shows
 * the run, GET /stacks the tool stacks), on 127.0.0.1. Each GET /provisioning and GET /stacks
 * answers the next snapshot of a scripted run (the last one repeats), so a follower sees the run
 * move as it would; every request is recorded.
 */

export const DEPROVISION_RUN_ID = "provision-01JD3Q6ZC7V8Y1XK2N4P5R6S7T";

export interface Snapshot {
  readonly run: Record<string, unknown>;
  readonly stacks?: readonly Record<string, unknown>[];
}

export interface StandInRequest {
  readonly method: string;
  readonly url: string;
  readonly body: string;
}

export async function startProvisioningStandIn(script: {
  readonly snapshots: readonly Snapshot[];
  /** answer DELETE /provisioning with this problem instead (e.g. 409, a provisioning run holds the lock) */
  readonly refuseDelete?: { readonly status: number; readonly detail: string };
  /** GET /stacks answers 404, as a stage that predates the route */
  readonly noStacksRoute?: boolean;
}) {
  const requests: StandInRequest[] = [];
  let started = false;
  let polls = 0;
  /** the snapshot of the run's last GET /provisioning (GET /stacks follows it) */
  const snapshot = (at = polls) => script.snapshots[Math.min(at, script.snapshots.length - 1)] as Snapshot;
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const url = req.url ?? "/";
      requests.push({ method: req.method ?? "", url, body });
      const json = (status: number, value: unknown, type = "application/json") =>
        res.writeHead(status, { "content-type": type }).end(JSON.stringify(value));
      const problem = (status: number, detail: string) =>
        json(status, { type: "about:blank", title: "refused", status, detail }, "application/problem+json");
      if (req.method === "DELETE" && new URL(url, "http://stand-in").pathname === "/provisioning") {
        if (script.refuseDelete) return problem(script.refuseDelete.status, script.refuseDelete.detail);
        started = true;
        return json(202, { runId: DEPROVISION_RUN_ID, status: "accepted" });
      }
      if (req.method === "GET" && url === "/provisioning") {
        if (!started) return problem(404, "no provisioning run yet");
        const answer = snapshot().run;
        polls++;
        return json(200, answer);
      }
      if (req.method === "GET" && url === "/stacks") {
        if (script.noStacksRoute) return problem(404, "there is no route GET /stacks");
        return json(200, { stacks: snapshot(Math.max(polls - 1, 0)).stacks ?? [] });
      }
      return problem(404, `there is no route ${req.method} ${url}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

/** A deprovisioning run as GET /provisioning shows it: its steps, then its end. */
export function deprovisionRun(
  status: "running" | "succeeded" | "failed",
  steps: readonly [string, string, string?][],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    runId: DEPROVISION_RUN_ID,
    trigger: "cli",
    status,
    startedAt: "2026-12-07T01:00:00.000Z",
    ...(status === "running" ? {} : { endedAt: "2026-12-07T01:09:30.000Z", durationMs: 570_000 }),
    steps: steps.map(([name, stepStatus, summary]) => ({
      name,
      status: stepStatus,
      ...(summary ? { summary } : {}),
    })),
    objects: [],
    ...extra,
  };
}

export function stack(
  tool: string,
  status: string | null,
  lastDeploy: Record<string, unknown> | null = null,
) {
  return {
    tool,
    stackName: `tapestry-dev-${tool}`,
    status,
    outputs: {},
    httpOnly: false,
    lastDeploy,
  };
}
