import type { TapestryEvent } from "../events";

/**
 * The CloudWatch metrics Tapestry writes (namespace `Tapestry`), all from the pipeline events:
 * the metrics recorder turns each event into data points (EMF, Powertools Metrics on AWS), and
 * the freshness check adds MinutesSinceLastSuccess every 5 minutes. One writer per metric, so a
 * Sum counts each run once (bar a redelivered event).
 */
export const METRIC_NAMESPACE = "Tapestry";

export const METRIC_NAMES = [
  "RunSucceeded",
  "RunFailed",
  "RunSkipped",
  "RunDurationSeconds",
  "StepDurationSeconds",
  "RowsSynced",
  "BytesSynced",
  "MinutesSinceLastSuccess",
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** CloudWatch's units, as EMF spells them. */
export type MetricUnitName = "Count" | "Seconds" | "Bytes" | "None";

export const METRIC_UNITS: Readonly<Record<MetricName, MetricUnitName>> = {
  RunSucceeded: "Count",
  RunFailed: "Count",
  RunSkipped: "Count",
  RunDurationSeconds: "Seconds",
  StepDurationSeconds: "Seconds",
  RowsSynced: "Count",
  BytesSynced: "Bytes",
  MinutesSinceLastSuccess: "None",
};

/** `Pipeline`, and `Step` (the step's name, unique within its pipeline) for a step's figures. */
export type MetricDimensions = { readonly Pipeline: string; readonly Step?: string };

export interface MetricDatum {
  readonly name: MetricName;
  readonly unit: MetricUnitName;
  readonly value: number;
  readonly dimensions: MetricDimensions;
}

const datum = (name: MetricName, value: number, dimensions: MetricDimensions): MetricDatum => ({
  name,
  unit: METRIC_UNITS[name],
  value,
  dimensions,
});

/**
 * The data points one event makes. A run's end writes both counters, 1 for its outcome and 0 for
 * the other: their Sums count runs, and a RunFailed of 0 is what lets the failed-run alarm (whose
 * missing data keeps its state) return to OK on the next success. A step's rows are written when
 * the tool's job succeeded, and for a step the minRows guard failed (its rows, 0 when the tool
 * counted none), so the rows alarms see the very figure the guard refused.
 */
export function metricsOfEvent(event: TapestryEvent): MetricDatum[] {
  const pipeline = event.detail.metadata.pipeline;
  if (pipeline === undefined) return [];
  const run = { Pipeline: pipeline };
  switch (event["detail-type"]) {
    case "PipelineRunSucceeded":
      return [
        datum("RunSucceeded", 1, run),
        datum("RunFailed", 0, run),
        datum("RunDurationSeconds", event.detail.data.durationMs / 1000, run),
      ];
    case "PipelineRunFailed": {
      const { durationMs } = event.detail.data;
      return [
        datum("RunFailed", 1, run),
        datum("RunSucceeded", 0, run),
        ...(durationMs !== undefined ? [datum("RunDurationSeconds", durationMs / 1000, run)] : []),
      ];
    }
    case "PipelineRunSkipped":
      return [datum("RunSkipped", 1, run)];
    case "StepSucceeded": {
      const d = event.detail.data;
      const step = { Pipeline: pipeline, Step: d.step };
      return [
        datum("StepDurationSeconds", d.durationMs / 1000, step),
        ...(d.rows !== undefined ? [datum("RowsSynced", d.rows, step)] : []),
        ...(d.bytes !== undefined ? [datum("BytesSynced", d.bytes, step)] : []),
      ];
    }
    case "StepFailed": {
      const d = event.detail.data;
      const step = { Pipeline: pipeline, Step: d.step };
      return [
        ...(d.durationMs !== undefined ? [datum("StepDurationSeconds", d.durationMs / 1000, step)] : []),
        ...(d.reason === "min-rows" ? [datum("RowsSynced", d.rows ?? 0, step)] : []),
        ...(d.reason === "min-rows" && d.bytes !== undefined ? [datum("BytesSynced", d.bytes, step)] : []),
      ];
    }
    default:
      return [];
  }
}

/** The freshness check's figure for one pipeline. */
export function freshnessDatum(pipeline: string, minutes: number): MetricDatum {
  return datum("MinutesSinceLastSuccess", minutes, { Pipeline: pipeline });
}
