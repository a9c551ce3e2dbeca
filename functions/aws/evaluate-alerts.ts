/**
 * Lambda target of the rules for every run's end (Tapestry bus) and the rows-anomaly alarms' state
 * changes (default bus): judges the pipelines' thresholds, records incidents, publishes
 * ThresholdBreached / ThresholdRecovered.
 */
import { createEvaluateAlertsHandler } from "../alerts/evaluate-alerts";
import { evaluateAlertsDeps } from "./runtime";

export const handler = createEvaluateAlertsHandler(evaluateAlertsDeps());
