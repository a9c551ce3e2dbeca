import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

/**
 * The context Lambda would pass an embedded handler: its remaining time counts down from the
 * function's own timeout from the start of this invocation, so the handlers' deadlines are the
 * same embedded as on AWS. Nothing stops a handler at its timeout; the deadline is what keeps its
 * calls within it. The callbacks throw: our handlers return promises.
 */
export function localLambdaContext(
  functionName: string,
  timeoutMs: number,
  options: { readonly requestId?: string; readonly memoryLimitInMB?: number } = {},
): Context {
  const deadline = Date.now() + timeoutMs;
  const unsupported = () => {
    throw new Error("an embedded Lambda context has no callbacks: return a promise");
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: String(options.memoryLimitInMB ?? 1024),
    awsRequestId: options.requestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
