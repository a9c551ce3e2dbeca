import { appendFile, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { Metrics, type MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRIC_NAMESPACE, type MetricDatum, metricsOfEvent } from "@tapestry/core/alerts";
import { type Logger, silentLogger } from "@tapestry/core/logging";
import type { LocalEventBus } from "../bus";

/**
 * The embedded metrics recorder: the same data points as the AWS one (core's metricsOfEvent, the
 * freshness check's MinutesSinceLastSuccess), as the same EMF documents (Powertools Metrics, one
 * document a point, dimensions Pipeline or Pipeline and Step), one a line in the state folder's
 * `metrics.emf.jsonl` instead of a Lambda's log: nothing reads them embedded, but they are there
 * to chart, or to ship (the CloudWatch agent takes EMF). The file is rotated at 10 MiB, one
 * older file kept, so a control plane left running for months does not fill the disk.
 */

export const METRICS_FILE = "metrics.emf.jsonl";

/** Past this size the file is kept as `metrics.emf.jsonl.1` (replacing the one before) and a new one begun. */
export const METRICS_FILE_MAX_BYTES = 10 * 1024 * 1024;

/** The events that make data points, as the AWS recorder's bus rule lists them. */
const METRIC_EVENTS = [
  "PipelineRunSucceeded",
  "PipelineRunFailed",
  "PipelineRunSkipped",
  "StepSucceeded",
  "StepFailed",
];

/** EMF documents of the data points, stamped `at`, one JSON text each. */
export function emfDocuments(
  data: readonly MetricDatum[],
  at: Date,
  logger: Logger = silentLogger,
): string[] {
  // Powertools' own warnings (a timestamp CloudWatch would skip: the embedded clock may be any time)
  const quiet = (message: unknown) => logger.debug(`powertools metrics: ${String(message)}`);
  const metrics = new Metrics({
    namespace: METRIC_NAMESPACE,
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
  });
  // the default `service` dimension would make other metrics than the alarms' (as on AWS)
  metrics.clearDefaultDimensions();
  return data.map((datum) => {
    metrics.setTimestamp(at);
    metrics.addDimensions({ ...datum.dimensions });
    metrics.addMetric(datum.name, datum.unit as (typeof MetricUnit)[keyof typeof MetricUnit], datum.value);
    const document = JSON.stringify(metrics.serializeMetrics());
    metrics.clearMetrics();
    metrics.clearDimensions();
    return document;
  });
}

export interface MetricsRecorder {
  /** appends the freshness check's data points */
  record(data: readonly MetricDatum[]): void;
  /** resolves once every line so far is written */
  flushed(): Promise<void>;
  stop(): Promise<void>;
}

/** Subscribes the recorder to the bus; each event's points are appended in the order they came. */
export function startMetricsRecorder(options: {
  readonly bus: LocalEventBus;
  readonly stateDir: string;
  readonly now: () => Date;
  readonly logger?: Logger;
  /** tests: a smaller size before the file is rotated */
  readonly maxBytes?: number;
}): MetricsRecorder {
  const logger = options.logger ?? silentLogger;
  const file = join(options.stateDir, METRICS_FILE);
  let writes: Promise<void> = Promise.resolve();
  const record = (data: readonly MetricDatum[]) => {
    if (data.length === 0) return;
    const lines = emfDocuments(data, options.now(), logger).join("\n");
    writes = writes
      .then(async () => {
        const size = await stat(file).then(
          (found) => found.size,
          () => 0,
        );
        if (size >= (options.maxBytes ?? METRICS_FILE_MAX_BYTES)) await rename(file, `${file}.1`);
        await appendFile(file, `${lines}\n`, "utf8");
      })
      .catch((error: unknown) => {
        // a metric is worth less than the run: say so, and keep going
        logger.warn("metrics could not be written", { file, error: String(error) });
      });
  };
  const unsubscribe = options.bus.subscribe(
    "metrics-recorder",
    { source: ["tapestry.pipeline"], "detail-type": METRIC_EVENTS },
    async (event) => record(metricsOfEvent(event)),
  );
  return {
    record,
    flushed: () => writes,
    stop: async () => {
      unsubscribe();
      await writes;
    },
  };
}
