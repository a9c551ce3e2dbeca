import type { StepSpec, ToolsConfig } from "../config";
import { ToolAuthError, ToolError, type ToolName } from "../errors";
import { ConnectionNotProvisionedError } from "../provisioning/errors";
import { createAirbyteConnector } from "./airbyte/connector";
import { createDbtCloudConnector } from "./dbt-cloud/connector";
import { createGrouparooConnector } from "./grouparoo/connector";
import type {
  CallOptions,
  ConnectorDependencies,
  JobStatus,
  StartedJob,
  StepConnector,
  StepContext,
  StepDescription,
} from "./types";

/**
 * A step names a tool the registry was not given. The config's checks refuse a pipeline whose
 * tool has no section, so this is met only by a registry built from other tools than its steps use.
 */
export class ToolNotConfiguredError extends ToolError {
  override readonly name = "ToolNotConfiguredError";
  constructor(tool: ToolName) {
    super(tool, `tools.${tool} is not configured: add its endpoint and secret names`);
  }
}

/**
 * The connectors of the configured tools, built on first use (a tool's secrets are read only
 * when a step of that tool runs) and dispatched by each step's `tool`.
 */
export class ConnectorRegistry {
  private readonly built = new Map<ToolName, Promise<StepConnector<never>>>();

  constructor(
    private readonly tools: ToolsConfig,
    private readonly deps: ConnectorDependencies,
  ) {}

  async start(given: StepSpec, context: StepContext): Promise<StartedJob> {
    const step = await this.resolved(given);
    return this.forgetRefusedCredentials(step, (await this.connectorFor(step)).start(step, context));
  }

  async poll(given: StepSpec, externalId: string, call: CallOptions): Promise<JobStatus> {
    const step = await this.resolved(given);
    return this.forgetRefusedCredentials(step, (await this.connectorFor(step)).poll(step, externalId, call));
  }

  async cancel(given: StepSpec, externalId: string, call: CallOptions): Promise<JobStatus> {
    const step = await this.resolved(given);
    return this.forgetRefusedCredentials(
      step,
      (await this.connectorFor(step)).cancel(step, externalId, call),
    );
  }

  async describe(given: StepSpec): Promise<StepDescription> {
    const step = await this.resolved(given);
    return (await this.connectorFor(step)).describe(step);
  }

  /** An Airbyte step that names its connection, with the id provisioning recorded for it. */
  private async resolved(step: StepSpec): Promise<StepSpec> {
    if (step.tool !== "airbyte" || step.connectionId !== undefined || step.connection === undefined)
      return step;
    // a tool the registry was not given fails as such (connectorFor), before any name is looked up
    if (!this.tools.airbyte) return step;
    if (!this.deps.connectionIds) throw new ConnectionNotProvisionedError(step.connection);
    return { ...step, connectionId: await this.deps.connectionIds(step.connection) };
  }

  /**
   * A tool that refused our credentials gets its connector built again on the next call, so that
   * a secret fixed in the store (a rotated token) is read without waiting for a cold start.
   */
  private async forgetRefusedCredentials<T>(step: StepSpec, call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (error) {
      if (error instanceof ToolAuthError) this.built.delete(step.tool);
      throw error;
    }
  }

  private async connectorFor(step: StepSpec): Promise<StepConnector<StepSpec>> {
    let connector = this.built.get(step.tool);
    if (!connector) {
      connector = this.build(step.tool);
      this.built.set(step.tool, connector);
      // A failed build (e.g. a secret not set yet) must not be cached: the next call tries again.
      connector.catch(() => this.built.delete(step.tool));
    }
    // Each connector is stored under the tool whose steps it accepts.
    return (await connector) as StepConnector<StepSpec>;
  }

  private build(tool: ToolName): Promise<StepConnector<never>> {
    const missing = () => new ToolNotConfiguredError(tool);
    switch (tool) {
      case "airbyte":
        return this.tools.airbyte
          ? createAirbyteConnector(this.tools.airbyte, this.deps)
          : Promise.reject(missing());
      case "dbt-cloud":
        return this.tools["dbt-cloud"]
          ? createDbtCloudConnector(this.tools["dbt-cloud"], this.deps)
          : Promise.reject(missing());
      case "grouparoo":
        return this.tools.grouparoo
          ? createGrouparooConnector(this.tools.grouparoo, this.deps)
          : Promise.reject(missing());
    }
  }
}
