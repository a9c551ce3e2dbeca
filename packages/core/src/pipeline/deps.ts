import type { StepSpec } from "../config";
import type { CallOptions, JobStatus, StartedJob, StepContext } from "../connectors/types";
import type { EventPublisher } from "../events";
import type { RunLedger } from "../ledger";
import type { Logger } from "../logging";

/** What the pipeline tasks need from the outside world; adapters differ on AWS and embedded. */
export interface PipelineDeps {
  /** the tools' connectors (ConnectorRegistry); every call ends by its deadline */
  readonly connectors: {
    start(step: StepSpec, context: StepContext): Promise<StartedJob>;
    poll(step: StepSpec, externalId: string, call: CallOptions): Promise<JobStatus>;
    cancel(step: StepSpec, externalId: string, call: CallOptions): Promise<JobStatus>;
  };
  readonly publisher: EventPublisher;
  readonly ledger: Pick<RunLedger, "acquireRunLock" | "releaseRunLock" | "getRun">;
  /**
   * Who runs the runs, recorded with each lock: embedded, the control plane's session, so that a
   * restart can tell the runs of a process that is gone; absent on AWS (the execution is).
   */
  readonly owner?: string;
  readonly now: () => Date;
  readonly logger: Logger;
  readonly settings: PipelineSettings;
}

export interface PipelineSettings {
  /** how long a queued run waits before it asks for the run lock again */
  readonly queueWaitSeconds: number;
  /** added to the sum of the stages' timeouts to size the run lock's lifetime */
  readonly lockSlackMinutes: number;
}

export const DEFAULT_PIPELINE_SETTINGS: PipelineSettings = { queueWaitSeconds: 30, lockSlackMinutes: 15 };
