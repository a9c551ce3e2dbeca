import type { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import type { Logger } from "@tapestry/core/logging";

/** Core's logging port over a Powertools Logger (which wants an object, not undefined, for attributes). */
export function coreLogger(powertools: PowertoolsLogger): Logger {
  return {
    debug: (message, attributes) => powertools.debug(message, attributes ?? {}),
    info: (message, attributes) => powertools.info(message, attributes ?? {}),
    warn: (message, attributes) => powertools.warn(message, attributes ?? {}),
    error: (message, attributes) => powertools.error(message, attributes ?? {}),
  };
}
