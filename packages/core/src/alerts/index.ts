export {
  ALARM_STATES,
  type AlarmFigures,
  type AlarmStateChange,
  type AlarmStateValue,
  alarmFigures,
  alarmStateChangeSchema,
  alarmTransition,
} from "./alarm-state";
export {
  ANOMALY_PERIOD_SECONDS,
  alarmPrefix,
  type Comparison,
  degradedAlarmName,
  FRESHNESS_PERIOD_SECONDS,
  type MissingData,
  pipelineAlarmSpecs,
  type ThresholdAlarmSpec,
  thresholdAlarmName,
  thresholdAlarmSpecs,
} from "./alarms";
export {
  type AlertKey,
  ANOMALY_HISTORY_RUNS,
  ANOMALY_MIN_HISTORY,
  ANOMALY_MIN_SPREAD,
  type AnomalyBand,
  alertKeyText,
  anomalyBand,
  freshnessVerdict,
  type LastSuccess,
  minutesSinceLastSuccess,
  type RunVerdictOptions,
  type Verdict,
  verdictsOfRun,
} from "./evaluate";
export {
  breachEvent,
  decideOpen,
  decideResolve,
  type IncidentDeps,
  type KeyState,
  type OpenDecision,
  type ResolveDecision,
  recordVerdicts,
  recoveryEvent,
} from "./incidents";
export {
  freshnessDatum,
  METRIC_NAMES,
  METRIC_NAMESPACE,
  METRIC_UNITS,
  type MetricDatum,
  type MetricDimensions,
  type MetricName,
  type MetricUnitName,
  metricsOfEvent,
} from "./metrics";
export { type Notification, notificationOfAlarm, notificationOfAlert } from "./notifications";
export {
  type AlertServiceDeps,
  checkFreshness,
  evaluateAlarmChange,
  evaluateRunEnd,
  type FreshnessResult,
  RunNotRecordedError,
} from "./service";
export {
  BLOCK_KIT_LIMITS,
  type Block,
  blockKitProblems,
  breachMessage,
  durationText,
  escapeMrkdwn,
  type HealthAlarmNotice,
  healthAlarmMessage,
  type MessageContext,
  RULE_TITLES,
  recoveryMessage,
  type SlackMessage,
  truncate,
  whatToDo,
} from "./slack";
export { checkWebhookUrl, postToSlack, SlackDeliveryError, type SlackWebhookOptions } from "./slack-webhook";
export { effectiveMaxStaleMinutes, longestScheduleGapMinutes } from "./staleness";
export {
  type AlertStore,
  decodeIncidentCursor,
  encodeIncidentCursor,
  type Incident,
  type IncidentObservation,
  type IncidentPage,
  type OpenOutcome,
  type OpenRequest,
  type ResolveOutcome,
  type ResolveRequest,
} from "./store";
export {
  DEFAULT_ANOMALY_STD_DEVS,
  type PipelineThresholds,
  pipelineThresholds,
  type StepThresholds,
} from "./thresholds";
export {
  type AlertsView,
  alertsOverview,
  type IncidentView,
  incidentView,
  type ObservationView,
} from "./views";
