import { Duration, RemovalPolicy, type Stack } from "aws-cdk-lib";
import { type IGrantable, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { NagSuppressions } from "cdk-nag";
import { Function as SstFunction } from "sst/constructs";
import { ENTRY_DIR, functionBundling } from "./bundling";
import type { Deployment } from "./deployment";
import { allowNetworkInterfaces, placementOf } from "./tools/network";

/** The deployed entry points, one file each in functions/aws/. */
export type EntryPoint =
  | "run-lock"
  | "publish-event"
  | "start-step"
  | "poll-step"
  | "cancel-step"
  | "start-scheduled-run"
  | "reconcile-run"
  | "project-event"
  | "status-api"
  | "provisioning-run"
  | "bootstrap-warehouse"
  | "ensure-airbyte"
  | "write-grouparoo-config"
  | "tool-stack"
  | "tool-health"
  | "deprovisioning-run"
  | "record-metrics"
  | "evaluate-alerts"
  | "check-freshness"
  | "notify-slack"
  | "await-webhook"
  | "webhook-receiver";

export interface TapestryFunctionProps {
  readonly entry: EntryPoint;
  readonly description: string;
  /** the function's own variables (see functions/aws/runtime/environment.ts); the stage and Powertools' are added */
  readonly environment?: Readonly<Record<string, string>>;
  /** inline the validated config at bundle time (`__TAPESTRY_CONFIG__`): never in the environment, whose 4 KB it would outgrow */
  readonly bundleConfig?: boolean;
  readonly timeout?: Duration;
  /** for asynchronously invoked functions: where an event goes once Lambda's own retries are spent */
  readonly deadLetterQueue?: IQueue;
  /**
   * The function publishes Tapestry's events: it gets the bus's name (TAPESTRY_EVENT_BUS) and the
   * right to put events on it, and its role is one of those the bus policy lets put `tapestry.*`
   * events (stacks/event-publishers.ts). No other role can.
   */
  readonly publishesEvents?: boolean;
}

/**
 * One Lambda of the control plane, the same way every time: Node 24 on arm64, ESM bundled and
 * minified by SST's esbuild (stacks/bundling.ts), active X-Ray tracing, Powertools configured from the environment.
 * Each function gets its own role (no managed policy: it may write to its own log group and
 * nothing else until the stack grants exactly what it uses) and its own log group, so retention
 * is set without CDK's log-retention custom resource. With a self-hosted tool, the functions that
 * call the tools run in the tool network's private subnets (stacks/tools/network.ts, by entry).
 */
export function tapestryFunction(
  stack: Stack,
  id: string,
  deployment: Deployment,
  props: TapestryFunctionProps,
): SstFunction {
  const logGroup = new LogGroup(stack, `${id}Logs`, {
    retention: deployment.aws.logRetentionDays as RetentionDays,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new Role(stack, `${id}Role`, {
    assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
    description: `Tapestry ${deployment.stage}: ${props.description}`,
  });
  role.addToPolicy(
    new PolicyStatement({
      actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
      resources: [logGroup.logGroupArn],
    }),
  );
  const placement = placementOf(deployment, props.entry);
  if (placement) allowNetworkInterfaces(stack, role, placement.network);
  const fn = new SstFunction(stack, id, {
    handler: `${ENTRY_DIR}/${props.entry}.handler`,
    description: `Tapestry ${deployment.stage}: ${props.description}`,
    runtime: "nodejs24.x",
    architecture: "arm_64",
    memorySize: "512 MB",
    timeout: `${(props.timeout ?? Duration.seconds(30)).toSeconds()} seconds`,
    tracing: "active",
    role,
    logGroup,
    deadLetterQueue: props.deadLetterQueue,
    ...(placement
      ? {
          vpc: placement.network.vpc,
          vpcSubnets: { subnets: [...placement.subnets] },
          securityGroups: [placement.network.functionSecurityGroup],
        }
      : {}),
    environment: {
      TAPESTRY_STAGE: deployment.stage,
      POWERTOOLS_SERVICE_NAME: `tapestry-${props.entry}`,
      POWERTOOLS_METRICS_NAMESPACE: "Tapestry",
      POWERTOOLS_LOG_LEVEL: "INFO",
      ...(props.publishesEvents ? { TAPESTRY_EVENT_BUS: deployment.publishers.bus.eventBusName } : {}),
      ...props.environment,
    },
    nodejs: functionBundling(props.bundleConfig ? deployment.config : undefined),
  });
  if (props.publishesEvents) deployment.publishers.add(stack, role);
  NagSuppressions.addResourceSuppressions(
    role,
    [
      {
        id: "AwsSolutions-IAM5",
        reason:
          "Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions, so AWS requires Resource * (test/infra lists every wildcard statement)",
        appliesTo: ["Resource::*"],
      },
    ],
    true,
  );
  return fn;
}

/** Grants exactly `actions` on exactly `resources`: the stacks' only way to widen a role. */
export function allow(grantee: IGrantable, actions: readonly string[], resources: readonly string[]): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({ actions: [...actions], resources: [...resources] }),
  );
}
