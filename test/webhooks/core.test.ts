import { parseConfig, silentLogger, ToolUnavailableError } from "@tapestry/core";
import type { DbtCloudStep } from "@tapestry/core/config";
import { awaitWebhook, type Job } from "@tapestry/core/pipeline";
import {
  type CompletionDeps,
  completeWaitingStep,
  hmacSignature,
  readWebhook,
  receiveWebhook,
  signatureMatches,
} from "@tapestry/core/webhooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteTaskTokenStore } from "../../packages/local/src/ledger";
import kickstart from "../../tapestry.config";

const CONFIG = parseConfig(structuredClone(kickstart));
const STEP = CONFIG.pipelines[0]?.stages[1]?.steps[0] as DbtCloudStep;
const KEY = "0a1b2c3d4e5f";
const T0 = Date.parse("2026-11-21T11:00:00.000Z");

describe("reading the tools' webhooks", () => {
  it("takes the job a dbt Cloud run event ends, and what it claims; ignores a start", () => {
    expect(
      readWebhook("dbt-cloud", {
        eventType: "job.run.completed",
        eventId: "wev_1",
        data: { runId: "70000042", runStatusCode: 20 },
      }),
    ).toEqual({
      kind: "job-ended",
      job: { tool: "dbt-cloud", externalId: "70000042" },
      claim: "failed",
      eventId: "wev_1",
    });
    expect(readWebhook("dbt-cloud", { eventType: "job.run.errored", data: { runId: 7 } })).toMatchObject({
      claim: "failed",
    });
    expect(readWebhook("dbt-cloud", { eventType: "job.run.started", data: { runId: "7" } })).toEqual({
      kind: "ignored",
      reason: "event job.run.started does not end a run",
    });
  });

  it("takes an Airbyte sync notification's job (Slack text beside it), and ignores the Test button's text", () => {
    expect(
      readWebhook("airbyte", {
        text: "Your sync succeeded",
        data: { jobId: 9988, success: true, connection: { id: "c" } },
      }),
    ).toEqual({
      kind: "job-ended",
      job: { tool: "airbyte", externalId: "9988" },
      claim: "succeeded",
    });
    expect(readWebhook("airbyte", { text: "Hello World! This is a test" })).toMatchObject({
      kind: "ignored",
    });
    expect(readWebhook("airbyte", { data: { jobId: "not-a-number" } })).toMatchObject({ kind: "ignored" });
  });

  it("checks dbt Cloud's signature over the raw bytes, in any hex case, and nothing else", () => {
    const body = Buffer.from('{"a": 1}');
    const signature = hmacSignature(body, KEY);
    expect(signatureMatches(body, signature, KEY)).toBe(true);
    expect(signatureMatches(body, ` ${signature.toUpperCase()} `, KEY)).toBe(true);
    expect(signatureMatches(Buffer.from('{"a":1}'), signature, KEY)).toBe(false);
    expect(signatureMatches(body, signature.slice(0, -1), KEY)).toBe(false);
    expect(signatureMatches(body, undefined, KEY)).toBe(false);
    expect(signatureMatches(body, signature, "")).toBe(false);
  });
});

describe("a webhook racing its step's wait", () => {
  let tokens: SqliteTaskTokenStore;
  let clock: number;
  let polls: number;
  let sent: string[];
  let pollFails: boolean;
  const deps = (): CompletionDeps & {
    tools: typeof CONFIG.tools;
    secrets: (name: string) => Promise<string>;
  } => ({
    pipeline: {
      connectors: {
        start: async () => Promise.reject(new Error("no start")),
        poll: async () => {
          polls += 1;
          if (pollFails) throw new ToolUnavailableError("dbt-cloud", "503", { ambiguous: false });
          return { state: "succeeded", toolStatus: "10", rows: 3 };
        },
        cancel: async () => Promise.reject(new Error("no cancel")),
      },
      publisher: { publish: async () => undefined },
      now: () => new Date(clock),
      logger: silentLogger,
    },
    tokens,
    tasks: {
      sendTaskSuccess: async (token) => {
        sent.push(token);
        return "sent";
      },
    },
    tools: CONFIG.tools,
    secrets: async () => KEY,
  });
  const job: Job = {
    externalId: "70000042",
    url: null,
    attached: false,
    startedAt: new Date(T0).toISOString(),
    deadline: new Date(T0 + 3_600_000).toISOString(),
    state: "running",
    toolStatus: null,
    completion: "webhook",
    waitSeconds: 300,
    rows: null,
    bytes: null,
    reason: null,
    error: null,
  };
  const wait = (taskToken: string) =>
    awaitWebhook(
      {
        runId: "rain-shield-audience-20261121T110000Z",
        pipeline: "rain-shield-audience",
        stage: "transform",
        step: STEP,
        job,
        taskToken,
      },
      deps(),
      { deadline: clock + 60_000 },
    );
  const deliver = () => {
    const body = Buffer.from(
      JSON.stringify({ eventType: "job.run.completed", data: { runId: "70000042", runStatusCode: 10 } }),
    );
    return receiveWebhook({ tool: "dbt-cloud", body, authorization: hmacSignature(body, KEY) }, deps(), {
      deadline: clock + 6_000,
    });
  };

  beforeEach(() => {
    tokens = SqliteTaskTokenStore.open(":memory:");
    clock = T0;
    polls = 0;
    sent = [];
    pollFails = false;
  });
  afterEach(() => tokens.close());

  it("after the wait timed out: kept, and the next registration completes at once", async () => {
    await wait("token-1");
    clock = T0 + 310_000; // token-1's wait ended at 300 s: its fallback poll is under way
    expect(await deliver()).toMatchObject({ outcome: "recorded", deliveries: 1 });
    expect(polls).toBe(0);
    clock = T0 + 312_000; // the fallback poll saw the job still running: the step waits again
    expect(await wait("token-2")).toEqual({ completedAtOnce: "completed" });
    expect(sent).toEqual(["token-2"]);
  });

  it("acts on a webhook once: a registration after one it already completed does not poll again", async () => {
    await wait("token-1");
    expect(await deliver()).toMatchObject({ outcome: "completed" });
    clock = T0 + 1_000;
    expect(await wait("token-2")).toEqual({ completedAtOnce: null });
    expect(polls).toBe(1);
  });

  it("gives the claim back when the confirming poll fails, so a later delivery completes the step", async () => {
    await wait("token-1");
    pollFails = true;
    expect(await deliver()).toMatchObject({ outcome: "poll-failed" });
    pollFails = false;
    expect(await deliver()).toMatchObject({ outcome: "completed", deliveries: 2 });
    expect(sent).toEqual(["token-1"]);
  });

  it("never completes a token another completer holds", async () => {
    await wait("token-1");
    await tokens.claim(
      { tool: "dbt-cloud", externalId: "70000042" },
      "token-1",
      new Date(T0).toISOString(),
      new Date(T0 + 60_000).toISOString(),
    );
    const outcome = await completeWaitingStep(
      { tool: "dbt-cloud", externalId: "70000042" },
      { token: "token-1", input: { runId: "r", pipeline: "p", stage: "s", step: STEP, job } },
      deps(),
      { deadline: T0 + 6_000 },
    );
    expect(outcome).toBe("claimed-elsewhere");
    expect(polls).toBe(0);
  });
});
