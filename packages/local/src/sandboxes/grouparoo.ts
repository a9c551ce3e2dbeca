import { randomUUID } from "node:crypto";
import { type Execution, isTerminal, Lifecycle, OutcomePlanner, type ToolDefaults } from "./lifecycle";
import { type GrouparooAuth, type GrouparooScenario, parseScenario } from "./scenario";
import {
  type CommonSandboxOptions,
  isRecord,
  parseInteger,
  type SandboxHandle,
  type SandboxRequest,
  type SandboxResponse,
  single,
  startHttpSandbox,
} from "./server";

/**
 * Grouparoo's REST API (shared/specs/grouparoo-api.md): run a schedule, read, list and stop runs.
 * States: draft -> running -> complete (error null, or an aggregated error string when imports
 * failed) | stopped. Running a schedule while one of its runs is in flight STOPS that run and
 * starts a new one, as Grouparoo does: the client must guard against overlap.
 */

export const GROUPAROO_DEFAULTS: ToolDefaults = {
  queuedMs: 100,
  startingMs: 0,
  durationMs: 300,
  incompleteMs: 0,
  rows: 250,
  bytes: 0,
  error: 'error: column "email_address" does not exist (x250)',
};

/** A run as the API answers it (the run's apiData). */
export interface GrouparooRun {
  id: string;
  creatorId: string;
  creatorName: string;
  creatorType: "schedule";
  state: string;
  percentComplete: number;
  importsCreated: number;
  recordsCreated: number;
  recordsImported: number;
  error: string | null;
  highWaterMark: Record<string, unknown>;
  sourceOffset: number;
  memberLimit: number;
  memberOffset: number;
  method: string | null;
  destinationId: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

export interface GrouparooSandboxOptions extends CommonSandboxOptions {
  /** the scenario's `grouparoo` section (validated again here) */
  scenario?: GrouparooScenario | undefined;
  /** overrides scenario.auth; default `{ kind: "none" }` */
  auth?: GrouparooAuth | undefined;
}

export interface GrouparooSandbox extends SandboxHandle<"grouparoo"> {
  /** the credentials this sandbox accepts (its scenario's `auth`; `none` when it has none) */
  readonly auth: GrouparooAuth;
  /** every run, oldest first, as GET /api/v1/run/:id would answer now */
  runs(): GrouparooRun[];
}

interface RunRecord {
  id: string;
  execution: Execution;
}

export function grouparooError(status: number, message?: string) {
  const text =
    message ??
    (status === 401
      ? "Please sign in to continue"
      : status === 404
        ? "not found"
        : status === 429
          ? "too many requests"
          : `the sandbox answered ${status}`);
  return { error: { message: text, ...(status === 401 ? { code: "AUTHENTICATION_ERROR" } : {}) } };
}

const failure = (status: number, message?: string): SandboxResponse => ({
  status,
  body: grouparooError(status, message),
});

export async function startGrouparooSandbox(
  options: GrouparooSandboxOptions = {},
): Promise<GrouparooSandbox> {
  const scenario =
    parseScenario(
      { grouparoo: { ...(options.scenario ?? {}), ...(options.auth ? { auth: options.auth } : {}) } },
      "Grouparoo sandbox options",
    ).grouparoo ?? {};
  const auth: GrouparooAuth = scenario.auth ?? { kind: "none" };
  const counters = { triggers: 0, jobsCreated: 0 };
  const lifecycle = new Lifecycle({ tool: "grouparoo", runner: options.runner, logger: options.logger });
  const planner = new OutcomePlanner(GROUPAROO_DEFAULTS, scenario.defaults, scenario.outcomes);
  const runs = new Map<string, RunRecord>();

  const addRun = (
    scheduleId: string,
    plan: ReturnType<OutcomePlanner["next"]>,
    seeded: boolean,
  ): RunRecord => {
    const id = `run_${randomUUID()}`;
    const record: RunRecord = { id, execution: lifecycle.create(id, scheduleId, plan, seeded) };
    runs.set(id, record);
    return record;
  };

  for (const seed of scenario.alreadyRunning ?? []) {
    const { scheduleId, remainingMs, ...spec } = seed;
    const record = addRun(
      scheduleId,
      planner.resolve({ ...spec, durationMs: remainingMs ?? spec.durationMs }),
      true,
    );
    lifecycle.startRunning(record.execution, 1000);
  }

  const view = (run: RunRecord): GrouparooRun => {
    const e = run.execution;
    const now = Date.now();
    let percentComplete = 0;
    if (e.phase === "succeeded" || e.phase === "failed") percentComplete = 100;
    else if (e.startedAt && e.plan.outcome !== "stuck") {
      const elapsed = (e.finishedAt?.getTime() ?? now) - e.startedAt.getTime();
      percentComplete = Math.min(99, Math.floor((elapsed / Math.max(1, e.plan.durationMs)) * 100));
    }
    return {
      id: run.id,
      creatorId: e.key,
      creatorName: e.key,
      creatorType: "schedule",
      state: stateOf(e),
      percentComplete,
      importsCreated: e.rows,
      recordsCreated: 0,
      recordsImported: e.rows,
      error: e.phase === "failed" ? (e.error ?? null) : null,
      highWaterMark: {},
      sourceOffset: 0,
      memberLimit: 100,
      memberOffset: 0,
      method: "importRecords",
      destinationId: null,
      createdAt: e.createdAt.toISOString(),
      updatedAt: e.updatedAt.toISOString(),
      completedAt: e.finishedAt?.toISOString() ?? null,
    };
  };

  const findRun = (request: SandboxRequest): RunRecord | SandboxResponse =>
    runs.get(request.params[0] ?? "") ?? failure(404, `cannot find Run ${request.params[0]}`);

  const runSchedule = (request: SandboxRequest): SandboxResponse => {
    const scheduleId = request.params[0] ?? "";
    if (scenario.knownSchedules && !scenario.knownSchedules.includes(scheduleId))
      return failure(404, `cannot find Schedule ${scheduleId}`);
    // Grouparoo's behaviour: a new run of a schedule stops the runs of it still in flight.
    for (const run of runs.values()) {
      if (run.execution.key === scheduleId && !isTerminal(run.execution))
        lifecycle.cancel(run.execution, "preempted");
    }
    const run = addRun(scheduleId, planner.next(scheduleId), false);
    counters.jobsCreated += 1;
    lifecycle.start(run.execution);
    return { status: 200, body: { run: view(run) } };
  };

  const getRun = (request: SandboxRequest): SandboxResponse => {
    const run = findRun(request);
    if ("status" in run) return run;
    return {
      status: 200,
      body: { run: view(run), quantizedTimeline: [] },
      scripted: run.execution.phase === "unknown",
    };
  };

  const stopRun = (request: SandboxRequest): SandboxResponse => {
    const run = findRun(request);
    if ("status" in run) return run;
    const state = isRecord(request.body) ? request.body.state : undefined;
    if (state !== "stopped")
      return failure(422, `only state "stopped" can be set on a run, got ${JSON.stringify(state)}`);
    lifecycle.cancel(run.execution, "api");
    return { status: 200, body: { run: view(run) }, scripted: run.execution.phase === "unknown" };
  };

  const listScheduleRuns = (request: SandboxRequest): SandboxResponse => {
    const q = request.query;
    const creatorId = single(q.id);
    const state = single(q.state);
    const hasError = single(q.hasError);
    if (hasError !== undefined && hasError !== "true" && hasError !== "false")
      return failure(422, `hasError must be "true" or "false", got ${JSON.stringify(hasError)}`);
    const limit = single(q.limit) === undefined ? 100 : parseInteger(single(q.limit));
    const offset = single(q.offset) === undefined ? 0 : parseInteger(single(q.offset));
    if (limit === undefined || limit < 1) return failure(422, "limit must be a positive integer");
    if (offset === undefined || offset < 0) return failure(422, "offset must be an integer >= 0");
    const matching = [...runs.values()]
      .filter((r) => creatorId === undefined || r.execution.key === creatorId)
      .filter((r) => state === undefined || stateOf(r.execution) === state)
      .filter((r) => hasError === undefined || (r.execution.phase === "failed") === (hasError === "true"))
      // newest update first, as Grouparoo's runs:list orders them (ties: the newest created first)
      .reverse()
      .sort((a, b) => b.execution.updatedAt.getTime() - a.execution.updatedAt.getTime());
    const page = matching.slice(offset, offset + limit);
    return {
      status: 200,
      body: { runs: page.map(view), total: matching.length },
      scripted: page.some((r) => r.execution.phase === "unknown"),
    };
  };

  const authenticate = (request: SandboxRequest): SandboxResponse | undefined => {
    if (auth.kind === "none") return undefined;
    const header = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
    const param = single(request.query.apiKey) ?? (isRecord(request.body) ? request.body.apiKey : undefined);
    if (header === auth.apiKey || (header === undefined && param === auth.apiKey)) return undefined;
    return failure(401);
  };

  const http = await startHttpSandbox(
    {
      tool: "grouparoo",
      basePath: "",
      errorBody: grouparooError,
      authenticate,
      routes: [
        {
          method: "POST",
          pattern: /^\/api\/v1\/schedule\/([^/]+)\/run\/?$/,
          operation: "runSchedule",
          trigger: true,
          handle: runSchedule,
        },
        {
          method: "GET",
          pattern: /^\/api\/v1\/status\/public\/?$/,
          operation: "statusPublic",
          authenticated: false,
          handle: () => ({ status: 200, body: { status: "ok" } }),
        },
        { method: "GET", pattern: /^\/api\/v1\/run\/([^/]+)\/?$/, operation: "getRun", handle: getRun },
        { method: "PUT", pattern: /^\/api\/v1\/run\/([^/]+)\/?$/, operation: "stopRun", handle: stopRun },
        {
          method: "GET",
          pattern: /^\/api\/v1\/runs\/?$/,
          operation: "listScheduleRuns",
          handle: listScheduleRuns,
        },
      ],
    },
    { ...options, rules: scenario.rules, counters, onClose: () => lifecycle.close() },
  );

  return {
    tool: "grouparoo",
    baseUrl: http.origin,
    auth,
    port: http.port,
    traffic: http.traffic,
    counters,
    close: http.close,
    runs: () => [...runs.values()].map(view),
  };
}

function stateOf(execution: Execution): string {
  switch (execution.phase) {
    case "queued":
    case "starting":
      return "draft";
    case "running":
    case "incomplete":
      return "running";
    case "succeeded":
    case "failed":
      return "complete";
    case "cancelled":
      return "stopped";
    case "unknown":
      return String(execution.plan.status);
  }
}
