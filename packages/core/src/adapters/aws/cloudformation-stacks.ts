import {
  type CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Parameter,
  UpdateStackCommand,
} from "@aws-sdk/client-cloudformation";
import type {
  CloudFormationStacks,
  StackResourceEvent,
  StackState,
  StackTemplate,
} from "../../provisioning/stacks/cloudformation";
import { CloudFormationRequestError, CloudFormationUnavailableError } from "../../provisioning/stacks/errors";
import { describeSdkError, isTransientSdkError } from "./sdk-errors";

/**
 * The tool stacks on CloudFormation (AWS SDK v3): deployed with the stacks' service role (RoleARN),
 * so the deployer's own role needs only CloudFormation on the stacks by name and iam:PassRole.
 * The stacks make IAM roles and name none: CAPABILITY_IAM. "Not now" answers become
 * CloudFormationUnavailableError (the state machine retries it), refusals CloudFormationRequestError.
 */
export class CloudFormationToolStacks implements CloudFormationStacks {
  constructor(
    private readonly client: CloudFormationClient,
    private readonly roleArn: string,
  ) {}

  async describe(stackName: string): Promise<StackState | undefined> {
    try {
      const answer = await this.client.send(new DescribeStacksCommand({ StackName: stackName }));
      const stack = answer.Stacks?.[0];
      if (!stack?.StackStatus || stack.StackStatus === "DELETE_COMPLETE") return undefined;
      return {
        stackId: stack.StackId ?? stackName,
        status: stack.StackStatus,
        ...(stack.StackStatusReason ? { statusReason: stack.StackStatusReason } : {}),
        outputs: Object.fromEntries(
          (stack.Outputs ?? []).flatMap((o) =>
            o.OutputKey && o.OutputValue !== undefined ? [[o.OutputKey, o.OutputValue]] : [],
          ),
        ),
      };
    } catch (error) {
      // DescribeStacks on a name with no stack is a ValidationError "Stack with id <name> does not exist"
      if (/does not exist/.test(describeSdkError(error))) return undefined;
      throw this.failure("describe", stackName, error);
    }
  }

  async create(template: StackTemplate): Promise<void> {
    try {
      await this.client.send(
        new CreateStackCommand({
          StackName: template.stackName,
          TemplateURL: template.templateUrl,
          Parameters: parameters(template),
          Capabilities: ["CAPABILITY_IAM"],
          RoleARN: this.roleArn,
          // a failed create rolls back to ROLLBACK_COMPLETE, which the next run deletes and creates again
          OnFailure: "ROLLBACK",
          Tags: [{ Key: "tapestry:stack", Value: template.stackName }],
        }),
      );
    } catch (error) {
      // a create whose answer was lost: the retry finds the stack there and the check follows it
      if (/AlreadyExistsException/.test(describeSdkError(error))) return;
      throw this.failure("create", template.stackName, error);
    }
  }

  async update(template: StackTemplate): Promise<"updating" | "no-changes"> {
    try {
      await this.client.send(
        new UpdateStackCommand({
          StackName: template.stackName,
          TemplateURL: template.templateUrl,
          Parameters: parameters(template),
          Capabilities: ["CAPABILITY_IAM"],
          RoleARN: this.roleArn,
        }),
      );
      return "updating";
    } catch (error) {
      if (/No updates are to be performed/.test(describeSdkError(error))) return "no-changes";
      throw this.failure("update", template.stackName, error);
    }
  }

  async delete(stackName: string): Promise<void> {
    try {
      await this.client.send(new DeleteStackCommand({ StackName: stackName, RoleARN: this.roleArn }));
    } catch (error) {
      throw this.failure("delete", stackName, error);
    }
  }

  async events(stackName: string, since: string): Promise<readonly StackResourceEvent[]> {
    const sinceMs = Date.parse(since);
    const found: StackResourceEvent[] = [];
    let nextToken: string | undefined;
    try {
      // newest first: page back until the events are older than the deploy
      do {
        const page = await this.client.send(
          new DescribeStackEventsCommand({ StackName: stackName, NextToken: nextToken }),
        );
        let older = false;
        for (const e of page.StackEvents ?? []) {
          const at = e.Timestamp ? new Date(e.Timestamp).getTime() : 0;
          if (at < sinceMs) {
            older = true;
            continue;
          }
          found.push({
            timestamp: new Date(at).toISOString(),
            logicalId: e.LogicalResourceId ?? "",
            resourceType: e.ResourceType ?? "",
            status: e.ResourceStatus ?? "",
            ...(e.ResourceStatusReason ? { reason: e.ResourceStatusReason } : {}),
          });
        }
        nextToken = older ? undefined : page.NextToken;
      } while (nextToken);
    } catch (error) {
      throw this.failure("read the events of", stackName, error);
    }
    return found.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  }

  private failure(what: string, stackName: string, error: unknown): Error {
    const message = `could not ${what} stack ${stackName}: ${describeSdkError(error)}`;
    return isTransientSdkError(error)
      ? new CloudFormationUnavailableError(message, { cause: error })
      : new CloudFormationRequestError(message, { cause: error });
  }
}

function parameters(template: StackTemplate): Parameter[] {
  return Object.entries(template.parameters).map(([ParameterKey, ParameterValue]) => ({
    ParameterKey,
    ParameterValue,
  }));
}
