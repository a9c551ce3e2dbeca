import type { TaskError } from "./task-io";

/**
 * The readable message of an error caught by the state machine. A Lambda's Cause is a JSON
 * document `{ errorType, errorMessage, trace }`; the embedded runner's Cause is the message itself.
 */
export function describeTaskError(failure: TaskError): string {
  const cause = failure.Cause ?? "";
  try {
    const parsed: unknown = JSON.parse(cause);
    if (
      parsed &&
      typeof parsed === "object" &&
      "errorMessage" in parsed &&
      typeof parsed.errorMessage === "string"
    ) {
      return `${failure.Error}: ${parsed.errorMessage}`;
    }
  } catch {
    // not JSON: the cause is the message
  }
  return cause ? `${failure.Error}: ${cause}` : failure.Error;
}
