export {
  type ControlPlane,
  type ControlPlaneOptions,
  type StartedRun,
  startControlPlane,
} from "./control-plane/control-plane";
export { formatDeadLetter, formatEvent } from "./control-plane/event-lines";
export { formatRunSummary } from "./control-plane/run-summary";
export { REPO_ROOT } from "./paths";
export { loadScenarioFile, ScenarioError } from "./sandboxes";
