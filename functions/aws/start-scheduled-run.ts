/** Lambda target of every pipeline's EventBridge Scheduler schedule: starts the fire's run on Step Functions. */
import { createStartScheduledRunHandler } from "../pipeline/start-scheduled-run";
import { logger } from "./runtime/powertools";
import { deferredRunController } from "./runtime/state-machine";

export const handler = createStartScheduledRunHandler({ runs: deferredRunController(), logger: logger() });
