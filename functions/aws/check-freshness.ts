/** Lambda fired every 5 minutes by EventBridge Scheduler: MinutesSinceLastSuccess per pipeline, and the stale rule. */
import { createCheckFreshnessHandler } from "../alerts/check-freshness";
import { alertServiceDeps } from "./runtime/alert-service";
import { logger, metrics } from "./runtime/powertools";

export const handler = createCheckFreshnessHandler({
  service: alertServiceDeps,
  metrics: metrics(),
  logger: logger(),
});
