import { ArnFormat, Duration, RemovalPolicy, type Stack } from "aws-cdk-lib";
import { AnyPrincipal, Effect, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { type IQueue, Queue, QueueBase, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import type { Deployment } from "./deployment";

/** The name of a dead-letter queue of the stage: fixed, so that a redeploy finds a kept queue again. */
export function deadLetterQueueName(deployment: Deployment, id: string): string {
  return `${deployment.prefix}-${id}`;
}

/**
 * A dead-letter queue: encrypted, TLS only, keeping messages for the longest SQS allows (14 days)
 * so that a failure found on Monday can still be looked at and redriven. A prod-like stage keeps
 * the queue, and the messages in it, when its stack goes away; redeployed with
 * `aws.adoptRetainedData`, the stack uses that queue again instead of creating one.
 */
export function deadLetterQueue(stack: Stack, id: string, deployment: Deployment): IQueue {
  const queueName = deadLetterQueueName(deployment, id);
  if (deployment.adoptRetainedData) return new KeptQueue(stack, id, queueName);
  return new Queue(stack, id, {
    queueName,
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: deployment.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
}

/**
 * A queue a removed stack kept, found by name. Its queue policy went with the old stack, so it
 * gets a new one, as a queue this stack created would: TLS only, plus whatever the constructs
 * using it add (an EventBridge rule's permission to send its dead letters). `Queue.fromQueueAttributes`
 * would drop those statements silently: an imported queue never creates a policy.
 */
class KeptQueue extends QueueBase {
  readonly queueArn: string;
  readonly queueUrl: string;
  readonly queueName: string;
  readonly encryptionMasterKey = undefined;
  readonly encryptionType = QueueEncryption.SQS_MANAGED;
  readonly fifo = false;
  protected readonly autoCreatePolicy = true;

  constructor(scope: Construct, id: string, queueName: string) {
    super(scope, id);
    this.queueName = queueName;
    this.queueArn = this.stack.formatArn({
      service: "sqs",
      resource: queueName,
      arnFormat: ArnFormat.NO_RESOURCE_NAME,
    });
    this.queueUrl = `https://sqs.${this.stack.region}.${this.stack.urlSuffix}/${this.stack.account}/${queueName}`;
    this.addToResourcePolicy(
      new PolicyStatement({
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ["sqs:*"],
        resources: [this.queueArn],
        conditions: { Bool: { "aws:SecureTransport": "false" } },
      }),
    );
  }
}
