import { SendTaskSuccessCommand, type SFNClient } from "@aws-sdk/client-sfn";
import type { TaskTokenSender } from "../../webhooks/complete";
import { TaskTokenSendError } from "../../webhooks/errors";

export interface StepFunctionsTaskTokensOptions {
  readonly client: SFNClient;
}

/**
 * Step Functions' answers that mean "that task is no longer waiting": its wait timed out (a late
 * SendTaskSuccess gets TaskTimedOut), it was completed already, or its execution ended.
 */
const CLOSED = new Set(["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"]);

/** Sends a waiting task its result: SendTaskSuccess with the output as JSON. */
export class StepFunctionsTaskTokens implements TaskTokenSender {
  constructor(private readonly options: StepFunctionsTaskTokensOptions) {}

  async sendTaskSuccess(token: string, output: unknown): Promise<"sent" | "closed"> {
    try {
      await this.options.client.send(
        new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }),
      );
      return "sent";
    } catch (error) {
      if (error instanceof Error && CLOSED.has(error.name)) return "closed";
      // never the token in the message: it would land in logs
      throw new TaskTokenSendError(
        `Step Functions did not take the task's result (${error instanceof Error ? error.name : "error"})`,
        { cause: error },
      );
    }
  }
}
