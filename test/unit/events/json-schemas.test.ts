import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  createEvent,
  DETAIL_TYPES,
  type DetailType,
  EVENT_CATALOG,
  EVENT_DOCS,
  eventJsonSchemas,
  eventSchemaFileName,
  eventSchemaId,
  type TapestryEvent,
} from "@tapestry/core/events";
import { Ajv2020 } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { EVENT_DOCS_DIR, renderEventDocs } from "../../../scripts/generate-event-schemas";
import { failedRunIncident } from "../../alerts/alert-events";
import {
  cancelledQueuedRun,
  failedRun,
  PIPELINE,
  skippedRun,
  successfulRun,
  T0,
} from "../../ledger/run-events";
import { provisioningRunEvents } from "../../provisioning/provisioning-events";

const FIX =
  "docs/events is out of date with the event catalog: run `npm run events:schemas` and commit the result";

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
for (const schema of Object.values(eventJsonSchemas())) ajv.addSchema(schema);

function validatorFor(type: DetailType) {
  const validate = ajv.getSchema(eventSchemaId(type));
  if (!validate) throw new Error(`no schema for ${type}`);
  return validate;
}

const realEvents: TapestryEvent[] = [
  ...successfulRun(PIPELINE, new Date(T0)).events,
  ...failedRun(PIPELINE, new Date(T0 + 3_600_000)).events,
  ...skippedRun(PIPELINE, new Date(T0 + 7_200_000), "rain-shield-20260301T060000Z").events,
  ...cancelledQueuedRun(PIPELINE, new Date(T0 + 10_800_000), "rain-shield-20260301T060000Z").events,
  ...provisioningRunEvents(new Date(T0)),
  ...Object.values(failedRunIncident(PIPELINE, new Date(T0 + 14_400_000))),
  ...toolStackEvents(new Date(T0)),
];

/** A self-hosted Airbyte's stack deployed, a Grouparoo's failed, then a teardown (issue 11). */
function toolStackEvents(now: Date): TapestryEvent[] {
  const runId = "provision-01M7YX2KPAGR0A6P46956VKQW9";
  const airbyte = { runId, tool: "airbyte" as const, stackName: "tapestry-test-airbyte" };
  return [
    createEvent("StackDeployStarted", { ...airbyte, action: "create" }, { now }),
    createEvent(
      "StackDeployed",
      {
        ...airbyte,
        outputs: { Url: "https://airbyte.rain-shield.example", HttpOnly: "false" },
        resourcesCreated: 31,
        resourcesUpdated: 0,
        noChanges: false,
        httpOnly: false,
      },
      { now },
    ),
    createEvent(
      "StackDeployFailed",
      {
        runId,
        tool: "grouparoo",
        stackName: "tapestry-test-grouparoo",
        resource: "Database (AWS::RDS::DBInstance) CREATE_FAILED",
        reason: "storage too small",
        status: "ROLLBACK_COMPLETE",
      },
      { now },
    ),
    createEvent(
      "DeprovisioningStarted",
      { runId, trigger: "api", stacks: [airbyte.stackName], purge: false },
      { now },
    ),
    createEvent("StackDeleted", airbyte, { now }),
    createEvent(
      "DeprovisioningSucceeded",
      {
        runId,
        remains: [
          { kind: "bucket", name: "tapestry-test-airbyte-bucket", why: "sync state", remove: "aws s3 rb" },
        ],
        purged: [],
        endedAt: now.toISOString(),
      },
      { now },
    ),
    createEvent(
      "DeprovisioningFailed",
      {
        runId,
        step: "delete-airbyte-stack",
        errorName: "ToolStackStuckError",
        error: "DELETE_FAILED",
        endedAt: now.toISOString(),
      },
      { now },
    ),
  ];
}

describe("the event JSON Schemas", () => {
  it("are one per detail-type, named <DetailType>.v<version>.json, with $id, title and description", () => {
    const schemas = eventJsonSchemas();
    expect(Object.keys(schemas).sort()).toEqual(
      DETAIL_TYPES.map((t) => `${t}.v${EVENT_CATALOG[t].version}.json`).sort(),
    );
    for (const type of DETAIL_TYPES) {
      expect(schemas[eventSchemaFileName(type)]).toMatchObject({
        $schema: "https://json-schema.org/draft/2020-12/schema",
        $id: expect.stringContaining(type),
        title: `${type} v${EVENT_CATALOG[type].version}`,
        description: expect.stringContaining(EVENT_DOCS[type].summary),
      });
    }
  });

  it("document key data fields that exist", () => {
    for (const type of DETAIL_TYPES) {
      const fields = Object.keys(EVENT_CATALOG[type].data.shape);
      expect(fields, type).toEqual(expect.arrayContaining([...EVENT_DOCS[type].keyFields]));
    }
  });

  it("are committed in docs/events exactly as generated", () => {
    const expected = renderEventDocs();
    const committed = readdirSync(EVENT_DOCS_DIR).filter(
      (name) => name.endsWith(".json") || name === "README.md",
    );
    expect(committed.sort(), FIX).toEqual([...expected.keys()].sort());
    for (const [name, content] of expected) {
      expect(readFileSync(join(EVENT_DOCS_DIR, name), "utf8"), `${name}: ${FIX}`).toBe(content);
    }
  });

  it("accept every event createEvent makes (every detail-type)", () => {
    expect(new Set(realEvents.map((e) => e["detail-type"]))).toEqual(new Set(DETAIL_TYPES));
    for (const event of realEvents) {
      const validate = validatorFor(event["detail-type"]);
      expect(validate(JSON.parse(JSON.stringify(event))), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it("accept a field added within the version (a minor change), as the catalog promises", () => {
    const [event] = realEvents;
    if (!event) throw new Error("no events");
    const validate = validatorFor(event["detail-type"]);
    expect(
      validate({ ...event, detail: { ...event.detail, data: { ...event.detail.data, newField: 1 } } }),
    ).toBe(true);
  });

  it("reject broken events: a missing field, a wrong type, a bad time, another version, another detail-type", () => {
    const event = createEvent(
      "StepSucceeded",
      {
        runId: "rain-shield-20260301T060000Z",
        stage: "ingest",
        step: "zoom",
        tool: "airbyte",
        externalId: "1",
        toolStatus: "succeeded",
        rows: 5,
        startedAt: "2026-03-01T06:00:00.000Z",
        endedAt: "2026-03-01T06:01:00.000Z",
        durationMs: 60_000,
      },
      { pipeline: PIPELINE, now: new Date(T0) },
    );
    const validate = validatorFor("StepSucceeded");
    expect(validate(event)).toBe(true);
    const { durationMs: _, ...withoutDuration } = event.detail.data;
    const broken: Record<string, unknown> = {
      "missing durationMs": { ...event, detail: { ...event.detail, data: withoutDuration } },
      "rows as text": { ...event, detail: { ...event.detail, data: { ...event.detail.data, rows: "5" } } },
      "negative bytes": { ...event, detail: { ...event.detail, data: { ...event.detail.data, bytes: -1 } } },
      "endedAt not a time": {
        ...event,
        detail: { ...event.detail, data: { ...event.detail.data, endedAt: "a minute later" } },
      },
      "unknown tool": {
        ...event,
        detail: { ...event.detail, data: { ...event.detail.data, tool: "fivetran" } },
      },
      "version 2": {
        ...event,
        detail: { ...event.detail, metadata: { ...event.detail.metadata, version: 2 } },
      },
      "id not a ULID": {
        ...event,
        detail: { ...event.detail, metadata: { ...event.detail.metadata, id: "abc" } },
      },
      "another detail-type": { ...event, "detail-type": "StepFailed" },
      "another source": { ...event, source: "aws.events" },
      "no metadata": { ...event, detail: { data: event.detail.data } },
    };
    for (const [what, candidate] of Object.entries(broken)) {
      expect(validate(candidate), what).toBe(false);
    }
  });
});
