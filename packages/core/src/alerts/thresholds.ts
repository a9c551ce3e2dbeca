import type { PipelineSpec, StepSpec } from "../config/schema";
import type { ToolName } from "../names";
import { effectiveMaxStaleMinutes } from "./staleness";

/** A step's own thresholds: its floor (`minRows`) and its rows anomaly band. */
export interface StepThresholds {
  readonly stage: string;
  readonly step: string;
  readonly tool: ToolName;
  readonly minRows?: number;
  /** the band's width in standard deviations */
  readonly rowsAnomaly?: { readonly stdDevs: number };
}

/** Every threshold one pipeline is watched against, defaults applied. */
export interface PipelineThresholds {
  readonly pipeline: string;
  readonly onFailure: boolean;
  readonly maxDurationMinutes?: number;
  /** derived from the schedule when the config leaves it out; absent when staleness is not watched */
  readonly maxStaleMinutes?: number;
  readonly steps: readonly StepThresholds[];
}

export const DEFAULT_ANOMALY_STD_DEVS = 2;

function rowsAnomalyOf(step: StepSpec): StepThresholds["rowsAnomaly"] {
  const setting = step.rowsAnomaly;
  if (setting === undefined || setting === false) return undefined;
  return { stdDevs: setting === true ? DEFAULT_ANOMALY_STD_DEVS : setting.stdDevs };
}

/**
 * The thresholds of a pipeline as its config states them, with the defaults filled in (staleness:
 * twice the schedule's longest gap, see staleness.ts). `from` is the clock the schedule's gap is
 * sampled from (default now).
 */
export function pipelineThresholds(pipeline: PipelineSpec, from?: Date): PipelineThresholds {
  const steps = pipeline.stages.flatMap((stage) =>
    stage.steps.map(
      (step): StepThresholds => ({
        stage: stage.name,
        step: step.name,
        tool: step.tool,
        ...(step.minRows !== undefined ? { minRows: step.minRows } : {}),
        ...(rowsAnomalyOf(step) ? { rowsAnomaly: rowsAnomalyOf(step) } : {}),
      }),
    ),
  );
  const maxStaleMinutes = effectiveMaxStaleMinutes(pipeline, from);
  return {
    pipeline: pipeline.name,
    onFailure: pipeline.alerts.onFailure,
    ...(pipeline.alerts.maxDurationMinutes !== undefined
      ? { maxDurationMinutes: pipeline.alerts.maxDurationMinutes }
      : {}),
    ...(maxStaleMinutes !== undefined ? { maxStaleMinutes } : {}),
    steps,
  };
}
