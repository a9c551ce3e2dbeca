import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { parser } from "@aws-lambda-powertools/parser/middleware";
import middy from "@middy/core";
import { DEADLINE_MARGIN_MS } from "@tapestry/core/pipeline";
import type { Context } from "aws-lambda";
import type * as z from "zod";

/**
 * The one shape of a provision task handler, as the pipeline's (functions/pipeline/task-handler.ts):
 * Powertools logger with the Lambda context, then the zod parser of the task's input, then the
 * core task, told the invocation's deadline. The handler holds no logic of its own.
 */
export function provisionTaskHandler<S extends z.ZodType, R>(
  schema: S,
  logger: Logger,
  run: (input: z.output<S>, invocation: { readonly deadline: number }) => Promise<R>,
): (event: unknown, context: Context) => Promise<R> {
  const handler = middy()
    .use(injectLambdaContext(logger))
    .use(parser({ schema }))
    .handler((input, context) =>
      run(input as z.output<S>, {
        deadline: Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS,
      }),
    );
  // Step Functions may send anything; the parser middleware is what narrows it.
  return handler as unknown as (event: unknown, context: Context) => Promise<R>;
}
