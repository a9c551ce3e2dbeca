/** How the AWS adapters read the SDK's errors, apart from any one service's client. */
import { isServerError, isThrottlingError, isTransientError } from "@smithy/service-error-classification";

/**
 * Whether an AWS SDK error says "not now" rather than "no": throttled, a timeout or a dropped
 * connection, a 5xx. The SDK's own classification (the one its retry strategy uses), applied to
 * the error and the causes Powertools wraps it in.
 */
export function isTransientSdkError(error: unknown): boolean {
  type SdkError = Parameters<typeof isTransientError>[0];
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    const sdk = e as SdkError;
    if (isThrottlingError(sdk) || isTransientError(sdk) || isServerError(sdk)) return true;
  }
  return false;
}

/** `<ErrorName>: <message>` of the innermost SDK error, for messages (SDK read errors carry no values). */
export function describeSdkError(error: unknown): string {
  let e: unknown = error;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
