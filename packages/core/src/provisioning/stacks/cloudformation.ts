/**
 * The little of CloudFormation the tool-stack deployer needs (ADR 0023): one stack by name, its
 * template from a URL, its resources' events. The AWS adapter is core/adapters/aws
 * cloudformation-stacks.ts; embedded, a local deployer answers the same questions (the tools'
 * sandboxes as "stacks").
 */

/** The tools Tapestry can host (stacks/tools/names.ts SELF_HOSTABLE_TOOLS). */
export const STACK_TOOLS = ["airbyte", "grouparoo"] as const;
export type StackTool = (typeof STACK_TOOLS)[number];

export interface StackTemplate {
  readonly stackName: string;
  /** the template's S3 URL (a template asset of the app) */
  readonly templateUrl: string;
  /** the CloudFormation parameters only the deployed app knows (stacks/tools/contracts.ts) */
  readonly parameters: Readonly<Record<string, string>>;
}

export interface StackState {
  readonly stackId: string;
  /** CloudFormation's StackStatus, e.g. CREATE_IN_PROGRESS */
  readonly status: string;
  readonly statusReason?: string;
  readonly outputs: Readonly<Record<string, string>>;
}

/** One event of a stack's resources (or of the stack itself, whose type is AWS::CloudFormation::Stack). */
export interface StackResourceEvent {
  /** ISO 8601 */
  readonly timestamp: string;
  readonly logicalId: string;
  readonly resourceType: string;
  readonly status: string;
  readonly reason?: string;
}

export interface CloudFormationStacks {
  /** The stack by name; undefined when there is none (or only a deleted one). */
  describe(stackName: string): Promise<StackState | undefined>;
  create(template: StackTemplate): Promise<void>;
  /** "no-changes" when CloudFormation answers that there is nothing to update. */
  update(template: StackTemplate): Promise<"updating" | "no-changes">;
  delete(stackName: string): Promise<void>;
  /** The stack's events at or after `since` (ISO 8601), oldest first. */
  events(stackName: string, since: string): Promise<readonly StackResourceEvent[]>;
}
