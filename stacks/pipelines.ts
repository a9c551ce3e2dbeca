import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { PipelineSpec } from "@tapestry/core/config";
import { EVENT_SOURCE } from "@tapestry/core/events";
import {
  DEFAULT_PIPELINE_SETTINGS,
  definitionTimeoutSeconds,
  fillPipelineRunDefinition,
  type PipelineRunFunction,
  TASK_FUNCTION_TIMEOUT_SECONDS,
} from "@tapestry/core/pipeline";
import { rateScheduleStartDate } from "@tapestry/core/schedule";
import { ArnFormat, Duration, Stack } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { type IEventBus, Rule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { CfnSchedule, CfnScheduleGroup } from "aws-cdk-lib/aws-scheduler";
import type { StateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { NagSuppressions } from "cdk-nag";
import type { Function as SstFunction } from "sst/constructs";
import { type StackContext, use } from "sst/constructs";
import { useProject } from "sst/project.js";
import { deadLetterQueue } from "./dead-letter-queue";
import { type Deployment, useDeployment } from "./deployment";
import { Events } from "./events";
import { allow, type TapestryFunctionProps, tapestryFunction } from "./lambda";
import { Ledger } from "./ledger";
import { namedConnectionParameterArns } from "./provisioning";
import { secretParameterArns } from "./secrets";
import { tapestryStateMachine } from "./state-machine";

export const PIPELINE_RUN_ASL = "state-machines/pipeline-run.asl.json";

/** EventBridge Scheduler's limit on a target's input. */
const SCHEDULE_INPUT_MAX_CHARS = 8192;

/**
 * Running pipelines: the task functions, the pipeline-run state machine (the ASL file, inlined
 * with its placeholders filled), and one EventBridge Scheduler schedule per configured pipeline.
 */
export function Pipelines({ stack, app }: StackContext) {
  const deployment = useDeployment(app);
  const { table } = use(Ledger);
  const { bus } = use(Events);
  // The tool-facing tasks read the tools' secrets; their HTTP client stops before the task's timeout.
  const secrets = secretParameterArns(stack, deployment);
  // a step that names its connection has it resolved from the id provisioning recorded
  const connections = namedConnectionParameterArns(stack, deployment);
  /** A task function of the state machine, with the timeout core's table gives it (core/pipeline/timeouts.ts). */
  const taskFunction = (
    id: string,
    placeholder: PipelineRunFunction,
    props: Omit<TapestryFunctionProps, "timeout" | "publishesEvents">,
  ) =>
    tapestryFunction(stack, id, deployment, {
      ...props,
      timeout: Duration.seconds(TASK_FUNCTION_TIMEOUT_SECONDS[placeholder]),
      // every task publishes the events of the run or step it handles
      publishesEvents: true,
    });

  const runLock = taskFunction("RunLock", "RunLockFunctionArn", {
    entry: "run-lock",
    description: "takes and releases a pipeline's run lock",
    environment: { TAPESTRY_LEDGER_TABLE: table.tableName },
  });
  // the lock item and the pipeline's queue (a queued run's place: put, read in order, deleted)
  allow(
    runLock,
    ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:Query"],
    [table.tableArn],
  );

  const publishEvent = taskFunction("PublishEvent", "PublishEventFunctionArn", {
    entry: "publish-event",
    description: "publishes a run's events",
  });

  const stepFunction = (
    id: string,
    placeholder: PipelineRunFunction,
    entry: "start-step" | "poll-step" | "cancel-step",
    description: string,
  ) => {
    const fn = taskFunction(id, placeholder, { entry, description, bundleConfig: true });
    if (secrets.length > 0) allow(fn, ["ssm:GetParameter"], secrets);
    if (connections.length > 0) allow(fn, ["ssm:GetParameter"], connections);
    return fn;
  };
  const startStep = stepFunction(
    "StartStep",
    "StartStepFunctionArn",
    "start-step",
    "starts (or adopts) a step's job in its tool",
  );
  const pollStep = stepFunction(
    "PollStep",
    "PollStepFunctionArn",
    "poll-step",
    "reads a step's job status from its tool",
  );
  const cancelStep = stepFunction(
    "CancelStep",
    "CancelStepFunctionArn",
    "cancel-step",
    "cancels a step's job in its tool",
  );

  // WaitForWebhook's function: registers the step's task token beside the ledger; when the job's
  // webhook came first, polls the job and sends the state machine the step's result at once
  const awaitWebhook = taskFunction("AwaitWebhook", "AwaitWebhookFunctionArn", {
    entry: "await-webhook",
    description: "registers a step's task token against its job, for the job's webhook",
    environment: { TAPESTRY_LEDGER_TABLE: table.tableName },
    bundleConfig: true,
  });
  // its fallback poll resolves a step's connection name as the step functions do
  allowTaskTokens(awaitWebhook, table, deployment, [...secrets, ...connections]);

  const tasks: Record<PipelineRunFunction, typeof runLock> = {
    RunLockFunctionArn: runLock,
    PublishEventFunctionArn: publishEvent,
    StartStepFunctionArn: startStep,
    PollStepFunctionArn: pollStep,
    CancelStepFunctionArn: cancelStep,
    AwaitWebhookFunctionArn: awaitWebhook,
  };
  const definition = fillPipelineRunDefinition(
    readFileSync(join(useProject().paths.root, PIPELINE_RUN_ASL), "utf8"),
    {
      functionArns: Object.fromEntries(
        Object.entries(tasks).map(([placeholder, fn]) => [placeholder, fn.functionArn]),
      ) as Record<PipelineRunFunction, string>,
      // the tasks run with the same settings (functions/aws/runtime/pipeline-task.ts)
      runTimeoutSeconds: definitionTimeoutSeconds(deployment.config.pipelines, DEFAULT_PIPELINE_SETTINGS),
    },
  );
  const stateMachine = tapestryStateMachine(stack, "PipelineRun", {
    deployment,
    name: pipelineRunName(deployment),
    definition,
    tasks: Object.values(tasks),
    whyErrorLogsOnly:
      "Logs at ERROR on purpose: every transition a user cares about is already a semantic event (bus, archive, ledger), and ALL would log each poll of every step at a cost that grows with the poll rate",
  });

  const schedules = scheduleEveryPipeline(stack, deployment, stateMachine.stateMachineArn);
  const reconciler = reconcileEveryEnding(stack, deployment, stateMachine, table, bus, [
    ...secrets,
    ...connections,
  ]);

  stack.addOutputs({
    StateMachineArn: stateMachine.stateMachineArn,
    ScheduleGroupName: schedules.groupName,
    ScheduleDeadLetterQueueUrl: schedules.deadLetters.queueUrl,
    ReconcilerDeadLetterQueueUrl: reconciler.deadLetters.queueUrl,
  });
  return { stateMachine };
}

/**
 * What completing a step through its task token takes: the job's TOKEN# item beside the ledger
 * (one UpdateItem per operation), the tools' secrets (the confirming poll), and SendTaskSuccess on
 * the pipeline-run state machine, named by its fixed ARN (a reference to the machine would make the
 * definition, which names the functions, and their roles depend on each other).
 */
export function allowTaskTokens(
  fn: SstFunction,
  table: ITable,
  deployment: Deployment,
  secrets: readonly string[],
): void {
  allow(fn, ["dynamodb:UpdateItem"], [table.tableArn]);
  if (secrets.length > 0) allow(fn, ["ssm:GetParameter"], secrets);
  allow(fn, ["states:SendTaskSuccess"], [pipelineRunArn(Stack.of(fn), deployment)]);
}

/** The pipeline-run state machine's ARN, from its fixed name. */
export function pipelineRunArn(stack: Stack, deployment: Deployment): string {
  return stack.formatArn({
    service: "states",
    resource: "stateMachine",
    resourceName: pipelineRunName(deployment),
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** The pipeline-run state machine's name: fixed, so its executions' ARNs are known without a lookup. */
export function pipelineRunName(deployment: Deployment): string {
  return `${deployment.prefix}-pipeline-run`;
}

/**
 * Grants an action on the pipeline-run state machine's executions (StopExecution,
 * DescribeExecution): an execution's ARN ends in its name, the run id, which no template can know,
 * so the grant names the machine's executions, `execution:<machine>:*`, and nothing wider.
 */
export function allowOnExecutions(grantee: SstFunction, deployment: Deployment, action: string): void {
  const stack = Stack.of(grantee);
  const executions = stack.formatArn({
    service: "states",
    resource: "execution",
    resourceName: `${pipelineRunName(deployment)}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  allow(grantee, [action], [executions]);
  NagSuppressions.addResourceSuppressions(
    grantee.role ?? grantee,
    [
      {
        id: "AwsSolutions-IAM5",
        reason: `${action} acts on one execution, whose ARN ends in its run id: the grant names the executions of the pipeline-run state machine (execution:${pipelineRunName(deployment)}:*) and no others`,
        appliesTo: [
          {
            regex: `/^Resource::arn:<AWS::Partition>:states:.*:execution:${pipelineRunName(deployment)}:\\*$/g`,
          },
        ],
      },
    ],
    true,
  );
}

/**
 * The run reconciler: Step Functions reports every execution that ends FAILED, TIMED_OUT or
 * ABORTED on the account's default bus ("Execution Status Change"); a rule there sends those of
 * the pipeline-run state machine to `reconcile-run`, which records the run's outcome when the
 * state machine could not, cancels the jobs it left running and frees its lock
 * (core/pipeline/reconcile.ts). A second rule, on the Tapestry bus, sends it every StepStarted:
 * a job started after its run's execution was over is cancelled (core/pipeline/late-step.ts).
 * A delivery EventBridge could not make is retried for 24 h; an invocation that failed gets
 * Lambda's two retries of an asynchronous invocation; either then lands in one dead-letter queue.
 */
function reconcileEveryEnding(
  stack: Stack,
  deployment: ReturnType<typeof useDeployment>,
  stateMachine: StateMachine,
  table: ITable,
  bus: IEventBus,
  secrets: readonly string[],
) {
  const deadLetters = deadLetterQueue(stack, "ReconcilerDeadLetters", deployment);
  const reconciler = tapestryFunction(stack, "ReconcileRun", deployment, {
    entry: "reconcile-run",
    description:
      "gives a run whose execution ended outside the state machine's paths its outcome, cancels its jobs, frees its lock",
    environment: {
      TAPESTRY_LEDGER_TABLE: table.tableName,
      TAPESTRY_STATE_MACHINE_ARN: stateMachine.stateMachineArn,
    },
    bundleConfig: true,
    publishesEvents: true,
    // the cancels of a run's jobs, each bounded by the HTTP client's deadline
    timeout: Duration.seconds(TASK_FUNCTION_TIMEOUT_SECONDS.CancelStepFunctionArn),
    deadLetterQueue: deadLetters,
  });
  // reads the run, gives back its lock and its place in the queue
  allow(reconciler, ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteItem"], [table.tableArn]);
  if (secrets.length > 0) allow(reconciler, ["ssm:GetParameter"], secrets);
  // why an execution failed, when the event does not say
  allowOnExecutions(reconciler, deployment, "states:DescribeExecution");

  // A step's start still in flight when its execution was stopped announces its job after the
  // reconciler ran: the reconciler hears every StepStarted and closes those of ended executions.
  new Rule(stack, "CloseLateSteps", {
    eventBus: bus,
    description:
      "every StepStarted, to the run reconciler: it cancels the job of a step that started after its run ended",
    eventPattern: { source: [EVENT_SOURCE], detailType: ["StepStarted"] },
    targets: [
      new LambdaFunction(reconciler, {
        deadLetterQueue: deadLetters,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      }),
    ],
  });

  new Rule(stack, "ReconcileRuns", {
    description:
      "executions of the pipeline-run state machine that failed, timed out or were aborted, to the run reconciler",
    eventPattern: {
      source: ["aws.states"],
      detailType: ["Step Functions Execution Status Change"],
      detail: { status: ["FAILED", "TIMED_OUT", "ABORTED"], stateMachineArn: [stateMachine.stateMachineArn] },
    },
    targets: [
      new LambdaFunction(reconciler, {
        deadLetterQueue: deadLetters,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      }),
    ],
  });
  return { deadLetters };
}

/**
 * One schedule per pipeline, in one schedule group. Each fires `start-scheduled-run` with the
 * pipeline's spec and the scheduled time: EventBridge Scheduler cannot name a Step Functions
 * execution without a colon (its `<aws.scheduler.scheduled-time>` is ISO 8601, and execution names
 * forbid `:`), so that function derives the name (`<pipeline>-YYYYMMDDTHHMMSSZ`) and a duplicate
 * delivery of the same fire is refused by Step Functions itself (ADR 0007).
 */
function scheduleEveryPipeline(
  stack: Stack,
  deployment: ReturnType<typeof useDeployment>,
  stateMachineArn: string,
) {
  const deadLetters = deadLetterQueue(stack, "ScheduleDeadLetters", deployment);
  const starter = tapestryFunction(stack, "StartScheduledRun", deployment, {
    entry: "start-scheduled-run",
    description: "starts a pipeline run for a schedule's fire, named after its time",
    environment: { TAPESTRY_STATE_MACHINE_ARN: stateMachineArn },
    // Scheduler invokes asynchronously: Lambda's own retries, then this queue
    deadLetterQueue: deadLetters,
  });
  allow(starter, ["states:StartExecution"], [stateMachineArn]);

  const group = new CfnScheduleGroup(stack, "Schedules", { name: deployment.prefix });
  const schedulerRole = new Role(stack, "SchedulerRole", {
    assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
      conditions: { StringEquals: { "aws:SourceAccount": Stack.of(stack).account } },
    }),
    description: `Tapestry ${deployment.stage}: EventBridge Scheduler starts pipeline runs`,
  });
  schedulerRole.addToPolicy(
    new PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [starter.functionArn] }),
  );
  schedulerRole.addToPolicy(
    new PolicyStatement({ actions: ["sqs:SendMessage"], resources: [deadLetters.queueArn] }),
  );

  for (const pipeline of deployment.config.pipelines) {
    const schedule = new CfnSchedule(stack, `Schedule-${pipeline.name}`, {
      name: pipeline.name,
      groupName: group.ref,
      description: pipeline.description?.slice(0, 512) ?? `Runs pipeline ${pipeline.name}`,
      scheduleExpression: pipeline.schedule.expression,
      scheduleExpressionTimezone: pipeline.schedule.timezone,
      // rate(): a StartDate on core's grid, so nextFireTime (status API) is Scheduler's own next fire
      startDate: rateScheduleStartDate(pipeline.schedule, deployment.synthesizedAt),
      state: pipeline.schedule.enabled ? "ENABLED" : "DISABLED",
      flexibleTimeWindow: { mode: "OFF" },
      target: {
        arn: starter.functionArn,
        roleArn: schedulerRole.roleArn,
        input: scheduleInput(pipeline),
        retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: 6 * 3600 },
        deadLetterConfig: { arn: deadLetters.queueArn },
      },
    });
    schedule.addDependency(group);
  }
  return { groupName: group.ref, deadLetters };
}

function scheduleInput(pipeline: PipelineSpec): string {
  const input = JSON.stringify({ scheduledTime: "<aws.scheduler.scheduled-time>", pipeline });
  if (input.length > SCHEDULE_INPUT_MAX_CHARS) {
    throw new Error(
      `pipelines: ${pipeline.name}'s spec is ${input.length} characters as a schedule's input, over EventBridge Scheduler's ${SCHEDULE_INPUT_MAX_CHARS}: shorten its description or split it into smaller pipelines`,
    );
  }
  return input;
}
