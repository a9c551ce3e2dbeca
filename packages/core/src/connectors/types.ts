import type { StepSpec } from "../config";
import type { ToolName } from "../errors";
import type { RetryPolicy } from "../http";
import type { Logger } from "../logging";

/** What a step's external job is doing, in the tool-independent terms the pipeline works with. */
export type JobState = "running" | "succeeded" | "failed" | "cancelled";

/** Why a job that did not succeed did not: what a user sees on a failed step. */
export type FailureReason = "failed" | "cancelled" | "unknown-status" | "partial-failure" | "min-rows";

export interface StepContext {
  readonly pipeline: string;
  readonly runId: string;
}

export interface StartedJob {
  readonly externalId: string;
  readonly url?: string;
  /** true when an already running job was adopted instead of a new one started */
  readonly attached: boolean;
}

export interface JobStatus {
  readonly state: JobState;
  /** the tool's own status word or code, e.g. "incomplete" or "3" */
  readonly toolStatus: string;
  readonly rows?: number;
  readonly bytes?: number;
  readonly url?: string;
  /** set when state is failed or cancelled, and for partial successes */
  readonly error?: string;
  readonly reason?: FailureReason;
}

export interface StepDescription {
  readonly tool: ToolName;
  /** e.g. "Airbyte" */
  readonly toolLabel: string;
  /** what the step drives, e.g. "connection 5f0c8a52-..." */
  readonly target: string;
  readonly url?: string;
}

/**
 * The one contract every tool implements; nothing else knows a tool's wire format.
 * `start` never starts a second job where one was meant: it attaches to a job already in flight,
 * and after an ambiguous trigger failure it looks the job up before it triggers again.
 */
export interface StepConnector<S extends StepSpec = StepSpec> {
  readonly tool: ToolName;
  start(step: S, context: StepContext): Promise<StartedJob>;
  poll(step: S, externalId: string): Promise<JobStatus>;
  /** Asks the tool to stop the job; answers the job's status afterwards. Safe to call on a finished job. */
  cancel(step: S, externalId: string): Promise<JobStatus>;
  describe(step: S): StepDescription;
}

/** Reads a secret's value by its name (SSM via Powertools Parameters on AWS, a local store in the embedded plane). */
export type SecretReader = (name: string) => Promise<string>;

export interface ConnectorDependencies {
  readonly secrets: SecretReader;
  readonly logger?: Logger;
  readonly retry?: RetryPolicy;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** how many times `start` may trigger after lookups found nothing (default 3) */
  readonly maxTriggers?: number;
  /** an ambiguous trigger adopts a finished job created this long before it began (default 30 s of clock skew) */
  readonly adoptionSkewMs?: number;
}
