import { Duration, type Stack } from "aws-cdk-lib";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Deployment } from "./deployment";

/**
 * A dead-letter queue: encrypted, TLS only, keeping messages for the longest SQS allows (14 days)
 * so that a failure found on Monday can still be looked at and redriven.
 */
export function deadLetterQueue(stack: Stack, id: string, deployment: Deployment): Queue {
  return new Queue(stack, id, {
    queueName: `${deployment.prefix}-${id}`,
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
}
