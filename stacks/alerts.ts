import { LEDGER_TABLE, secretParameterName } from "@tapestry/core/adapters/aws";
import { pipelineAlarmSpecs, pipelineThresholds } from "@tapestry/core/alerts";
import { selfHostedTools } from "@tapestry/core/config";
import { ALERT_DETAIL_TYPES, EVENT_SOURCE } from "@tapestry/core/events";
import { ArnFormat, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type { IAlarm } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { type IEventBus, Rule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { CfnSchedule } from "aws-cdk-lib/aws-scheduler";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { type IQueue, QueueBase } from "aws-cdk-lib/aws-sqs";
import { Function as SstFunction, type StackContext, use } from "sst/constructs";
import {
  deadLetterHealthAlarm,
  degradedAlarm,
  functionHealthAlarms,
  healthAlarm,
  healthAlarmPrefix,
  provisioningHealthAlarms,
  stateMachineHealthAlarms,
  thresholdAlarm,
  toolHostHealthAlarms,
} from "./alerts-alarms";
import { alertsDashboard, controlPlaneWidgets, hostWidgets, pipelineWidgets } from "./alerts-dashboard";
import { deadLetterQueue } from "./dead-letter-queue";
import type { Deployment } from "./deployment";
import { useDeployment } from "./deployment";
import { Events } from "./events";
import { allow, tapestryFunction } from "./lambda";
import { Ledger } from "./ledger";
import { Pipelines } from "./pipelines";
import { Provisioning } from "./provisioning";
import { StatusApi } from "./status-api";
import { toolStackName } from "./tools/names";

/** How EventBridge keeps trying a rule's target before the event goes to the target's dead-letter queue. */
const RULE_TARGET_RETRIES = { retryAttempts: 185, maxEventAge: Duration.hours(24) } as const;

/**
 * Alerts: the pipeline events become metrics (EMF), the pipelines' thresholds become CloudWatch
 * alarms (and incidents, events and messages, through the alert evaluator and the freshness
 * check), each pipeline gets a composite "degraded" alarm, the control plane gets health alarms,
 * and alarms reach people through an SNS topic encrypted with KMS (e-mail from the config) and the
 * Slack notifier. The stage's dashboard shows it all.
 *
 * This stack comes last (TAPESTRY_STACKS): its health alarms cover every function and every
 * dead-letter queue of the app, found among the constructs of the stacks built before it.
 */
export function Alerts({ stack, app }: StackContext) {
  const deployment = useDeployment(app);
  const { bus } = use(Events);
  const { table } = use(Ledger);
  const { stateMachine } = use(Pipelines);
  const provisioning = use(Provisioning);
  const { api } = use(StatusApi);
  const { config, stage } = deployment;

  const topic = alertsTopic(stack, deployment);
  const notify = new SnsAction(topic);

  recordMetrics(stack, deployment, bus);
  const evaluator = evaluateAlerts(stack, deployment, bus, table);
  checkFreshness(stack, deployment, table);
  const notifier = config.alerts.slack
    ? notifySlack(stack, deployment, bus, table, api.apiEndpoint, config.alerts.slack.webhookUrlSecret)
    : undefined;

  // one alarm per threshold, one composite per pipeline
  const pipelineRows = [];
  const anomalyAlarms: string[] = [];
  for (const pipeline of config.pipelines) {
    const thresholds = pipelineThresholds(pipeline, deployment.synthesizedAt);
    const specs = pipelineAlarmSpecs(stage, thresholds);
    const alarms: IAlarm[] = specs.map((spec) => thresholdAlarm(stack, spec));
    anomalyAlarms.push(...specs.filter((s) => s.kind === "anomaly").map((s) => s.name));
    const composite =
      alarms.length > 0 ? degradedAlarm(stack, stage, pipeline.name, alarms, notify) : undefined;
    pipelineRows.push(...pipelineWidgets(thresholds, composite ? [composite, ...alarms] : []));
  }
  if (anomalyAlarms.length > 0) {
    // CloudWatch judges the rows anomaly rule on AWS: its alarms' changes become incidents
    new Rule(stack, "EvaluateAnomalyAlarms", {
      description: "state changes of the rows-anomaly alarms, to the alert evaluator",
      eventPattern: {
        source: ["aws.cloudwatch"],
        detailType: ["CloudWatch Alarm State Change"],
        detail: { alarmName: anomalyAlarms },
      },
      targets: [
        new LambdaFunction(evaluator.fn, { deadLetterQueue: evaluator.deadLetters, ...RULE_TARGET_RETRIES }),
      ],
    });
  }

  // the control plane's health: the state machine, every function, every dead-letter queue
  const functions = constructsOf(app, SstFunction);
  // the self-hosted Airbyte host (issue 11): its agent's metrics by the ToolHost dimension
  const airbyteHost = selfHostedTools(config).includes("airbyte")
    ? { toolHost: toolStackName(stage, "airbyte") }
    : undefined;
  const queues = constructsOf(app, QueueBase) as { id: string; construct: IQueue }[];
  const health = [
    ...stateMachineHealthAlarms(stage, stateMachine),
    ...provisioningHealthAlarms(stage, [
      { name: "provision", stateMachine: provisioning.stateMachine },
      { name: "deprovision", stateMachine: provisioning.deprovisionStateMachine },
    ]),
    ...(airbyteHost ? toolHostHealthAlarms(stage, airbyteHost.toolHost) : []),
    ...functions.flatMap(({ id, construct }) => functionHealthAlarms(stage, id, construct)),
    ...queues.map(({ id, construct }) => deadLetterHealthAlarm(stage, id, construct)),
  ];
  const seen = new Set<string>();
  for (const spec of health) {
    if (seen.has(spec.name))
      throw new Error(`two health alarms would be named ${spec.name}: rename a construct`);
    seen.add(spec.name);
    healthAlarm(stack, spec, notify);
  }
  if (notifier) {
    new Rule(stack, "NotifyHealthAlarms", {
      description: "state changes of the control plane's health alarms, to the Slack notifier",
      eventPattern: {
        source: ["aws.cloudwatch"],
        detailType: ["CloudWatch Alarm State Change"],
        detail: { alarmName: [{ prefix: healthAlarmPrefix(stage) }] },
      },
      targets: [
        new LambdaFunction(notifier.fn, { deadLetterQueue: notifier.deadLetters, ...RULE_TARGET_RETRIES }),
      ],
    });
  }

  const dashboard = alertsDashboard(stack, deployment.prefix, [
    ...pipelineRows,
    ...controlPlaneWidgets(
      stateMachine,
      functions.map(({ id, construct }) => ({ id, fn: construct })),
      queues.map(({ id, construct }) => ({ id, queue: construct })),
    ),
    ...hostWidgets(airbyteHost ? { airbyteHost } : {}),
  ]);

  stack.addOutputs({
    AlertsTopicArn: topic.topicArn,
    DashboardName: dashboard.dashboardName,
    ...(notifier ? { NotifierDeadLetterQueueUrl: notifier.deadLetters.queueUrl } : {}),
    AlertEvaluatorDeadLetterQueueUrl: evaluator.deadLetters.queueUrl,
  });
  return { topic };
}

/** Every construct of a kind in the app's stacks, with its id. */
function constructsOf<T>(
  app: StackContext["app"],
  kind: abstract new (...args: never[]) => T,
): { id: string; construct: T }[] {
  return app.node
    .findAll()
    .filter((c): c is typeof c & T => c instanceof kind)
    .map((c) => ({ id: c.node.id, construct: c as T }));
}

/**
 * The topic alarms notify: encrypted with a key of its own (rotated yearly), because CloudWatch
 * alarms cannot publish to a topic under the AWS managed aws/sns key, whose policy cannot grant
 * them kms:GenerateDataKey* and kms:Decrypt. TLS only. E-mail subscriptions from `alerts.email`.
 */
function alertsTopic(stack: Stack, deployment: Deployment): Topic {
  const key = new Key(stack, "AlertsKey", {
    description: `Tapestry ${deployment.stage}: encrypts the alerts topic`,
    enableKeyRotation: true,
    pendingWindow: Duration.days(7),
    removalPolicy: RemovalPolicy.DESTROY,
  });
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: "CloudWatchAlarmsPublishToTheEncryptedTopic",
      principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
      actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
      resources: ["*"],
      conditions: { StringEquals: { "aws:SourceAccount": Stack.of(stack).account } },
    }),
  );
  const topic = new Topic(stack, "AlertsTopic", {
    topicName: `${deployment.prefix}-alerts`,
    displayName: `Tapestry ${deployment.stage} alerts`,
    masterKey: key,
    enforceSSL: true,
  });
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: "CloudWatchAlarmsPublish",
      principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
      actions: ["sns:Publish"],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { "aws:SourceAccount": Stack.of(stack).account },
        ArnLike: {
          "aws:SourceArn": Stack.of(stack).formatArn({
            service: "cloudwatch",
            resource: "alarm",
            resourceName: `tapestry-${deployment.stage}-*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
  for (const address of deployment.config.alerts.email) topic.addSubscription(new EmailSubscription(address));
  return topic;
}

/** The metrics recorder: the events that make metrics, as EMF. */
function recordMetrics(stack: Stack, deployment: Deployment, bus: IEventBus): void {
  const deadLetters = deadLetterQueue(stack, "MetricsDeadLetters", deployment);
  const fn = tapestryFunction(stack, "RecordMetrics", deployment, {
    entry: "record-metrics",
    description: "turns pipeline events into CloudWatch metrics (EMF)",
    deadLetterQueue: deadLetters,
  });
  new Rule(stack, "RecordMetricsOfEvents", {
    eventBus: bus,
    description: "the pipeline events that make metrics (runs' and steps' ends, skipped runs)",
    eventPattern: {
      source: [EVENT_SOURCE],
      detailType: [
        "PipelineRunSucceeded",
        "PipelineRunFailed",
        "PipelineRunSkipped",
        "StepSucceeded",
        "StepFailed",
      ],
    },
    targets: [new LambdaFunction(fn, { deadLetterQueue: deadLetters, ...RULE_TARGET_RETRIES })],
  });
}

/** What the alert evaluator and the freshness check do with the ledger's table: read runs, keep incidents. */
function allowAlertStore(fn: SstFunction, table: ITable): void {
  // the run ledger's reads (a run's events; a pipeline's runs by the index) and the incidents' items
  allow(
    fn,
    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"],
    [table.tableArn],
  );
  allow(fn, ["dynamodb:Query"], [`${table.tableArn}/index/${LEDGER_TABLE.runsByPipelineIndex.name}`]);
}

/** The alert evaluator: every run's end judged against its pipeline's thresholds. */
function evaluateAlerts(stack: Stack, deployment: Deployment, bus: IEventBus, table: ITable) {
  const deadLetters = deadLetterQueue(stack, "AlertEvaluatorDeadLetters", deployment);
  const fn = tapestryFunction(stack, "EvaluateAlerts", deployment, {
    entry: "evaluate-alerts",
    description: "judges each run's end (and the rows-anomaly alarms) against the pipelines' thresholds",
    environment: { TAPESTRY_LEDGER_TABLE: table.tableName },
    bundleConfig: true,
    publishesEvents: true,
    // it waits up to 20 s for a run's step events to reach the ledger
    timeout: Duration.seconds(60),
    deadLetterQueue: deadLetters,
  });
  allowAlertStore(fn, table);
  new Rule(stack, "EvaluateRunEnds", {
    eventBus: bus,
    description: "every run's end, to the alert evaluator",
    eventPattern: { source: [EVENT_SOURCE], detailType: ["PipelineRunSucceeded", "PipelineRunFailed"] },
    targets: [new LambdaFunction(fn, { deadLetterQueue: deadLetters, ...RULE_TARGET_RETRIES })],
  });
  return { fn, deadLetters };
}

/** The freshness check, every 5 minutes from EventBridge Scheduler. */
function checkFreshness(stack: Stack, deployment: Deployment, table: ITable): void {
  const deadLetters = deadLetterQueue(stack, "FreshnessDeadLetters", deployment);
  const fn = tapestryFunction(stack, "CheckFreshness", deployment, {
    entry: "check-freshness",
    description: "every 5 minutes: minutes since each pipeline's last success (metric), and the stale rule",
    environment: { TAPESTRY_LEDGER_TABLE: table.tableName },
    bundleConfig: true,
    publishesEvents: true,
    timeout: Duration.seconds(60),
    deadLetterQueue: deadLetters,
  });
  allowAlertStore(fn, table);
  const role = new Role(stack, "FreshnessSchedulerRole", {
    assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
      conditions: { StringEquals: { "aws:SourceAccount": Stack.of(stack).account } },
    }),
    description: `Tapestry ${deployment.stage}: EventBridge Scheduler runs the freshness check`,
  });
  role.addToPolicy(new PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [fn.functionArn] }));
  role.addToPolicy(new PolicyStatement({ actions: ["sqs:SendMessage"], resources: [deadLetters.queueArn] }));
  new CfnSchedule(stack, "FreshnessCheck", {
    name: "freshness-check",
    // the stage's schedule group (the Pipelines stack's, built before this one)
    groupName: deployment.prefix,
    description: "Tapestry: MinutesSinceLastSuccess of every pipeline, and the stale rule",
    scheduleExpression: "rate(5 minutes)",
    state: "ENABLED",
    flexibleTimeWindow: { mode: "OFF" },
    target: {
      arn: fn.functionArn,
      roleArn: role.roleArn,
      input: JSON.stringify({ scheduledTime: "<aws.scheduler.scheduled-time>" }),
      // a check older than its period is superseded by the next one
      retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 240 },
      deadLetterConfig: { arn: deadLetters.queueArn },
    },
  });
}

/** The Slack notifier: incidents opened and resolved, and the health alarms' changes, as Block Kit messages. */
function notifySlack(
  stack: Stack,
  deployment: Deployment,
  bus: IEventBus,
  table: ITable,
  statusApiUrl: string,
  webhookUrlSecret: string,
) {
  const deadLetters = deadLetterQueue(stack, "NotifierDeadLetters", deployment);
  const fn = tapestryFunction(stack, "NotifySlack", deployment, {
    entry: "notify-slack",
    description: "posts alerts to Slack (Block Kit), once per incident opened and resolved",
    environment: { TAPESTRY_LEDGER_TABLE: table.tableName, TAPESTRY_STATUS_API_URL: statusApiUrl },
    bundleConfig: true,
    // up to 5 attempts, waits of up to a minute for Slack's Retry-After between them
    timeout: Duration.seconds(120),
    deadLetterQueue: deadLetters,
  });
  // the webhook's URL: one SecureString, read at run time
  allow(
    fn,
    ["ssm:GetParameter"],
    [
      Stack.of(stack).formatArn({
        service: "ssm",
        resource: "parameter",
        resourceName: secretParameterName(deployment.stage, webhookUrlSecret).slice(1),
      }),
    ],
  );
  // Powertools Idempotency's records of what was sent (ALERT#NOTIFIED items)
  allow(
    fn,
    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
    [table.tableArn],
  );
  new Rule(stack, "NotifyIncidents", {
    eventBus: bus,
    description: "incidents opened and resolved, to the Slack notifier",
    eventPattern: { source: [EVENT_SOURCE], detailType: [...ALERT_DETAIL_TYPES] },
    targets: [new LambdaFunction(fn, { deadLetterQueue: deadLetters, ...RULE_TARGET_RETRIES })],
  });
  return { fn, deadLetters };
}
