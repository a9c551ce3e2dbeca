import { createEvent } from "@tapestry/core/events";
import { formatEvent } from "@tapestry/local";
import { describe, expect, it } from "vitest";
import { listedEventSchema, runDetailSchema } from "../../../packages/cli/src/status-api/answers";
import { eventLine, runVerdict } from "../../../packages/cli/src/status-api/format";

const NOW = new Date("2026-12-06T10:15:30Z");
const RUN = "rain-shield-audience-m01JD3Q6ZC7V8Y1XK2N4P5R6S7T";

describe("the lines of tapestry logs", () => {
  it("an event of the catalog: the line tapestry local prints", () => {
    const event = createEvent(
      "StepFailed",
      {
        runId: RUN,
        stage: "transform",
        step: "email-model",
        tool: "dbt-cloud",
        externalId: "70",
        reason: "failed",
        error: "relation raw.zoom does not exist",
        startedAt: NOW.toISOString(),
        endedAt: NOW.toISOString(),
        durationMs: 1000,
      },
      { pipeline: "rain-shield-audience", now: NOW },
    );
    const listed = listedEventSchema.parse(JSON.parse(JSON.stringify(event)));
    expect(eventLine(listed, false)).toBe(formatEvent(event, { color: false }));
  });

  it("an event this CLI does not know (a newer API): its time, pipeline and type, not a failure", () => {
    const listed = listedEventSchema.parse({
      source: "tapestry.pipeline",
      "detail-type": "ThresholdBreached",
      detail: {
        metadata: {
          id: "01JD3Q",
          version: 1,
          occurredAt: NOW.toISOString(),
          pipeline: "rain-shield-audience",
        },
        data: { metric: "RowsSynced" },
      },
    });
    expect(eventLine(listed, false)).toBe("10:15:30 rain-shield-audience ThresholdBreached");
  });
});

describe("the end of tapestry run --wait", () => {
  it("a failed run: each failed step with its error and its job's link", () => {
    const run = runDetailSchema.parse({
      runId: RUN,
      pipeline: "rain-shield-audience",
      status: "failed",
      error: "step transform/email-model failed",
      steps: [
        { stage: "ingest", step: "zoom-webinar-registrants", tool: "airbyte", status: "succeeded", rows: 40 },
        {
          stage: "transform",
          step: "email-model",
          tool: "dbt-cloud",
          status: "failed",
          error: "relation raw.zoom does not exist",
          link: "https://cloud.getdbt.com/deploy/1/projects/2/runs/70",
        },
      ],
    });
    expect(runVerdict(run, false)).toEqual([
      `run ${RUN} failed: step transform/email-model failed`,
      "  transform/email-model (dbt-cloud) failed: relation raw.zoom does not exist (https://cloud.getdbt.com/deploy/1/projects/2/runs/70)",
    ]);
  });
});
