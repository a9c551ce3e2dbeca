import { ProblemError, TapestryError, ToolError, type ToolName } from "../errors";

/**
 * The objects a tool holds under one declared name cannot be ensured as they are: two objects share
 * the name (both ids named), an object of that name is of another type, or a connection reads from
 * another source than the config says. Nothing is changed about it; the fix is the user's (rename
 * or delete the object in the tool, or rename it in the config), and the message says which.
 */
export class ToolObjectConflictError extends ToolError {
  override readonly name = "ToolObjectConflictError";
  constructor(
    tool: ToolName,
    message: string,
    /** the ids of the objects in the way */
    readonly ids: readonly string[],
  ) {
    super(tool, message);
  }
}

/**
 * A pipeline step names a connection (`connection: "<name>"`) that provisioning has not recorded
 * yet: provisioning has never run on this stage, or failed before it ensured the connection. The
 * step fails (a retry would not help); the message says to provision.
 */
export class ConnectionNotProvisionedError extends TapestryError {
  override readonly name = "ConnectionNotProvisionedError";
  constructor(
    readonly connection: string,
    options?: { cause?: unknown },
  ) {
    super(
      `the Airbyte connection "${connection}" has not been provisioned: run provisioning (POST /provisioning, or restart tapestry local) so that its id is recorded`,
      options,
    );
  }
}

/** What provisioning recorded could not be read or written for now (SSM, DynamoDB, SQLite busy): worth retrying. */
export class ProvisioningStoreUnavailableError extends TapestryError {
  override readonly name = "ProvisioningStoreUnavailableError";
}

/** Another provisioning run holds the stage's provisioning lock: one at a time, or they would race on names. */
export class ProvisioningBusyError extends ProblemError {
  override readonly name = "ProvisioningBusyError";
  constructor(readonly activeRunId: string) {
    super(`provisioning run ${activeRunId} is still going: wait for it to end (GET /provisioning)`, {
      status: 409,
      type: "provisioning-busy",
      title: "Provisioning is already running",
      extras: { activeRunId },
    });
  }
}

/**
 * The config cannot be provisioned as it is (the deployed one, read again by the state machine):
 * e.g. it has no airbyte, grouparoo or warehouse section, so there is nothing to provision.
 */
export class ProvisioningInputError extends TapestryError {
  override readonly name = "ProvisioningInputError";
}

/** The config declares nothing to provision: no warehouse, airbyte or grouparoo section. */
export class NothingToProvisionError extends ProblemError {
  override readonly name = "NothingToProvisionError";
  constructor() {
    super(
      "the config declares nothing to provision: add a warehouse, airbyte or grouparoo section to tapestry.config.ts",
      { status: 409, type: "nothing-to-provision", title: "There is nothing to provision" },
    );
  }
}

/** GET /provisioning before any provisioning run. */
export class ProvisioningNotFoundError extends ProblemError {
  override readonly name = "ProvisioningNotFoundError";
  constructor() {
    super("no provisioning run yet: start one with POST /provisioning", {
      status: 404,
      type: "provisioning-not-found",
      title: "No provisioning run yet",
    });
  }
}

/** A task of a provisioning run found no record of it: the run was not begun (a bug, or a store emptied by hand). */
export class ProvisioningRunMissingError extends TapestryError {
  override readonly name = "ProvisioningRunMissingError";
  constructor(readonly runId: string) {
    super(`provisioning run ${runId} has no record: it was not begun`);
  }
}

/** The deployment runs no provisioning (no Provisioning stack): /provisioning has nothing to answer. */
export class ProvisioningUnavailableError extends ProblemError {
  override readonly name = "ProvisioningUnavailableError";
  constructor() {
    super("this deployment has no provisioning: it is deployed with the Provisioning stack", {
      status: 404,
      type: "provisioning-unavailable",
      title: "Provisioning is not deployed here",
    });
  }
}
