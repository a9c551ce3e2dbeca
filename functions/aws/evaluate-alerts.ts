/**
 * Lambda target of the rules for every run's end (Tapestry bus) and the rows-anomaly alarms' state
 * changes (default bus): judges the pipelines' thresholds, records incidents, publishes
 * ThresholdBreached / ThresholdRecovered.
 */
import { createEvaluateAlertsHandler } from "../alerts/evaluate-alerts";
import { alertServiceDeps } from "./runtime/alert-service";
import { env } from "./runtime/environment";
import { logger } from "./runtime/powertools";

export const handler = createEvaluateAlertsHandler({
  service: alertServiceDeps,
  stage: () => env("TAPESTRY_STAGE"),
  logger: logger(),
});
