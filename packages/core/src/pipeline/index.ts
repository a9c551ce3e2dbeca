export { applyStepGuards } from "./guards";
