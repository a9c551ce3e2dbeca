export { applyStepGuards } from "./guards";
export { manualRunId, parseRunId, scheduledRunId } from "./run-id";
