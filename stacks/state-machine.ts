/**
 * A Tapestry state machine (pipeline-run, provision): Standard, X-Ray, errors logged without
 * execution data to a vended log group, allowed to invoke exactly its task functions' unqualified
 * ARNs (what the definition names, not `<arn>:*` as grantInvoke would), and its two cdk-nag
 * findings answered. One place, so the two machines cannot drift apart.
 */
import { RemovalPolicy, type Stack } from "aws-cdk-lib";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from "aws-cdk-lib/aws-stepfunctions";
import { NagSuppressions } from "cdk-nag";
import type { Function as SstFunction } from "sst/constructs";
import type { Deployment } from "./deployment";
import { allow } from "./lambda";

export function tapestryStateMachine(
  stack: Stack,
  id: string,
  options: {
    readonly deployment: Deployment;
    readonly name: string;
    /** the ASL with its placeholders filled */
    readonly definition: string;
    readonly tasks: readonly SstFunction[];
    /** why ERROR-level logs are enough for this machine (cdk-nag AwsSolutions-SF1) */
    readonly whyErrorLogsOnly: string;
  },
): StateMachine {
  const { deployment, name, definition, tasks, whyErrorLogsOnly } = options;
  const stateMachine = new StateMachine(stack, id, {
    stateMachineName: name,
    stateMachineType: StateMachineType.STANDARD,
    // inline, not an S3 asset: the template shows (and the tests compare) the definition itself
    definitionBody: DefinitionBody.fromString(definition),
    logs: {
      destination: new LogGroup(stack, `${id}Logs`, {
        // Step Functions wants its vended log groups under /aws/vendedlogs/ (resource policy size)
        logGroupName: `/aws/vendedlogs/states/${name}`,
        retention: deployment.aws.logRetentionDays as RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      level: LogLevel.ERROR,
      // execution data holds the tools' answers (ids, URLs, errors): kept out of the logs
      includeExecutionData: false,
    },
    tracingEnabled: true,
  });
  allow(
    stateMachine,
    ["lambda:InvokeFunction"],
    tasks.map((fn) => fn.functionArn),
  );
  NagSuppressions.addResourceSuppressions(
    stateMachine,
    [
      { id: "AwsSolutions-SF1", reason: whyErrorLogsOnly },
      {
        id: "AwsSolutions-IAM5",
        reason:
          "Resource * where AWS requires it: the CloudWatch Logs delivery actions (logs:CreateLogDelivery and the others Step Functions needs to log) and X-Ray's PutTraceSegments/PutTelemetryRecords/GetSampling* have no resource-level permissions (test/infra lists every wildcard statement)",
        appliesTo: ["Resource::*"],
      },
    ],
    true,
  );
  return stateMachine;
}
