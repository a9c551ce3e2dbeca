import type { CloudFormationStacks, StackResourceEvent, StackState, StackTemplate } from "./cloudformation";
import { ToolStackDeployFailedError, ToolStackStuckError } from "./errors";

/**
 * The tool-stack deployer's rules (ADR 0023), one DescribeStacks at a time, so that the state
 * machine waits between calls in Wait states rather than inside a Lambda:
 * - start: no stack (or a deleted one) -> create; a settled stack -> update ("No updates are to be
 *   performed" is success, no change); ROLLBACK_COMPLETE, ROLLBACK_FAILED, CREATE_FAILED (a create
 *   that never worked) -> delete, then create ("recreate"); an earlier operation still in progress
 *   -> wait for it, then start again; UPDATE_ROLLBACK_FAILED, DELETE_FAILED -> stop, saying what to do.
 * - check: in progress; settled and deployed; settled and failed (the first failed resource since
 *   the deploy began, and its reason); or "start again" (what it waited for has ended).
 */

export type DeployAction = "create" | "update" | "recreate" | "wait";

const SETTLED_OK = new Set(["CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"]);
/** A stack that never came up: nothing in it is worth keeping, so it is deleted and created again. */
const NEVER_CREATED = new Set(["ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"]);

const STUCK: Readonly<Record<string, string>> = {
  UPDATE_ROLLBACK_FAILED:
    "an update failed and so did its rollback. In the CloudFormation console (or `aws cloudformation continue-update-rollback --stack-name <name>`, skipping the resources that cannot roll back) continue the rollback until the stack is UPDATE_ROLLBACK_COMPLETE, then provision again",
  DELETE_FAILED:
    "a delete failed: see the stack's events for the resource that could not be deleted, remove what holds it (or delete the stack again retaining that resource), then run again",
};

export function isInProgress(status: string): boolean {
  return status.endsWith("_IN_PROGRESS");
}

export interface DeployStart {
  readonly action: DeployAction;
  /** an update CloudFormation answered with "No updates are to be performed" */
  readonly noChanges: boolean;
}

/**
 * Starts (or resumes) a deploy of `template`. `recreating`: a recreate of this run is under way (its
 * delete has ended), so a missing stack is created as part of it.
 */
export async function startDeploy(cfn: CloudFormationStacks, template: StackTemplate): Promise<DeployStart> {
  const stack = await cfn.describe(template.stackName);
  if (!stack) {
    await cfn.create(template);
    return { action: "create", noChanges: false };
  }
  if (isInProgress(stack.status)) return { action: "wait", noChanges: false };
  const stuck = STUCK[stack.status];
  if (stuck) throw new ToolStackStuckError(template.stackName, stack.status, stuck);
  if (NEVER_CREATED.has(stack.status)) {
    await cfn.delete(template.stackName);
    return { action: "recreate", noChanges: false };
  }
  const answer = await cfn.update(template);
  return { action: "update", noChanges: answer === "no-changes" };
}

export type DeployCheck =
  | { readonly state: "in-progress"; readonly status: string }
  /** what the deploy waited for has ended (an earlier operation, or a recreate's delete): start again */
  | { readonly state: "start-again"; readonly status: string | null }
  | {
      readonly state: "deployed";
      readonly status: string;
      readonly outputs: Readonly<Record<string, string>>;
      readonly resourcesCreated: number;
      readonly resourcesUpdated: number;
    };

/** Where a deploy begun at `since` with `action` stands; a failed one throws ToolStackDeployFailedError. */
export async function checkDeploy(
  cfn: CloudFormationStacks,
  stackName: string,
  action: DeployAction,
  since: string,
): Promise<DeployCheck> {
  const stack = await cfn.describe(stackName);
  if (!stack) {
    if (action === "recreate" || action === "wait") return { state: "start-again", status: null };
    throw new ToolStackDeployFailedError(
      stackName,
      "DELETE_COMPLETE",
      stackName,
      "the stack was deleted while it was being deployed",
    );
  }
  if (isInProgress(stack.status)) return { state: "in-progress", status: stack.status };
  if (action === "wait") return { state: "start-again", status: stack.status };
  if (action === "recreate" && NEVER_CREATED.has(stack.status)) {
    // the delete has not been seen to start yet (eventual consistency): wait for it
    return { state: "in-progress", status: stack.status };
  }
  if (SETTLED_OK.has(stack.status)) {
    const events = lastOperation(await cfn.events(stackName, since));
    return {
      state: "deployed",
      status: stack.status,
      outputs: stack.outputs,
      resourcesCreated: countResources(events, "CREATE_COMPLETE"),
      resourcesUpdated: countResources(events, "UPDATE_COMPLETE"),
    };
  }
  throw await deployFailure(cfn, stackName, stack, since);
}

/** The first resource that failed since the deploy began, and its reason (the stack's own reason when none did). */
async function deployFailure(
  cfn: CloudFormationStacks,
  stackName: string,
  stack: StackState,
  since: string,
): Promise<ToolStackDeployFailedError> {
  const events = lastOperation(await cfn.events(stackName, since));
  const first = events.find(
    (e) => e.status.endsWith("_FAILED") && e.resourceType !== STACK_TYPE && !isCascade(e.reason),
  );
  const anyFailed = events.find((e) => e.status.endsWith("_FAILED") && e.resourceType !== STACK_TYPE);
  const culprit = first ?? anyFailed;
  return new ToolStackDeployFailedError(
    stackName,
    stack.status,
    culprit ? `${culprit.logicalId} (${culprit.resourceType}) ${culprit.status}` : stackName,
    culprit?.reason ?? stack.statusReason ?? "no reason given",
  );
}

const STACK_TYPE = "AWS::CloudFormation::Stack";

/**
 * The events of the stack's last operation: from its last CREATE_IN_PROGRESS or UPDATE_IN_PROGRESS
 * of the stack itself. `since` (this deploy's start by the task's clock) bounds the read; the
 * operation's own start event makes the count independent of the two clocks' skew.
 */
function lastOperation(events: readonly StackResourceEvent[]): readonly StackResourceEvent[] {
  let start = -1;
  events.forEach((e, i) => {
    if (
      e.resourceType === STACK_TYPE &&
      (e.status === "CREATE_IN_PROGRESS" || e.status === "UPDATE_IN_PROGRESS")
    )
      start = i;
  });
  return start < 0 ? events : events.slice(start);
}

/** CloudFormation's follow-on failures ("Resource creation cancelled") are not the cause. */
function isCascade(reason: string | undefined): boolean {
  return reason !== undefined && /resource creation cancelled|resource update cancelled/i.test(reason);
}

function countResources(events: readonly StackResourceEvent[], status: string): number {
  return new Set(
    events.filter((e) => e.status === status && e.resourceType !== STACK_TYPE).map((e) => e.logicalId),
  ).size;
}

export type DeleteCheck =
  | { readonly state: "in-progress"; readonly status: string }
  | { readonly state: "deleted" };

/** Deletes the stack (nothing to do when there is none); true when a delete was asked for. */
export async function startDelete(cfn: CloudFormationStacks, stackName: string): Promise<boolean> {
  const stack = await cfn.describe(stackName);
  if (!stack) return false;
  if (stack.status === "DELETE_IN_PROGRESS") return true;
  if (isInProgress(stack.status)) {
    throw new ToolStackStuckError(
      stackName,
      stack.status,
      "an operation is still going on it: wait for it to end (GET /stacks), then deprovision again",
    );
  }
  await cfn.delete(stackName);
  return true;
}

/** Whether the delete has ended; DELETE_FAILED throws ToolStackStuckError naming the resource. */
export async function checkDelete(
  cfn: CloudFormationStacks,
  stackName: string,
  since: string,
): Promise<DeleteCheck> {
  const stack = await cfn.describe(stackName);
  if (!stack) return { state: "deleted" };
  if (isInProgress(stack.status)) return { state: "in-progress", status: stack.status };
  if (stack.status === "DELETE_FAILED") {
    const events = await cfn.events(stackName, since);
    const failed = events.find((e) => e.status === "DELETE_FAILED" && e.resourceType !== STACK_TYPE);
    throw new ToolStackStuckError(
      stackName,
      stack.status,
      `${failed ? `${failed.logicalId} (${failed.resourceType}) could not be deleted: ${failed.reason ?? "no reason given"}. ` : ""}${STUCK.DELETE_FAILED}`,
    );
  }
  // settled in another state: the delete did not take (asked again by the next deprovision)
  throw new ToolStackStuckError(
    stackName,
    stack.status,
    "the delete did not start: deprovision again, or delete the stack in the CloudFormation console",
  );
}
