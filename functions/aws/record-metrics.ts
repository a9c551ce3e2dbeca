/** Lambda target of the bus rule for the pipeline events that make metrics: writes them as EMF (namespace Tapestry). */
import { createRecordMetricsHandler } from "../alerts/record-metrics";
import { logger, metrics } from "./runtime";

export const handler = createRecordMetricsHandler({ metrics: metrics(), logger: logger() });
