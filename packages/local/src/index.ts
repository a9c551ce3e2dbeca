export {
  type Alerts,
  FRESHNESS_CHECK_INTERVAL_MS,
  type NotificationReport,
  SlackWebhookUnavailableError,
} from "./control-plane/alerts";
export {
  type ControlPlane,
  type ControlPlaneOptions,
  type StartedRun,
  startControlPlane,
} from "./control-plane/control-plane";
export { formatDeadLetter, formatEvent, formatNotification } from "./control-plane/event-lines";
export { formatRunSummary } from "./control-plane/run-summary";
export { REPO_ROOT } from "./paths";
export { loadScenarioFile, ScenarioError } from "./sandboxes";
