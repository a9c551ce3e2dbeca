import { parseConfig } from "@tapestry/core";
import type { DbtCloudStep, StepSpec } from "@tapestry/core/config";
import { LedgerUnavailableError, SecretNotSetError } from "@tapestry/core/errors";
import type { Job, PollStepInput } from "@tapestry/core/pipeline";
import { hmacSignature, type TaskTokenStore } from "@tapestry/core/webhooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWebhookApiHandler } from "../../functions/webhooks/webhook-api";
import { type ApiServer, startApiServer } from "../../packages/local/src/api-server";
import { SqliteTaskTokenStore } from "../../packages/local/src/ledger";
import kickstart from "../../tapestry.config";

/**
 * The webhook routes over real HTTP on loopback (the local API server, the handler the webhook
 * Lambda runs), with a real token store and stand-ins for the tool and Step Functions.
 */

const CONFIG = parseConfig(structuredClone(kickstart));
const DBT_STEP = CONFIG.pipelines[0]?.stages[1]?.steps[0] as DbtCloudStep;
const URL_SECRET = "u9Lw2XqT7zR4bN8cK1mV5yH3";
const HMAC_KEY = "4f1c9e2a7b6d8e0f3a5c7b9d1e2f4a6c";
const NOW = new Date("2026-11-21T11:00:00.000Z");
const RUN_ID = "rain-shield-audience-20261121T110000Z";

const JOB: Job = {
  externalId: "70000042",
  url: null,
  attached: false,
  startedAt: NOW.toISOString(),
  deadline: new Date(NOW.getTime() + 1_800_000).toISOString(),
  state: "running",
  toolStatus: null,
  completion: "webhook",
  waitSeconds: 300,
  rows: null,
  bytes: null,
  reason: null,
  error: null,
};

interface Rig {
  readonly server: ApiServer;
  readonly tokens: SqliteTaskTokenStore;
  readonly sent: { token: string; output: Job }[];
  readonly polls: string[];
  readonly logs: string[];
  /** every signature the rig's dbt Cloud deliveries carried */
  readonly signatures: string[];
  post(
    path: string,
    body: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; text: string }>;
  /** a dbt Cloud delivery for `runId`, signed with `key` */
  dbt(runId: string, key?: string, statusCode?: number): Promise<{ status: number; text: string }>;
  waitFor(externalId: string, token: string): Promise<void>;
}

let rig: Rig;
const closers: (() => Promise<void> | void)[] = [];

async function startRig(
  options: { tokens?: TaskTokenStore; secrets?: (name: string) => Promise<string> } = {},
): Promise<Rig> {
  const tokens = SqliteTaskTokenStore.open(":memory:");
  const sent: Rig["sent"] = [];
  const polls: string[] = [];
  const logs: string[] = [];
  const signatures: string[] = [];
  const log = (level: string) => (message: string, attributes?: Record<string, unknown>) =>
    logs.push(`${level} ${message} ${JSON.stringify(attributes ?? {})}`);
  const logger = { debug: log("DEBUG"), info: log("INFO"), warn: log("WARN"), error: log("ERROR") };
  const secrets =
    options.secrets ??
    (async (name: string) => {
      if (name === "AIRBYTE_WEBHOOK_SECRET") return URL_SECRET;
      if (name === "DBT_CLOUD_WEBHOOK_SECRET") return HMAC_KEY;
      throw new SecretNotSetError(name, "test");
    });
  const handler = createWebhookApiHandler({
    pipeline: {
      connectors: {
        start: async () => Promise.reject(new Error("no start here")),
        poll: async (_step: StepSpec, externalId: string) => {
          polls.push(externalId);
          return { state: "succeeded", toolStatus: "10", rows: 58 };
        },
        cancel: async () => Promise.reject(new Error("no cancel here")),
      },
      publisher: { publish: async () => undefined },
      now: () => NOW,
      logger,
    },
    tokens: options.tokens ?? tokens,
    tasks: {
      sendTaskSuccess: async (token, output) => {
        const first = !sent.some((s) => s.token === token);
        sent.push({ token, output: output as Job });
        return first ? "sent" : "closed";
      },
    },
    tools: CONFIG.tools,
    secrets,
    logger,
  });
  const server = await startApiServer({ handler, port: 0 });
  closers.push(
    () => server.close(),
    () => tokens.close(),
  );
  const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    return { status: response.status, text: await response.text() };
  };
  return {
    server,
    tokens,
    sent,
    polls,
    logs,
    signatures,
    post,
    dbt: (runId, key = HMAC_KEY, statusCode = 10) => {
      const body = JSON.stringify({
        accountId: 70403,
        eventId: `wev_${runId}`,
        eventType: "job.run.completed",
        data: { jobId: "112233", runId, runStatusCode: statusCode, runStatus: "Success" },
      });
      const authorization = hmacSignature(Buffer.from(body), key);
      signatures.push(authorization);
      return post("/webhooks/dbt-cloud", body, { authorization });
    },
    waitFor: async (externalId, token) => {
      const input: PollStepInput = {
        runId: RUN_ID,
        pipeline: "rain-shield-audience",
        stage: "transform",
        step: DBT_STEP,
        job: { ...JOB, externalId },
      };
      await tokens.register(
        { tool: "dbt-cloud", externalId },
        {
          token,
          input: JSON.stringify(input),
          now: NOW.toISOString(),
          expiresAt: new Date(NOW.getTime() + 300_000).toISOString(),
        },
      );
    },
  };
}

beforeEach(async () => {
  rig = await startRig();
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const record = (tokens: TaskTokenStore, externalId: string) =>
  tokens.recordDelivery({ tool: "dbt-cloud", externalId }, "2026-11-21T12:00:00.000Z");

describe("POST /webhooks/dbt-cloud and /webhooks/airbyte/{secret}", () => {
  it("completes the waiting step with the confirming poll's result, and answers 202 with no body", async () => {
    await rig.waitFor("70000042", "token-1");
    expect(await rig.dbt("70000042")).toEqual({ status: 202, text: "" });
    expect(rig.polls).toEqual(["70000042"]);
    expect(rig.sent).toEqual([
      { token: "token-1", output: expect.objectContaining({ state: "succeeded", rows: 58 }) },
    ]);
  });

  it("records a webhook for a job no step waits on, answers the same 202, and touches nothing else", async () => {
    expect(await rig.dbt("70000099")).toEqual({ status: 202, text: "" });
    expect(rig.polls).toEqual([]);
    expect(rig.sent).toEqual([]);
    expect((await record(rig.tokens, "70000099")).deliveries).toBe(2);
    expect(rig.logs.join("\n")).toMatch(/webhook received .*"outcome":"recorded".*"externalId":"70000099"/);
  });

  it("takes a replayed delivery with the same 202 and completes nothing twice", async () => {
    await rig.waitFor("70000042", "token-1");
    const replies = [await rig.dbt("70000042"), await rig.dbt("70000042"), await rig.dbt("70000042")];
    expect(replies).toEqual(Array(3).fill({ status: 202, text: "" }));
    expect(rig.polls).toEqual(["70000042"]);
    expect(rig.sent.map((s) => s.token)).toEqual(["token-1"]);
    expect(rig.logs.filter((line) => line.includes('"outcome":"already-completed"'))).toHaveLength(2);
  });

  it("refuses a body over 64 KiB with 413, before reading it, and records nothing", async () => {
    const big = JSON.stringify({
      eventType: "job.run.completed",
      data: { runId: "70000042" },
      pad: "x".repeat(64 * 1024),
    });
    await rig.waitFor("70000042", "token-1");
    const reply = await rig.post("/webhooks/dbt-cloud", big, {
      authorization: hmacSignature(Buffer.from(big), HMAC_KEY),
    });
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.text)).toMatchObject({ status: 413, instance: "/webhooks/dbt-cloud" });
    expect((await record(rig.tokens, "70000042")).deliveries).toBe(1);
    expect(rig.sent).toEqual([]);
  });

  it("refuses a wrong signature, a missing one and a wrong URL secret with one fixed 401, recording nothing", async () => {
    await rig.waitFor("70000042", "token-1");
    const body = JSON.stringify({ eventType: "job.run.completed", data: { runId: "70000042" } });
    const replies = [
      await rig.dbt("70000042", "not-the-key"),
      await rig.post("/webhooks/dbt-cloud", body),
      await rig.post(`/webhooks/airbyte/${URL_SECRET.slice(0, -1)}x`, JSON.stringify({ data: { jobId: 1 } })),
    ];
    for (const reply of replies) {
      expect(reply.status).toBe(401);
      expect(JSON.parse(reply.text)).toMatchObject({
        type: "urn:tapestry:problem:webhook-unauthorized",
        detail: "the webhook could not be authenticated",
      });
    }
    expect(new Set(replies.map((r) => JSON.parse(r.text).instance))).toEqual(
      new Set(["/webhooks/dbt-cloud", "/webhooks/airbyte/{secret}"]),
    );
    expect((await record(rig.tokens, "70000042")).deliveries).toBe(1);
    expect(rig.sent).toEqual([]);
  });

  it("answers 400 to an authentic body that is not JSON, 415 to a body that is not typed JSON, 405 to another method", async () => {
    const text = "not json";
    expect(
      (
        await rig.post("/webhooks/dbt-cloud", text, {
          authorization: hmacSignature(Buffer.from(text), HMAC_KEY),
        })
      ).status,
    ).toBe(400);
    expect((await rig.post("/webhooks/dbt-cloud", "{}", { "content-type": "text/plain" })).status).toBe(415);
    const get = await fetch(`${rig.server.url}/webhooks/airbyte/${URL_SECRET}`);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect(await get.text()).not.toContain(URL_SECRET);
  });

  it("ignores what ends no job (a run that started, Airbyte's test message) with the same 202", async () => {
    const started = JSON.stringify({ eventType: "job.run.started", data: { runId: "70000042" } });
    expect(
      (
        await rig.post("/webhooks/dbt-cloud", started, {
          authorization: hmacSignature(Buffer.from(started), HMAC_KEY),
        })
      ).status,
    ).toBe(202);
    expect(
      (await rig.post(`/webhooks/airbyte/${URL_SECRET}`, JSON.stringify({ text: "Hello World!" }))).status,
    ).toBe(202);
    expect(rig.polls).toEqual([]);
  });

  it("refuses every webhook of a tool whose secret is not set, and logs which secret to set", async () => {
    const reply = await rig.post(`/webhooks/airbyte/${URL_SECRET}`, JSON.stringify({ data: { jobId: 1 } }));
    expect(reply.status).toBe(202);
    const unset = await startRig({
      secrets: async (name) => Promise.reject(new SecretNotSetError(name, "prod")),
    });
    expect(
      (await unset.post(`/webhooks/airbyte/${URL_SECRET}`, JSON.stringify({ data: { jobId: 1 } }))).status,
    ).toBe(401);
    expect(unset.logs.join("\n")).toMatch(
      /ERROR a webhook was refused: its secret is not set .*AIRBYTE_WEBHOOK_SECRET/,
    );
  });

  it("answers 503 when the delivery cannot be recorded for now, so that the tool delivers it again", async () => {
    const failing = await startRig({
      tokens: {
        register: async () => undefined,
        recordDelivery: async () => Promise.reject(new LedgerUnavailableError("throttled")),
        claim: async () => false,
        release: async () => undefined,
        complete: async () => undefined,
      },
    });
    const reply = await failing.dbt("70000042");
    expect(reply.status).toBe(503);
    expect(JSON.parse(reply.text).detail).toBe(
      "the webhook could not be recorded for now: deliver it again later",
    );
  });

  it("never shows a secret, a signature or the path's secret in an answer or a log line", async () => {
    await rig.waitFor("70000042", "token-1");
    const bodies: string[] = [];
    const airbyte = JSON.stringify({ data: { jobId: 5, success: true } });
    bodies.push((await rig.post(`/webhooks/airbyte/${URL_SECRET}`, airbyte)).text);
    bodies.push((await rig.post(`/webhooks/airbyte/${URL_SECRET}`, "not json")).text);
    bodies.push(
      (await rig.post(`/webhooks/airbyte/${URL_SECRET}`, "{}", { "content-type": "text/plain" })).text,
    );
    bodies.push((await rig.post(`/webhooks/airbyte/${URL_SECRET}x`, airbyte)).text);
    bodies.push((await rig.dbt("70000042")).text);
    bodies.push((await rig.dbt("70000042", "wrong")).text);
    bodies.push((await rig.post("/webhooks/dbt-cloud", "x".repeat(70_000))).text);
    const everything = [...bodies, ...rig.logs].join("\n");
    expect(rig.logs.length).toBeGreaterThan(5);
    expect(rig.signatures).toHaveLength(2);
    for (const secret of [URL_SECRET, HMAC_KEY, ...rig.signatures, "token-1"]) {
      expect(everything).not.toContain(secret);
    }
  });
});
