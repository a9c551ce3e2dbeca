/**
 * A small model of CloudFormation's stack lifecycle behind aws-sdk-client-mock: each DescribeStacks
 * moves a stack one status along the path its last operation scripted (CREATE_IN_PROGRESS ->
 * CREATE_COMPLETE, or -> CREATE_FAILED of a resource -> ROLLBACK_IN_PROGRESS -> ROLLBACK_COMPLETE,
 * ...), and DescribeStackEvents answers the resources' events as CloudFormation would (newest
 * first). The deployer under test is the real adapter (CloudFormationToolStacks) on this client.
 */
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type StackEvent,
  UpdateStackCommand,
} from "@aws-sdk/client-cloudformation";
import { CloudFormationToolStacks } from "@tapestry/core/adapters/aws";
import type { StackTemplate, StackTool } from "@tapestry/core/provisioning/stacks";
import { mockClient } from "aws-sdk-client-mock";

export type Script =
  | { readonly kind: "ok"; readonly resources?: number }
  | {
      readonly kind: "fail";
      readonly logicalId: string;
      readonly resourceType: string;
      readonly reason: string;
    }
  /** stays in progress for ever */
  | { readonly kind: "hang" }
  | { readonly kind: "no-changes" };

interface ModelStack {
  readonly name: string;
  readonly id: string;
  status: string;
  /** the statuses still to go through, one per DescribeStacks */
  path: { status: string; events: PathEvent[] }[];
  events: StackEvent[];
  outputs: Record<string, string>;
  templateParameters: Record<string, string>;
}

const OUTPUTS: Readonly<Record<StackTool, Record<string, string>>> = {
  airbyte: {
    Url: "https://airbyte.rain-shield.example",
    LoadBalancerDnsName: "tapestry-airbyte-123.us-east-1.elb.amazonaws.com",
    HttpOnly: "false",
    InstanceId: "i-0123456789abcdef0",
    BucketName: "tapestry-test-airbyte-bucket-1a2b3c",
  },
  grouparoo: {
    Url: "https://grouparoo.rain-shield.example",
    LoadBalancerDnsName: "tapestry-grouparoo-456.us-east-1.elb.amazonaws.com",
    HttpOnly: "false",
    ClusterName: "tapestry-test-grouparoo",
    WebServiceName: "grouparoo-web",
    WorkerServiceName: "grouparoo-worker",
  },
};

export const TEMPLATES: Readonly<Record<StackTool, StackTemplate>> = {
  airbyte: {
    stackName: "tapestry-test-airbyte",
    templateUrl: "https://cdk-assets.s3.us-east-1.amazonaws.com/airbyte.template.json",
    parameters: {
      VpcId: "vpc-0123456789abcdef0",
      AirbyteClientIdParameter: "/tapestry/test/secrets/AIRBYTE_CLIENT_ID",
    },
  },
  grouparoo: {
    stackName: "tapestry-test-grouparoo",
    templateUrl: "https://cdk-assets.s3.us-east-1.amazonaws.com/grouparoo.template.json",
    parameters: { VpcId: "vpc-0123456789abcdef0", GrouparooConfigBucket: "tapestry-test-grouparoo-config" },
  },
};

const toolOf = (name: string): StackTool => (name.endsWith("grouparoo") ? "grouparoo" : "airbyte");

export class CloudFormationModel {
  readonly client = new CloudFormationClient({
    region: "us-east-1",
    credentials: { accessKeyId: "AKIATESTTESTTESTTEST", secretAccessKey: "test" },
  });
  readonly mock = mockClient(this.client);
  readonly stacks = new Map<string, ModelStack>();
  /** what the next create / update of each stack does */
  readonly next: { create: Partial<Record<StackTool, Script>>; update: Partial<Record<StackTool, Script>> } =
    {
      create: {},
      update: {},
    };
  /** every mutating call, in order: "create tapestry-test-airbyte" ... */
  readonly calls: string[] = [];
  private clock = Date.parse("2026-12-07T00:00:00Z");
  private seq = 0;

  constructor() {
    this.mock.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => {
      const stack = this.stacks.get(input.StackName);
      if (!stack) throw sdkError("ValidationError", `Stack with id ${input.StackName} does not exist`);
      this.advance(stack);
      if (stack.status === "DELETE_COMPLETE") {
        this.stacks.delete(stack.name);
        throw sdkError("ValidationError", `Stack with id ${input.StackName} does not exist`);
      }
      return {
        Stacks: [
          {
            StackName: stack.name,
            StackId: stack.id,
            StackStatus: stack.status,
            CreationTime: new Date(),
            Outputs: Object.entries(stack.outputs).map(([OutputKey, OutputValue]) => ({
              OutputKey,
              OutputValue,
            })),
          },
        ],
      };
    });
    this.mock.on(DescribeStackEventsCommand).callsFake((input: { StackName: string }) => ({
      StackEvents: [...(this.stacks.get(input.StackName)?.events ?? [])].reverse(),
    }));
    this.mock
      .on(CreateStackCommand)
      .callsFake(
        (input: { StackName: string; Parameters?: { ParameterKey?: string; ParameterValue?: string }[] }) => {
          this.calls.push(`create ${input.StackName}`);
          if (this.stacks.has(input.StackName))
            throw sdkError("AlreadyExistsException", `Stack [${input.StackName}] already exists`);
          const tool = toolOf(input.StackName);
          const stack: ModelStack = {
            name: input.StackName,
            id: `arn:aws:cloudformation:us-east-1:123456789012:stack/${input.StackName}/${++this.seq}`,
            status: "CREATE_IN_PROGRESS",
            path: [],
            events: [],
            outputs: {},
            templateParameters: Object.fromEntries(
              (input.Parameters ?? []).map((p) => [p.ParameterKey ?? "", p.ParameterValue ?? ""]),
            ),
          };
          this.stacks.set(input.StackName, stack);
          this.record(stack, stack.name, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS");
          const script = this.next.create[tool] ?? { kind: "ok" };
          delete this.next.create[tool];
          stack.path = this.createPath(tool, script);
          return { StackId: stack.id };
        },
      );
    this.mock.on(UpdateStackCommand).callsFake((input: { StackName: string }) => {
      this.calls.push(`update ${input.StackName}`);
      const stack = this.stacks.get(input.StackName);
      if (!stack) throw sdkError("ValidationError", `Stack [${input.StackName}] does not exist`);
      const tool = toolOf(input.StackName);
      const script = this.next.update[tool] ?? { kind: "no-changes" };
      delete this.next.update[tool];
      if (script.kind === "no-changes") throw sdkError("ValidationError", "No updates are to be performed.");
      stack.status = "UPDATE_IN_PROGRESS";
      this.record(stack, stack.name, "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS");
      stack.path = this.updatePath(tool, script);
      return { StackId: stack.id };
    });
    this.mock.on(DeleteStackCommand).callsFake((input: { StackName: string }) => {
      this.calls.push(`delete ${input.StackName}`);
      const stack = this.stacks.get(input.StackName);
      if (!stack) return {};
      stack.status = "DELETE_IN_PROGRESS";
      this.record(stack, stack.name, "AWS::CloudFormation::Stack", "DELETE_IN_PROGRESS");
      stack.path = [
        {
          status: "DELETE_IN_PROGRESS",
          events: [ev("Resources", "AWS::CloudFormation::WaitCondition", "DELETE_COMPLETE")],
        },
        {
          status: "DELETE_COMPLETE",
          events: [ev(stack.name, "AWS::CloudFormation::Stack", "DELETE_COMPLETE")],
        },
      ];
      return {};
    });
  }

  /** The deployer's adapter on this model. */
  adapter(): CloudFormationToolStacks {
    return new CloudFormationToolStacks(
      this.client,
      "arn:aws:iam::123456789012:role/tapestry-test-tool-stacks",
    );
  }

  /** Puts a stack in a status as an earlier run left it. */
  seed(tool: StackTool, status: string, outputs: Record<string, string> = {}): void {
    const name = TEMPLATES[tool].stackName;
    this.stacks.set(name, {
      name,
      id: `arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/seeded`,
      status,
      path: [],
      events: [],
      outputs,
      templateParameters: {},
    });
  }

  restore(): void {
    this.mock.restore();
  }

  private createPath(tool: StackTool, script: Script): ModelStack["path"] {
    if (script.kind === "hang")
      return Array.from({ length: 10_000 }, () => ({ status: "CREATE_IN_PROGRESS", events: [] }));
    if (script.kind === "fail") {
      return [
        {
          status: "CREATE_IN_PROGRESS",
          events: [
            ev("Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE"),
            ev(script.logicalId, script.resourceType, "CREATE_IN_PROGRESS"),
          ],
        },
        {
          status: "ROLLBACK_IN_PROGRESS",
          events: [
            ev(script.logicalId, script.resourceType, "CREATE_FAILED", script.reason),
            ev(
              "LoadBalancer",
              "AWS::ElasticLoadBalancingV2::LoadBalancer",
              "CREATE_FAILED",
              "Resource creation cancelled",
            ),
          ],
        },
        { status: "ROLLBACK_COMPLETE", events: [ev("Bucket", "AWS::S3::Bucket", "DELETE_COMPLETE")] },
      ];
    }
    const resources = script.kind === "ok" ? (script.resources ?? 12) : 0;
    return [
      { status: "CREATE_IN_PROGRESS", events: [] },
      {
        status: "CREATE_COMPLETE",
        events: [
          ...Array.from({ length: resources }, (_, i) =>
            ev(`Resource${i}`, "AWS::EC2::SecurityGroup", "CREATE_COMPLETE"),
          ),
          ev(TEMPLATES[tool].stackName, "AWS::CloudFormation::Stack", "CREATE_COMPLETE"),
        ],
        outputs: OUTPUTS[tool],
      } as ModelStack["path"][number],
    ];
  }

  private updatePath(tool: StackTool, script: Script): ModelStack["path"] {
    if (script.kind === "fail") {
      return [
        {
          status: "UPDATE_IN_PROGRESS",
          events: [ev(script.logicalId, script.resourceType, "UPDATE_FAILED", script.reason)],
        },
        { status: "UPDATE_ROLLBACK_IN_PROGRESS", events: [] },
        { status: "UPDATE_ROLLBACK_COMPLETE", events: [] },
      ];
    }
    const changed = script.kind === "ok" ? (script.resources ?? 2) : 0;
    return [
      { status: "UPDATE_IN_PROGRESS", events: [] },
      {
        status: "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        events: Array.from({ length: changed }, (_, i) =>
          ev(`Changed${i}`, "AWS::ECS::TaskDefinition", "UPDATE_COMPLETE"),
        ),
      },
      {
        status: "UPDATE_COMPLETE",
        events: [ev(TEMPLATES[tool].stackName, "AWS::CloudFormation::Stack", "UPDATE_COMPLETE")],
      },
    ];
  }

  private advance(stack: ModelStack): void {
    const step = stack.path.shift();
    if (!step) return;
    stack.status = step.status;
    for (const e of step.events)
      this.record(
        stack,
        e.LogicalResourceId ?? "",
        e.ResourceType ?? "",
        e.ResourceStatus ?? "",
        e.ResourceStatusReason,
      );
    const outputs = (step as { outputs?: Record<string, string> }).outputs;
    if (outputs) stack.outputs = { ...outputs };
  }

  private record(stack: ModelStack, logicalId: string, type: string, status: string, reason?: string): void {
    // event times are real time, strictly increasing, as "since the deploy began" reads them
    this.clock = Math.max(this.clock + 1, Date.now());
    stack.events.push({
      StackName: stack.name,
      StackId: stack.id,
      EventId: `${++this.seq}`,
      LogicalResourceId: logicalId,
      ResourceType: type,
      ResourceStatus: status as StackEvent["ResourceStatus"],
      ...(reason ? { ResourceStatusReason: reason } : {}),
      Timestamp: new Date(this.clock),
    });
  }
}

type PathEvent = Pick<
  StackEvent,
  "LogicalResourceId" | "ResourceType" | "ResourceStatus" | "ResourceStatusReason"
>;

function ev(logicalId: string, type: string, status: string, reason?: string): PathEvent {
  return {
    LogicalResourceId: logicalId,
    ResourceType: type,
    ResourceStatus: status as StackEvent["ResourceStatus"],
    ...(reason ? { ResourceStatusReason: reason } : {}),
  };
}

function sdkError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  Object.assign(error, { $metadata: { httpStatusCode: 400 }, $fault: "client" });
  return error;
}
