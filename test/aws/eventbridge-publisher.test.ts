import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from "@aws-sdk/client-eventbridge";
import { EventBridgePublisher } from "@tapestry/core/adapters/aws";
import { EventPublishError } from "@tapestry/core/errors";
import { createEvent, type TapestryEvent } from "@tapestry/core/events";
import { scheduledRunId } from "@tapestry/core/pipeline";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";

const eventBridge = mockClient(EventBridgeClient);
const BUS = "tapestry-test";
const START = new Date("2026-03-02T06:00:00.000Z");
const RUN_ID = scheduledRunId("rain-shield-audience", START);

function stepFailed(i: number, error = `zoom sync ${i} failed: canary-detail-7f3a`): TapestryEvent {
  return createEvent(
    "StepFailed",
    {
      runId: RUN_ID,
      stage: "ingest",
      step: `step-${i}`,
      tool: "airbyte",
      reason: "failed",
      error,
      endedAt: new Date(START.getTime() + i * 1000).toISOString(),
    },
    { pipeline: "rain-shield-audience", now: new Date(START.getTime() + i * 1000) },
  );
}

const events = (n: number) => Array.from({ length: n }, (_, i) => stepFailed(i));

function publisher(maxAttempts = 3) {
  const sleeps: number[] = [];
  const published = new EventBridgePublisher({
    client: new EventBridgeClient({ region: "us-east-1" }),
    eventBusName: BUS,
    maxAttempts,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
  });
  return { publisher: published, sleeps };
}

const sentEntries = () =>
  eventBridge
    .commandCalls(PutEventsCommand)
    .map((call) => (call.args[0].input as PutEventsCommandInput).Entries ?? []);

beforeEach(() => {
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({
    FailedEntryCount: 0,
    Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `eb-${i}` })),
  }));
});

afterAll(() => eventBridge.restore());

describe("EventBridgePublisher", () => {
  it("puts each event on the bus with its source, detail-type, detail and time", async () => {
    const [event] = events(1) as [TapestryEvent];
    await publisher().publisher.publish([event]);
    expect(sentEntries()).toEqual([
      [
        {
          EventBusName: BUS,
          Source: "tapestry.pipeline",
          DetailType: "StepFailed",
          Detail: JSON.stringify(event.detail),
          Time: new Date(event.detail.metadata.occurredAt),
        },
      ],
    ]);
  });

  it("sends 25 events as 3 PutEvents calls of at most 10 entries, in order", async () => {
    const batch = events(25);
    await publisher().publisher.publish(batch);
    const sent = sentEntries();
    expect(sent.map((entries) => entries.length)).toEqual([10, 10, 5]);
    const ids = sent.flat().map((entry) => JSON.parse(entry.Detail ?? "{}").metadata.id);
    expect(ids).toEqual(batch.map((e) => e.detail.metadata.id));
  });

  it("keeps each request under PutEvents' 256 KiB: big events go fewer to a call", async () => {
    const big = Array.from({ length: 5 }, (_, i) => stepFailed(i, "x".repeat(100 * 1024)));
    await publisher().publisher.publish(big);
    expect(sentEntries().map((entries) => entries.length)).toEqual([2, 2, 1]);
  });

  it("does nothing for no events", async () => {
    await publisher().publisher.publish([]);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it("sends again only the entries that failed, after a pause", async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [
          { EventId: "eb-0" },
          { ErrorCode: "ThrottlingException", ErrorMessage: "Rate exceeded" },
          { EventId: "eb-2" },
        ],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: "eb-1" }] });
    const batch = events(3);
    const { publisher: p, sleeps } = publisher();
    await p.publish(batch);
    const sent = sentEntries();
    expect(sent.map((entries) => entries.length)).toEqual([3, 1]);
    expect(JSON.parse(sent[1]?.[0]?.Detail ?? "{}").metadata.id).toBe(batch[1]?.detail.metadata.id);
    expect(sleeps).toHaveLength(1);
  });

  it("gives up after its attempts with an EventPublishError naming the codes and the events, never their detail", async () => {
    const batch = events(2);
    const doomed = batch[1]?.detail.metadata.id;
    // The bus keeps failing the second event, whichever request it comes in.
    eventBridge.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
      const entries = (input.Entries ?? []).map((entry, i) =>
        JSON.parse(entry.Detail ?? "{}").metadata.id === doomed
          ? { ErrorCode: "InternalFailure", ErrorMessage: "Internal failure" }
          : { EventId: `eb-${i}` },
      );
      return { FailedEntryCount: entries.filter((e) => "ErrorCode" in e).length, Entries: entries };
    });
    const { publisher: p, sleeps } = publisher(3);
    const error = await p.publish(batch).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EventPublishError);
    const failure = error as EventPublishError;
    expect(failure.name).toBe("EventPublishError");
    expect(failure.message).toContain("InternalFailure");
    expect(failure.message).toContain(BUS);
    expect(failure.message).toContain(`StepFailed ${batch[1]?.detail.metadata.id}`);
    expect(failure.message).not.toContain("canary-detail-7f3a");
    expect(failure.failures).toEqual([
      { id: batch[1]?.detail.metadata.id, detailType: "StepFailed", errorCode: "InternalFailure" },
    ]);
    // 3 attempts: the batch, then the failed entry twice
    expect(sentEntries().map((entries) => entries.length)).toEqual([2, 1, 1]);
    expect(sleeps).toHaveLength(2);
  });

  it("refuses an event over 256 KiB before sending anything", async () => {
    const tooBig = stepFailed(1, "y".repeat(260 * 1024));
    const error = await publisher()
      .publisher.publish([stepFailed(0), tooBig])
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(EventPublishError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `StepFailed ${tooBig.detail.metadata.id} is \\d+ bytes, over EventBridge's limit of 262144 bytes`,
      ),
    );
    expect((error as Error).message).not.toContain("yyyy");
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it("lets a whole-request failure through (the SDK client has retried it already)", async () => {
    eventBridge
      .on(PutEventsCommand)
      .rejects(Object.assign(new Error("bus not found"), { name: "ResourceNotFoundException" }));
    await expect(publisher().publisher.publish(events(1))).rejects.toThrow("bus not found");
  });
});
