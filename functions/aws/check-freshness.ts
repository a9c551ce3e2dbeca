/** Lambda fired every 5 minutes by EventBridge Scheduler: MinutesSinceLastSuccess per pipeline, and the stale rule. */
import { createCheckFreshnessHandler } from "../alerts/check-freshness";
import { alertServiceDeps, logger, metrics } from "./runtime";

export const handler = createCheckFreshnessHandler({
  service: alertServiceDeps,
  metrics: metrics(),
  logger: logger(),
});
