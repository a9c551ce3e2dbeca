import type { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { MetricDatum } from "@tapestry/core/alerts";

/**
 * Writes core's data points as EMF through Powertools Metrics (namespace Tapestry, from
 * POWERTOOLS_METRICS_NAMESPACE). Each point gets its own EMF document (`singleMetric`): points of
 * one event carry different dimensions (Pipeline, or Pipeline and Step), a document has one
 * dimension set, and it is exactly the one the alarms and the dashboard name.
 */
export function writeMetrics(metrics: Metrics, data: readonly MetricDatum[]): void {
  for (const datum of data) {
    const single = metrics.singleMetric();
    // Powertools adds a `service` dimension by default; an alarm's metric is named by its exact
    // dimensions (Pipeline, or Pipeline and Step), and a third one would make another metric
    single.clearDefaultDimensions();
    single.addDimensions({ ...datum.dimensions });
    single.addMetric(datum.name, datum.unit as (typeof MetricUnit)[keyof typeof MetricUnit], datum.value);
  }
}
