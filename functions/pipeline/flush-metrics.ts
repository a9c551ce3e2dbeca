import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { MiddlewareObj } from "@middy/core";

/**
 * Powertools' `logMetrics` middleware, less its WARN for an invocation that added no metric.
 * `logMetrics` always calls `publishStoredMetrics()`, which logs "No application metrics to
 * publish" when the buffer is empty; most task calls add none (a lock taken, a job started, a
 * poll of a job still running), so every such call logged a warning that means nothing. The
 * middleware asks Powertools itself (`hasStoredMetrics()`) and flushes only what was added, after
 * the handler returns or throws; with nothing added it clears the dimensions and metadata as a
 * flush would, so none carries into the next invocation. Its other options (cold-start metric,
 * default dimensions, throwOnEmptyMetrics) are not used by these functions.
 */
export function flushAddedMetrics(metrics: Metrics): MiddlewareObj {
  const flush = (): void => {
    if (metrics.hasStoredMetrics()) {
      metrics.publishStoredMetrics();
      return;
    }
    metrics.clearDimensions();
    metrics.clearMetadata();
  };
  return { after: flush, onError: flush };
}
