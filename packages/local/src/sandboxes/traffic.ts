import type { ToolName } from "@tapestry/core/names";

/**
 * What a sandbox saw and answered, one entry per HTTP exchange. The contract tests validate every
 * recorded answer against the tools' official OpenAPI files; connector tests read the requests to
 * check what the client sent (credentials included: these are sandbox credentials).
 */
export type SandboxTool = ToolName;

export interface RecordedExchange {
  tool: SandboxTool;
  /** e.g. "createJob", "getJob", "cancelJob", "listJobs", "createAccessToken", "triggerRun", "getRun", "cancelRun", "listRuns", "runSchedule", "listScheduleRuns", "stopRun"; "unknown" for an unrouted path */
  operation: string;
  request: {
    method: string;
    /** relative to the API root the spec uses: airbyte "/jobs/12", dbt "/api/v2/accounts/1/runs/5/", grouparoo "/api/v1/run/run_x"; no query string */
    path: string;
    query: Record<string, string | string[]>;
    /** lower-case names; Authorization kept as sent */
    headers: Record<string, string>;
    /** parsed JSON (or form) body, undefined when there was none */
    body: unknown;
  };
  /** null when the connection was dropped without an answer */
  response: { status: number; headers: Record<string, string>; body: unknown } | null;
  /** true when a scenario rule produced or altered this answer */
  scripted: boolean;
}

export interface SandboxCounters {
  /** trigger calls received (POST /jobs, POST .../run/, POST /schedule/:id/run), answered or not */
  triggers: number;
  /** jobs / runs actually created by those calls (seeds from `alreadyRunning` are not counted) */
  jobsCreated: number;
}
