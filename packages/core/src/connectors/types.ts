import type { StepSpec } from "../config";
import type { ToolName } from "../errors";
import type { RetryPolicy } from "../http";
import type { Logger } from "../logging";

/** What a step's external job is doing, in the tool-independent terms the pipeline works with. */
export type JobState = "running" | "succeeded" | "failed" | "cancelled";

/** Why a job that did not succeed did not: what a user sees on a failed step. */
export type FailureReason = "failed" | "cancelled" | "unknown-status" | "partial-failure" | "min-rows";

/**
 * What bounds one call to a tool: the absolute time (ms since the epoch) by which it must have
 * answered or failed. In a Lambda it is the invocation's end less a margin, so that a slow tool
 * ends the call with a named error (which the state machine retries) instead of a Lambda timeout.
 */
export interface CallOptions {
  readonly deadline: number;
}

export interface StepContext extends CallOptions {
  readonly pipeline: string;
  readonly runId: string;
  /**
   * Adopt mode: an earlier start of this step may have sent its trigger, at most `lookBackMs`
   * ago, without learning which job it started. Look for that job first (in flight, or created
   * since then; dbt Cloud: by our cause text) and trigger only when there is none.
   */
  readonly adopt?: { readonly lookBackMs: number };
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
 * The one contract every tool implements; nothing else knows a tool's wire format. Every call
 * ends by its deadline.
 * - `start` never starts a second job where one was meant: it attaches to a job already in
 *   flight, and after an ambiguous trigger failure it looks the job up before it triggers again.
 *   What escapes it after a trigger may have taken effect, if worth retrying, is a
 *   ToolTriggerUncertainError: the step must be started again in adopt mode, never blindly.
 * - `poll` fails closed: a status the connector does not know fails the step, and the job is
 *   cancelled first so that nothing is left running.
 * - `cancel` is safe on a finished job: it then answers the job's final state, rows included,
 *   exactly as a poll would.
 */
export interface StepConnector<S extends StepSpec = StepSpec> {
  readonly tool: ToolName;
  start(step: S, context: StepContext): Promise<StartedJob>;
  poll(step: S, externalId: string, call: CallOptions): Promise<JobStatus>;
  /** Asks the tool to stop the job; answers the job's status afterwards. */
  cancel(step: S, externalId: string, call: CallOptions): Promise<JobStatus>;
  describe(step: S): StepDescription;
}

/** Reads a secret's value by its name (SSM via Powertools Parameters on AWS, a local store in the embedded plane). */
export type SecretReader = (name: string) => Promise<string>;

/**
 * The id of an Airbyte connection a step names (`connection: "<name>"`), as provisioning recorded
 * it: an SSM parameter on AWS, the provisioning store embedded. ConnectionNotProvisionedError when
 * none is recorded.
 */
export type ConnectionIdResolver = (name: string) => Promise<string>;

export interface ConnectorDependencies {
  readonly secrets: SecretReader;
  /** resolves the connection names of Airbyte steps; without it, a step that names one fails */
  readonly connectionIds?: ConnectionIdResolver;
  readonly logger?: Logger;
  readonly retry?: RetryPolicy;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** how many times `start` may trigger after lookups found nothing (default 3) */
  readonly maxTriggers?: number;
  /**
   * The clock skew allowed between us and the tool when a job is adopted by its creation time:
   * a job created this long before our trigger (or our adopt window) still counts (default 30 s).
   */
  readonly adoptionSkewMs?: number;
}
