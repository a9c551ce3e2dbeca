import { createEvent, type EventOf } from "@tapestry/core/events";

/** A breach and its recovery as the alert service publishes them: one incident of a failed run. */
export function failedRunIncident(
  pipeline: string,
  at: Date,
): { breach: EventOf<"ThresholdBreached">; recovery: EventOf<"ThresholdRecovered"> } {
  const incidentId = createEvent(
    "PipelineRunCancelRequested",
    { runId: `${pipeline}-20260301T060000Z`, requestedAt: at.toISOString() },
    { pipeline, now: at },
  ).detail.metadata.id;
  const runId = `${pipeline}-20260301T060000Z`;
  const openedAt = at.toISOString();
  const breach = createEvent(
    "ThresholdBreached",
    {
      incidentId,
      pipeline,
      rule: "run-failed",
      stage: "transform",
      step: "email-model",
      unit: "runs",
      figure: 1,
      threshold: 0,
      runId,
      summary: "Run failed: transform/email-model (dbt-cloud) failed",
      error: 'Database Error in model email_audience: relation "stg_zoom__webinars" does not exist',
      url: "https://cloud.getdbt.com/deploy/70403/projects/1/runs/42",
      openedAt,
    },
    { pipeline, now: at },
  );
  const later = new Date(at.getTime() + 86_400_000);
  const recovery = createEvent(
    "ThresholdRecovered",
    {
      incidentId,
      pipeline,
      rule: "run-failed",
      unit: "runs",
      figure: 0,
      threshold: 0,
      runId: `${pipeline}-20260302T060000Z`,
      summary: "Run succeeded again",
      openedAt,
      resolvedAt: later.toISOString(),
    },
    { pipeline, now: later },
  );
  return { breach, recovery };
}
