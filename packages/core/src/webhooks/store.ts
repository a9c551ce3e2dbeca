import type { ToolName } from "../names";

/** The tools that end a step with a webhook. */
export const WEBHOOK_TOOLS = ["airbyte", "dbt-cloud"] as const satisfies readonly ToolName[];
export type WebhookTool = (typeof WEBHOOK_TOOLS)[number];

/** A job, as its webhook names it: the tool and the tool's id (Airbyte's job id, dbt Cloud's run id). */
export interface JobKey {
  readonly tool: WebhookTool;
  readonly externalId: string;
}

/**
 * What the store holds about one job: the task token of the step that waits for it (and that
 * step's poll input, to confirm a webhook with), and the webhooks that came for it. A job no step
 * waits on has deliveries only. Times are `Date#toISOString` text (text order is time order).
 */
export interface TokenRecord {
  /** the latest registered task token (a step registers a new one each time it waits again) */
  readonly token?: string;
  /** the waiting step's PollStepInput, as JSON: what a confirming poll needs */
  readonly input?: string;
  readonly registeredAt?: string;
  /** when the token's wait times out: a token past it is closed (a late SendTaskSuccess gets TaskTimedOut) */
  readonly expiresAt?: string;
  /** the latest webhook for the job */
  readonly deliveredAt?: string;
  /** how many webhooks came for the job (replays and retries included) */
  readonly deliveries: number;
  /** a completer working on this token, until `claimUntil` (so that two deliveries do not both complete it) */
  readonly claimToken?: string;
  readonly claimUntil?: string;
  /** the token a completer sent the job's result to: a replay finds it done */
  readonly doneToken?: string;
}

export interface TokenRegistration {
  readonly token: string;
  readonly input: string;
  readonly now: string;
  readonly expiresAt: string;
}

/**
 * Where a step's task token waits for its job's webhook (issue 13): beside the run ledger (the
 * SQLite file embedded, the DynamoDB table `TOKEN#` items on AWS), not part of it. Every write is
 * atomic for its job, so a webhook and a registration racing each other always meet: whichever
 * writes second sees the other (a registration reads the deliveries it missed, a delivery the token).
 * Adapters keep records a day past their last use, then delete them.
 */
export interface TaskTokenStore {
  /** Replaces the job's task token; answers the record as it was before (undefined if none). */
  register(key: JobKey, registration: TokenRegistration): Promise<TokenRecord | undefined>;
  /** Counts a webhook for the job; answers the record as it is now. */
  recordDelivery(key: JobKey, now: string): Promise<TokenRecord>;
  /**
   * Takes the right to complete `token` until `until`: false when the token is no longer the
   * job's, was completed, or another completer holds an unexpired claim on it.
   */
  claim(key: JobKey, token: string, now: string, until: string): Promise<boolean>;
  /** Gives a claim back (the job was still running, or its poll failed). */
  release(key: JobKey, token: string): Promise<void>;
  /** Marks `token` completed: later deliveries (replays) find it done. */
  complete(key: JobKey, token: string): Promise<void>;
}

/** How long a record outlives its last use before the adapters delete it. */
export const TOKEN_RECORD_RETENTION_MS = 24 * 3_600_000;
