import { randomBytes, randomInt } from "node:crypto";
import { type DbtWebhookSubscription, dbtCloudWebhooks } from "./dbt-cloud-webhooks";
import { type Execution, Lifecycle, OutcomePlanner, type ToolDefaults } from "./lifecycle";
import { type DbtCloudAuth, type DbtCloudScenario, parseScenario } from "./scenario";
import {
  type CommonSandboxOptions,
  isRecord,
  many,
  parseInteger,
  type SandboxHandle,
  type SandboxRequest,
  type SandboxResponse,
  single,
  startHttpSandbox,
} from "./server";
import { clockDuration, humanDuration } from "./time";
import { type SentWebhook, WebhookSender } from "./webhook-sender";

/**
 * dbt Cloud's API v2 (`/api/v2/accounts/{account_id}/...`): trigger a job run, read, list and
 * cancel runs. Status codes 1 queued, 2 starting, 3 running, 10 success, 20 error, 30 cancelled.
 * Triggering a job with a run in flight simply queues another run, as dbt Cloud does.
 */

export const DBT_CLOUD_DEFAULTS: ToolDefaults = {
  queuedMs: 100,
  startingMs: 50,
  durationMs: 300,
  incompleteMs: 0,
  rows: 0,
  bytes: 0,
  error:
    'Database Error in model email_audience (models/marts/email_audience.sql)\n  relation "analytics.stg_zoom__webinars" does not exist',
};

const STATUS_HUMANIZED: Record<number, string> = {
  1: "Queued",
  2: "Starting",
  3: "Running",
  10: "Success",
  20: "Error",
  30: "Cancelled",
};

const USER_MESSAGES: Record<number, string> = {
  400: "The request was invalid. Please double check the provided data and try again.",
  401: "Invalid token.",
  403: "You do not have permission to perform this action.",
  404: "The requested resource was not found.",
  429: "Request was throttled.",
  500: "An unexpected error occurred.",
};

const TRIGGER_STRINGS = [
  "git_sha",
  "git_branch",
  "schema_override",
  "dbt_version_override",
  "target_name_override",
];
const TRIGGER_INTEGERS = [
  "azure_pull_request_id",
  "github_pull_request_id",
  "gitlab_merge_request_id",
  "non_native_pull_request_id",
  "threads_override",
  "timeout_seconds_override",
];
const ORDER_FIELDS = ["id", "created_at", "finished_at"];

/** A run as the API answers it (RunResponse; the optional parts depend on include_related). */
export type DbtCloudRun = Record<string, unknown> & {
  id: number;
  status: number;
  job_definition_id: number;
  created_at: string;
  updated_at: string;
};

export interface DbtCloudSandboxOptions extends CommonSandboxOptions {
  /** the scenario's `dbt-cloud` section (validated again here) */
  scenario?: DbtCloudScenario | undefined;
  /** overrides scenario.auth; default `{ kind: "none" }` */
  auth?: DbtCloudAuth | undefined;
  /** project and environment every run belongs to (defaults 70403, 218762) */
  projectId?: number | undefined;
  environmentId?: number | undefined;
  /** the first run id; default a random 9-digit number */
  firstRunId?: number | undefined;
}

export interface DbtCloudSandbox extends SandboxHandle<"dbt-cloud"> {
  /** the credentials this sandbox accepts (its scenario's `auth`; `none` when it has none) */
  readonly auth: DbtCloudAuth;
  /** every run, oldest first, as GET .../runs/{id}/?include_related=["trigger"] would answer now */
  runs(): DbtCloudRun[];
  /** the webhook subscriptions (API v3), hmac_secret included */
  webhookSubscriptions(): readonly DbtWebhookSubscription[];
  /** every completion webhook it sent (or tried to), oldest first */
  webhooks(): readonly SentWebhook[];
}

interface RunRecord {
  id: number;
  /** undefined for an alreadyRunning seed without accountId: it shows in every account */
  accountId: number | undefined;
  jobId: number;
  triggerId: number;
  trigger: Record<string, unknown>;
  gitSha: string;
  gitBranch: string;
  execution: Execution;
}

export function dbtCloudEnvelope(status: number, data: unknown = null, userMessage?: string) {
  return {
    status: {
      code: status,
      is_success: status < 400,
      user_message:
        userMessage ??
        USER_MESSAGES[status] ??
        (status >= 500 ? "The service is temporarily unavailable." : "Error."),
      developer_message: "",
    },
    data,
  };
}

const failure = (status: number, data: unknown = null, message?: string): SandboxResponse => ({
  status,
  body: dbtCloudEnvelope(status, data, message),
});

export async function startDbtCloudSandbox(options: DbtCloudSandboxOptions = {}): Promise<DbtCloudSandbox> {
  const scenario =
    parseScenario(
      { "dbt-cloud": { ...(options.scenario ?? {}), ...(options.auth ? { auth: options.auth } : {}) } },
      "dbt Cloud sandbox options",
    )["dbt-cloud"] ?? {};
  const auth: DbtCloudAuth = scenario.auth ?? { kind: "none" };
  const projectId = options.projectId ?? 70_403;
  const environmentId = options.environmentId ?? 218_762;
  const counters = { triggers: 0, jobsCreated: 0 };
  const runs = new Map<number, RunRecord>();
  const subscriptions = dbtCloudWebhooks(
    dbtCloudEnvelope,
    (execution) => runs.get(Number(execution.id))?.accountId,
  );
  // dbt Cloud retries a failed delivery 5 times
  const webhooks = new WebhookSender({
    tool: "dbt-cloud",
    scripts: scenario.webhooks,
    retries: 5,
    build: subscriptions.build,
    logger: options.logger,
  });
  const lifecycle = new Lifecycle({
    tool: "dbt-cloud",
    runner: options.runner,
    logger: options.logger,
    onEnd: (execution) => webhooks.jobEnded(execution),
  });
  const planner = new OutcomePlanner(DBT_CLOUD_DEFAULTS, scenario.defaults, scenario.outcomes);
  let nextRunId = options.firstRunId ?? 300_000_000 + randomInt(600_000_000);
  let nextTriggerId = nextRunId + 7_000_000;
  let baseUrl = "";

  const addRun = (
    accountId: number | undefined,
    jobId: number,
    trigger: Record<string, unknown>,
    execution: Execution,
  ) => {
    const triggerId = nextTriggerId++;
    const record: RunRecord = {
      id: Number(execution.id),
      accountId,
      jobId,
      triggerId,
      trigger: { id: triggerId, ...trigger },
      gitSha: typeof trigger.git_sha === "string" ? trigger.git_sha : randomBytes(20).toString("hex"),
      gitBranch: typeof trigger.git_branch === "string" ? trigger.git_branch : "main",
      execution,
    };
    runs.set(record.id, record);
    return record;
  };

  for (const seed of scenario.alreadyRunning ?? []) {
    const { jobId, accountId, remainingMs, ...spec } = seed;
    const plan = planner.resolve({ ...spec, durationMs: remainingMs ?? spec.durationMs });
    const execution = lifecycle.create(String(nextRunId++), String(jobId), plan, true);
    const trigger = {
      cause: "Kicked off by the scheduler",
      job_definition_id: jobId,
      cause_category: "scheduled",
    };
    addRun(accountId, jobId, trigger, execution);
    lifecycle.startRunning(execution, 1000);
  }

  const view = (run: RunRecord, include: readonly string[], requestedAccount?: number): DbtCloudRun => {
    const e = run.execution;
    const accountId = run.accountId ?? requestedAccount ?? 1;
    const now = Date.now();
    const status = statusCode(e);
    const created = e.createdAt.getTime();
    const end = e.finishedAt?.getTime() ?? now;
    const dequeued = e.dequeuedAt?.getTime() ?? (e.phase === "queued" ? now : end);
    const complete = status === 10 || status === 20 || status === 30;
    const inProgress = status === 1 || status === 2 || status === 3;
    const answer: DbtCloudRun = {
      id: run.id,
      trigger_id: run.triggerId,
      account_id: accountId,
      environment_id: environmentId,
      project_id: projectId,
      job_definition_id: run.jobId,
      status,
      dbt_version: "versionless",
      git_branch: run.gitBranch,
      git_sha: run.gitSha,
      artifacts_saved: status === 10 || status === 20,
      has_docs_generated: false,
      has_sources_generated: false,
      notifications_sent: complete,
      blocked_by: [],
      created_at: e.createdAt.toISOString(),
      updated_at: e.updatedAt.toISOString(),
      status_humanized: STATUS_HUMANIZED[status] ?? "Unknown",
      in_progress: inProgress,
      is_complete: complete,
      is_success: status === 10,
      is_error: status === 20,
      is_cancelled: status === 30,
      is_running: status === 3,
      duration: clockDuration(end - created),
      queued_duration: clockDuration(dequeued - created),
      run_duration: clockDuration(e.startedAt ? end - e.startedAt.getTime() : 0),
      duration_humanized: humanDuration(end - created),
      queued_duration_humanized: humanDuration(dequeued - created),
      run_duration_humanized: humanDuration(e.startedAt ? end - e.startedAt.getTime() : 0),
      created_at_humanized: `${humanDuration(now - created)} ago`,
      finished_at_humanized: e.finishedAt ? `${humanDuration(now - end)} ago` : "0 minutes from now",
      can_retry: status === 20,
      job_id: run.jobId,
      href: `${baseUrl}/deploy/${accountId}/projects/${projectId}/runs/${run.id}/`,
      used_repo_cache: false,
    };
    if (e.dequeuedAt) answer.dequeued_at = e.dequeuedAt.toISOString();
    if (e.startedAt) {
      answer.started_at = e.startedAt.toISOString();
      answer.last_heartbeat_at = (e.finishedAt ?? e.updatedAt).toISOString();
    }
    if (e.finishedAt) answer.finished_at = e.finishedAt.toISOString();
    if (e.error !== undefined) answer.status_message = e.error;
    if (complete && status !== 20) answer.retry_not_supported_reason = "RETRY_NOT_FAILED_RUN";
    if (include.includes("trigger")) answer.trigger = run.trigger;
    if (include.includes("run_steps")) answer.run_steps = [];
    if (include.includes("audit")) {
      const actor = { id: "sandbox", type: "service_token", name: "Tapestry sandbox" };
      answer.audit = { trigger: { actor }, ...(e.cancelledBy === "api" ? { cancellation: { actor } } : {}) };
    }
    return answer;
  };

  const findRun = (request: SandboxRequest): RunRecord | SandboxResponse => {
    const accountId = Number(request.params[0]);
    const run = runs.get(Number(request.params[1]));
    if (!run || (run.accountId !== undefined && run.accountId !== accountId)) return failure(404);
    return run;
  };

  const triggerRun = (request: SandboxRequest): SandboxResponse => {
    const accountId = Number(request.params[0]);
    const jobId = Number(request.params[1]);
    const body = request.body === undefined ? {} : request.body;
    if (!isRecord(body)) return failure(400, { non_field_errors: ["Invalid data. Expected a dictionary."] });
    const errors = validateTrigger(body);
    if (Object.keys(errors).length > 0) return failure(400, errors);
    if (scenario.knownJobs && !scenario.knownJobs.includes(jobId)) return failure(404);
    const trigger: Record<string, unknown> = {
      cause: body.cause,
      job_definition_id: jobId,
      cause_category: "api",
    };
    for (const key of [...TRIGGER_STRINGS, ...TRIGGER_INTEGERS, "generate_docs_override", "steps_override"]) {
      if (body[key] !== undefined) trigger[key] = body[key];
    }
    const execution = lifecycle.create(String(nextRunId++), String(jobId), planner.next(String(jobId)));
    const run = addRun(accountId, jobId, trigger, execution);
    counters.jobsCreated += 1;
    lifecycle.start(execution);
    return { status: 200, body: dbtCloudEnvelope(200, view(run, ["trigger"]), "Success!") };
  };

  const getRun = (request: SandboxRequest): SandboxResponse => {
    const run = findRun(request);
    if ("status" in run) return run;
    const include = many(request.query.include_related);
    return {
      status: 200,
      body: dbtCloudEnvelope(200, view(run, include, Number(request.params[0])), "Success!"),
      scripted: run.execution.phase === "unknown",
    };
  };

  const cancelRun = (request: SandboxRequest): SandboxResponse => {
    const run = findRun(request);
    if ("status" in run) return run;
    lifecycle.cancel(run.execution, "api");
    return {
      status: 200,
      body: dbtCloudEnvelope(200, view(run, ["trigger"], Number(request.params[0])), "Success!"),
      scripted: run.execution.phase === "unknown",
    };
  };

  /**
   * `run_results.json` of a finished run, as dbt writes it: the model's adapter_response carries
   * rows_affected (on Snowflake, the rows a `create table as` wrote), the only row count dbt Cloud offers.
   */
  const getRunArtifact = (request: SandboxRequest): SandboxResponse => {
    const run = findRun(request);
    if ("status" in run) return run;
    const e = run.execution;
    if (request.params[2] !== "run_results.json" || (e.phase !== "succeeded" && e.phase !== "failed")) {
      return failure(404, null, "No artifact found at this path for the run.");
    }
    const seconds = ((e.finishedAt?.getTime() ?? Date.now()) - (e.startedAt ?? e.createdAt).getTime()) / 1000;
    const succeeded = e.phase === "succeeded";
    return {
      status: 200,
      body: {
        metadata: {
          dbt_schema_version: "https://schemas.getdbt.com/dbt/run-results/v6.json",
          dbt_version: "1.10.0",
          generated_at: (e.finishedAt ?? e.updatedAt).toISOString(),
          invocation_id: `sandbox-${run.id}`,
        },
        results: [
          {
            unique_id: `model.sandbox.job_${run.jobId}`,
            status: succeeded ? "success" : "error",
            message: succeeded ? `SUCCESS ${e.rows}` : (e.error ?? "error"),
            adapter_response: succeeded
              ? { _message: `SUCCESS ${e.rows}`, code: "SUCCESS", rows_affected: e.rows }
              : {},
            execution_time: seconds,
            timing: [],
            thread_id: "Thread-1",
            failures: null,
          },
        ],
        elapsed_time: seconds,
        args: {},
      },
    };
  };

  const listRuns = (request: SandboxRequest): SandboxResponse => {
    const accountId = Number(request.params[0]);
    const q = request.query;
    const errors: Record<string, string[]> = {};
    const intParam = (name: string): number | undefined => {
      const raw = single(q[name]);
      if (raw === undefined) return undefined;
      const value = parseInteger(raw);
      if (value === undefined) errors[name] = ["Enter a whole number."];
      return value;
    };
    const jobDefinitionId = intParam("job_definition_id");
    const status = intParam("status");
    const projectFilter = intParam("project_id");
    const environmentFilter = intParam("environment_id");
    const limit = intParam("limit") ?? 100;
    const offset = intParam("offset") ?? 0;
    const statusIn = many(q.status__in).map((v) => parseInteger(v));
    if (statusIn.some((v) => v === undefined)) errors.status__in = ["Enter a whole number."];
    if (limit < 1 || limit > 100) errors.limit = ["Ensure this value is between 1 and 100."];
    if (offset < 0) errors.offset = ["Ensure this value is greater than or equal to 0."];
    const orderBy = single(q.order_by) ?? "id";
    const field = orderBy.replace(/^-/, "");
    if (!ORDER_FIELDS.includes(field))
      errors.order_by = [`Order by one of ${ORDER_FIELDS.join(", ")} (prefix - to reverse).`];
    if (Object.keys(errors).length > 0) return failure(400, errors);

    const sortKey = (run: RunRecord): number => {
      if (field === "created_at") return run.execution.createdAt.getTime();
      if (field === "finished_at") return run.execution.finishedAt?.getTime() ?? Number.MAX_SAFE_INTEGER;
      return run.id;
    };
    const direction = orderBy.startsWith("-") ? -1 : 1;
    const matching = [...runs.values()]
      .filter((r) => r.accountId === undefined || r.accountId === accountId)
      .filter((r) => jobDefinitionId === undefined || r.jobId === jobDefinitionId)
      .filter((r) => status === undefined || statusCode(r.execution) === status)
      .filter((r) => statusIn.length === 0 || statusIn.includes(statusCode(r.execution)))
      .filter(() => projectFilter === undefined || projectFilter === projectId)
      .filter(() => environmentFilter === undefined || environmentFilter === environmentId)
      .sort((a, b) => direction * (sortKey(a) - sortKey(b) || a.id - b.id));
    const include = many(q.include_related);
    const records = matching.slice(offset, offset + limit);
    const page = records.map((run) => view(run, include, accountId));
    const filters: Record<string, unknown> = { account_id: accountId, limit, offset };
    if (jobDefinitionId !== undefined) filters.job_definition_id = jobDefinitionId;
    if (status !== undefined) filters.status = status;
    if (statusIn.length > 0) filters.status__in = statusIn;
    if (projectFilter !== undefined) filters.project_id = projectFilter;
    if (environmentFilter !== undefined) filters.environment_id = environmentFilter;
    return {
      status: 200,
      body: {
        ...dbtCloudEnvelope(200, page, "Success!"),
        extra: {
          filters,
          order_by: orderBy,
          pagination: { count: page.length, total_count: matching.length },
        },
      },
      scripted: records.some((r) => r.execution.phase === "unknown"),
    };
  };

  const authenticate = (request: SandboxRequest): SandboxResponse | undefined => {
    if (auth.kind === "none") return undefined;
    const token = /^(?:Token|Bearer)\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
    if (token === auth.token) return undefined;
    return failure(
      401,
      null,
      token === undefined ? "Authentication credentials were not provided." : "Invalid token.",
    );
  };

  const accounts = "^/api/v2/accounts/(\\d+)";
  const http = await startHttpSandbox(
    {
      tool: "dbt-cloud",
      basePath: "",
      errorBody: (status, detail) => dbtCloudEnvelope(status, null, detail),
      authenticate,
      routes: [
        {
          method: "POST",
          pattern: new RegExp(`${accounts}/jobs/(\\d+)/run/?$`),
          operation: "triggerRun",
          trigger: true,
          handle: triggerRun,
        },
        {
          method: "GET",
          pattern: new RegExp(`${accounts}/runs/?$`),
          operation: "listRuns",
          handle: listRuns,
        },
        {
          method: "GET",
          pattern: new RegExp(`${accounts}/runs/(\\d+)/?$`),
          operation: "getRun",
          handle: getRun,
        },
        {
          method: "GET",
          pattern: new RegExp(`${accounts}/runs/(\\d+)/artifacts/(.+)$`),
          operation: "getRunArtifact",
          handle: getRunArtifact,
        },
        {
          method: "POST",
          pattern: new RegExp(`${accounts}/runs/(\\d+)/cancel/?$`),
          operation: "cancelRun",
          handle: cancelRun,
        },
        ...subscriptions.routes,
      ],
    },
    { ...options, rules: scenario.rules, counters, onClose: () => lifecycle.close() },
  );
  baseUrl = http.origin;

  return {
    tool: "dbt-cloud",
    baseUrl,
    auth,
    port: http.port,
    traffic: http.traffic,
    counters,
    close: async () => {
      await webhooks.close();
      await http.close();
    },
    runs: () => [...runs.values()].map((run) => view(run, ["trigger"])),
    webhookSubscriptions: () => [...subscriptions.subscriptions.values()],
    webhooks: () => webhooks.deliveries(),
  };
}

function statusCode(execution: Execution): number {
  switch (execution.phase) {
    case "queued":
      return 1;
    case "starting":
      return 2;
    case "running":
    case "incomplete":
      return 3;
    case "succeeded":
      return 10;
    case "failed":
      return 20;
    case "cancelled":
      return 30;
    case "unknown":
      return Number(execution.plan.status);
  }
}

/** Django REST Framework's field errors, as dbt Cloud answers them. */
function validateTrigger(body: Record<string, unknown>): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  const cause = body.cause;
  if (cause === undefined || cause === null) errors.cause = ["This field is required."];
  else if (typeof cause !== "string") errors.cause = ["Not a valid string."];
  else if (cause.trim() === "") errors.cause = ["This field may not be blank."];
  else if (cause.length > 255) errors.cause = ["Ensure this field has no more than 255 characters."];
  for (const key of TRIGGER_STRINGS) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string") errors[key] = ["Not a valid string."];
    else if (value === "") errors[key] = ["This field may not be blank."];
  }
  for (const key of TRIGGER_INTEGERS) {
    const value = body[key];
    if (value !== undefined && value !== null && !Number.isInteger(value))
      errors[key] = ["A valid integer is required."];
  }
  const docs = body.generate_docs_override;
  if (docs !== undefined && docs !== null && typeof docs !== "boolean")
    errors.generate_docs_override = ["Must be a valid boolean."];
  const steps = body.steps_override;
  if (
    steps !== undefined &&
    steps !== null &&
    (!Array.isArray(steps) || steps.some((s) => typeof s !== "string" || s === ""))
  )
    errors.steps_override = ["Expected a list of non-empty strings."];
  return errors;
}
