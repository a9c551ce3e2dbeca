import { TapestryError } from "../../errors";

/**
 * What deploying a tool's stack can fail with. The state machine retries
 * CloudFormationUnavailableError (throttled, 5xx) and ToolStackBusyError; every other is a stop
 * that names what to do, and ProvisioningFailed (or DeprovisioningFailed) carries its message.
 */

/** CloudFormation said "not now" (throttling, a 5xx, a dropped connection): worth retrying. */
export class CloudFormationUnavailableError extends TapestryError {
  override readonly name = "CloudFormationUnavailableError";
}

/** CloudFormation refused the request (validation, access denied, a template it cannot read): a retry would not help. */
export class CloudFormationRequestError extends TapestryError {
  override readonly name = "CloudFormationRequestError";
}

/** A tool's stack ended its deploy failed: the first resource that failed and why (DescribeStackEvents). */
export class ToolStackDeployFailedError extends TapestryError {
  override readonly name = "ToolStackDeployFailedError";
  constructor(
    readonly stackName: string,
    /** the stack's status at the end, e.g. ROLLBACK_COMPLETE, UPDATE_ROLLBACK_COMPLETE */
    readonly status: string,
    /** the first resource that failed (its logical id), or the stack's name when none is known */
    readonly resource: string,
    readonly reason: string,
  ) {
    super(
      `stack ${stackName} failed (${status}): ${resource}: ${reason}. Fix the cause, then provision again (docs/self-hosting.md, "Recovering from a failed deploy")`,
    );
  }
}

/**
 * A tool's stack is in a state no deploy can move on from (UPDATE_ROLLBACK_FAILED, DELETE_FAILED):
 * the message says what the user does before running again.
 */
export class ToolStackStuckError extends TapestryError {
  override readonly name = "ToolStackStuckError";
  constructor(
    readonly stackName: string,
    readonly status: string,
    whatToDo: string,
  ) {
    super(`stack ${stackName} is in ${status}: ${whatToDo}`);
  }
}

/** A tool's stack was still in progress at its deadline: the run stops waiting (the stack goes on). */
export class ToolStackDeadlineError extends TapestryError {
  override readonly name = "ToolStackDeadlineError";
  constructor(
    readonly stackName: string,
    readonly status: string,
    minutes: number,
  ) {
    super(
      `stack ${stackName} was still ${status} after ${minutes} minutes: see its events; provisioning again waits for it and carries on`,
    );
  }
}

/** A self-hosted tool never answered its health route before its deadline. */
export class ToolNeverHealthyError extends TapestryError {
  override readonly name = "ToolNeverHealthyError";
  constructor(
    readonly tool: string,
    readonly url: string,
    minutes: number,
    lastAnswer: string,
    whatToCheck: string,
  ) {
    super(
      `${tool} did not answer ${url} healthy within ${minutes} minutes (last: ${lastAnswer}); check ${whatToCheck}`,
    );
  }
}

/** The deployer has no template for a self-hosted tool (TAPESTRY_TOOL_STACKS lacks it): the app was deployed with another config. */
export class ToolStackNotConfiguredError extends TapestryError {
  override readonly name = "ToolStackNotConfiguredError";
  constructor(readonly tool: string) {
    super(
      `no stack template for ${tool}: deploy the app with the config that self-hosts it, then provision again`,
    );
  }
}
