import { LEDGER_TABLE } from "@tapestry/core/adapters/aws";
import { ALERT_DETAIL_TYPES, EVENT_SOURCE } from "@tapestry/core/events";
import { Duration, RemovalPolicy, type Stack } from "aws-cdk-lib";
import {
  AttributeType,
  BillingMode,
  type ITable,
  ProjectionType,
  Table,
  TableEncryption,
} from "aws-cdk-lib/aws-dynamodb";
import { Match, Rule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { type StackContext, use } from "sst/constructs";
import { deadLetterQueue } from "./dead-letter-queue";
import { type Deployment, useDeployment } from "./deployment";
import { Events } from "./events";
import { allow, tapestryFunction } from "./lambda";

/**
 * The run ledger: a DynamoDB projection of the events (runs, steps, events) that also carries each
 * pipeline's run lock, and the projector that keeps it up to date from the bus. Redeployed with
 * `aws.adoptRetainedData`, the stack uses the table a removed stack kept instead of creating one.
 */
export function Ledger({ stack, app }: StackContext) {
  const deployment = useDeployment(app);
  const { bus } = use(Events);
  const table = deployment.adoptRetainedData ? keptTable(stack, deployment) : newTable(stack, deployment);

  const projectorDlq = deadLetterQueue(stack, "ProjectorDeadLetters", deployment);
  const projector = tapestryFunction(stack, "Projector", deployment, {
    entry: "project-event",
    description: "projects pipeline events into the run ledger",
    environment: { TAPESTRY_LEDGER_TABLE: table.tableName },
    // the rule's queue takes what EventBridge could not deliver; this one what the projector
    // refused (an event it cannot read) once Lambda's own two retries are spent
    deadLetterQueue: projectorDlq,
  });
  // writes events and run records, re-reads a run's events to project them; never the index
  allow(projector, ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"], [table.tableArn]);

  new Rule(stack, "ProjectEvents", {
    eventBus: bus,
    description: "every pipeline event but the alerts, into the run ledger",
    // alerts share the bus, but they are no run's facts (the ledger refuses them)
    eventPattern: { source: [EVENT_SOURCE], detailType: Match.anythingBut(...ALERT_DETAIL_TYPES) },
    targets: [
      new LambdaFunction(projector, {
        deadLetterQueue: projectorDlq,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      }),
    ],
  });

  stack.addOutputs({ LedgerTableName: table.tableName, ProjectorDeadLetterQueueUrl: projectorDlq.queueUrl });
  return { table, projectorDlq };
}

/** The table, named after the stage; a prod-like stage keeps it (deletion protection on) when its stack goes away. */
function newTable(stack: Stack, deployment: Deployment): ITable {
  const table = new Table(stack, "Table", {
    tableName: deployment.names.ledgerTable,
    partitionKey: { name: LEDGER_TABLE.partitionKey, type: AttributeType.STRING },
    sortKey: { name: LEDGER_TABLE.sortKey, type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: TableEncryption.AWS_MANAGED,
    timeToLiveAttribute: LEDGER_TABLE.timeToLiveAttribute,
    deletionProtection: deployment.retainData,
    removalPolicy: deployment.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  table.addGlobalSecondaryIndex({
    indexName: LEDGER_TABLE.runsByPipelineIndex.name,
    partitionKey: { name: LEDGER_TABLE.runsByPipelineIndex.partitionKey, type: AttributeType.STRING },
    sortKey: { name: LEDGER_TABLE.runsByPipelineIndex.sortKey, type: AttributeType.STRING },
    projectionType: ProjectionType.ALL,
  });
  return table;
}

/** The table a removed stack kept, by its name: keys, index, TTL, recovery and protection are as it was made. */
function keptTable(stack: Stack, deployment: Deployment): ITable {
  return Table.fromTableAttributes(stack, "Table", {
    tableName: deployment.names.ledgerTable,
    globalIndexes: [LEDGER_TABLE.runsByPipelineIndex.name],
  });
}
