import type { ToolName } from "../errors";
import type { HttpClient } from "../http";
import { type Logger, silentLogger } from "../logging";
import { startWithoutDuplicates, type TriggerPlan, triggerOptions } from "./trigger";
import type { ConnectorDependencies, StartedJob, StepContext } from "./types";

/**
 * What the three connectors share: the tool's HTTP client, its config block, the dependencies,
 * and the one way to start a job (startWithoutDuplicates, within the call's deadline, adopting
 * first in adopt mode). Each connector adds its wire format.
 */
export abstract class HttpStepConnector<C> {
  abstract readonly tool: ToolName;
  protected readonly logger: Logger;

  constructor(
    protected readonly http: HttpClient,
    protected readonly config: C,
    protected readonly deps: ConnectorDependencies,
  ) {
    this.logger = deps.logger ?? silentLogger;
  }

  /** Starts the step's job by `plan` without ever starting two (see trigger.ts). */
  protected startJob(plan: TriggerPlan, context: StepContext): Promise<StartedJob> {
    return startWithoutDuplicates(this.tool, plan, triggerOptions(this.deps, this.logger, context));
  }
}
