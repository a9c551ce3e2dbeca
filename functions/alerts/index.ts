export {
  type CheckFreshnessDeps,
  type CheckFreshnessLambda,
  createCheckFreshnessHandler,
} from "./check-freshness";
export { writeMetrics } from "./emf";
export {
  createEvaluateAlertsHandler,
  type EvaluateAlertsDeps,
  type EvaluateAlertsLambda,
} from "./evaluate-alerts";
export {
  createNotifySlackHandler,
  type NotifySlackDeps,
  type NotifySlackLambda,
  type OnceByKey,
} from "./notify-slack";
export { createRecordMetricsHandler, type EventLambda, type RecordMetricsDeps } from "./record-metrics";
