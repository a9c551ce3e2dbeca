import {
  createEvent,
  DETAIL_TYPES,
  EVENT_CATALOG,
  EVENT_SOURCE,
  type EventData,
  parseEvent,
} from "@tapestry/core/events";
import { describe, expect, it } from "vitest";

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** The millisecond time a ULID carries in its first 10 characters. */
const ulidTime = (id: string): number =>
  [...id.slice(0, 10)].reduce((ms, c) => ms * 32 + CROCKFORD.indexOf(c), 0);
const now = new Date("2026-03-01T06:00:00.000Z");
const runId = "rain-shield-20260301T060000Z";

const started: EventData<"PipelineRunStarted"> = {
  runId,
  trigger: { kind: "schedule", scheduledTime: now.toISOString() },
  stages: [{ name: "ingest", steps: [{ name: "zoom", tool: "airbyte" }] }],
};

function zodIssuesOf(run: () => unknown): { path: PropertyKey[]; message: string }[] {
  try {
    run();
  } catch (error) {
    expect(error).toMatchObject({ name: "ZodError" });
    return (error as { issues: { path: PropertyKey[]; message: string }[] }).issues;
  }
  throw new Error("expected a ZodError");
}

describe("createEvent", () => {
  it("wraps the data in the envelope: source, detail-type, ULID id, version, occurredAt, correlationId = runId, pipeline", () => {
    const event = createEvent("PipelineRunStarted", started, { pipeline: "rain-shield", now });
    expect(event).toEqual({
      source: EVENT_SOURCE,
      "detail-type": "PipelineRunStarted",
      detail: {
        metadata: {
          id: expect.stringMatching(ULID),
          version: EVENT_CATALOG.PipelineRunStarted.version,
          occurredAt: "2026-03-01T06:00:00.000Z",
          correlationId: runId,
          pipeline: "rain-shield",
        },
        data: started,
      },
    });
    expect(ulidTime(event.detail.metadata.id)).toBe(now.getTime());
  });

  it("gives every event its own id, increasing within one millisecond", () => {
    const ids = Array.from(
      { length: 50 },
      () => createEvent("PipelineRunStarted", started, { pipeline: "rain-shield", now }).detail.metadata.id,
    );
    expect(new Set(ids).size).toBe(50);
    expect([...ids].sort()).toEqual(ids);
  });

  it("produces events parseEvent accepts unchanged", () => {
    const event = createEvent(
      "StepFailed",
      {
        runId,
        stage: "ingest",
        step: "zoom",
        tool: "airbyte",
        reason: "timeout",
        error: "no answer in 60 minutes",
        endedAt: now.toISOString(),
      },
      { pipeline: "rain-shield", now },
    );
    expect(parseEvent(event)).toEqual(event);
  });

  it("rejects invalid data with a zod error naming the field", () => {
    const issues = zodIssuesOf(() =>
      createEvent(
        "StepSucceeded",
        {
          runId,
          stage: "ingest",
          step: "zoom",
          tool: "airbyte",
          externalId: "1",
          toolStatus: "succeeded",
          rows: -1,
          startedAt: "yesterday",
          endedAt: now.toISOString(),
          durationMs: 1,
        },
        { pipeline: "rain-shield", now },
      ),
    );
    expect(issues.map((i) => i.path.join("."))).toEqual(expect.arrayContaining(["rows", "startedAt"]));
  });

  it("rejects a tool that is not one of the three", () => {
    const issues = zodIssuesOf(() =>
      createEvent(
        "PipelineRunStarted",
        { ...started, stages: [{ name: "ingest", steps: [{ name: "x", tool: "fivetran" as "airbyte" }] }] },
        { pipeline: "rain-shield", now },
      ),
    );
    expect(issues.map((i) => i.path.join("."))).toEqual(["stages.0.steps.0.tool"]);
  });
});

describe("parseEvent", () => {
  const event = createEvent("PipelineRunStarted", started, { pipeline: "rain-shield", now });

  it("rejects an unknown detail-type, a version the catalog does not have, and a malformed id", () => {
    expect(() => parseEvent({ ...event, "detail-type": "PipelineRunExploded" })).toThrow();
    const withMetadata = (metadata: object) => ({
      ...event,
      detail: { ...event.detail, metadata: { ...event.detail.metadata, ...metadata } },
    });
    expect(zodIssuesOf(() => parseEvent(withMetadata({ version: 2 })))[0]?.path).toEqual([
      "detail",
      "metadata",
      "version",
    ]);
    expect(zodIssuesOf(() => parseEvent(withMetadata({ id: "not-a-ulid" })))[0]?.path).toEqual([
      "detail",
      "metadata",
      "id",
    ]);
  });

  it("knows every detail-type of the catalog", () => {
    expect(DETAIL_TYPES).toEqual([
      "PipelineRunStarted",
      "StepStarted",
      "StepSucceeded",
      "StepFailed",
      "PipelineRunSucceeded",
      "PipelineRunFailed",
      "PipelineRunSkipped",
      "PipelineRunQueued",
      "PipelineRunCancelRequested",
      "PipelineRunCancelled",
      "ProvisioningStarted",
      "WarehouseBootstrapped",
      "ToolConfigured",
      "ProvisioningSucceeded",
      "ProvisioningFailed",
      "StackDeployStarted",
      "StackDeployed",
      "StackDeployFailed",
      "StackDeleted",
      "DeprovisioningStarted",
      "DeprovisioningSucceeded",
      "DeprovisioningFailed",
      "ThresholdBreached",
      "ThresholdRecovered",
    ]);
  });
});
