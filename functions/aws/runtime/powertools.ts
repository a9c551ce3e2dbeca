/** Every function's Powertools instruments, configured from the environment. */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { once } from "./environment";

// Powertools reads POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL and POWERTOOLS_METRICS_NAMESPACE itself.
export const logger = once(() => new Logger());
// Metrics' own warnings (e.g. an invocation that added no metric) go through the function's logger:
// structured, with the Lambda context, and held back by POWERTOOLS_LOG_LEVEL like every other line.
export const metrics = once(() => new Metrics({ logger: logger() }));
