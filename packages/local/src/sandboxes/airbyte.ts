import { randomBytes, randomInt } from "node:crypto";
import {
  type AirbyteConfigurationState,
  airbyteConfigurationRoutes,
  emptyConfigurationState,
} from "./airbyte-config";
import { airbyteNotifications } from "./airbyte-notifications";
import { type Execution, isTerminal, Lifecycle, OutcomePlanner, type ToolDefaults } from "./lifecycle";
import { type AirbyteAuth, type AirbyteScenario, parseScenario } from "./scenario";
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
import { isoDuration } from "./time";
import { type SentWebhook, WebhookSender } from "./webhook-sender";

/**
 * Airbyte's public API v1 (self-hosted form: `/api/public/v1`): application tokens, jobs, and the
 * workspaces, sources, destinations and connections provisioning ensures (airbyte-config.ts).
 * Statuses: pending -> running -> succeeded | failed | cancelled (and `incomplete` while an
 * attempt is retried). A second sync of a connection while one is in flight gets a 409 problem.
 */

export const AIRBYTE_DEFAULTS: ToolDefaults = {
  queuedMs: 100,
  startingMs: 0,
  durationMs: 300,
  incompleteMs: 200,
  rows: 1204,
  bytes: 88_000,
  error: "Sync failed: the source connector exited with code 1",
};

const JOB_TYPES = ["sync", "reset", "refresh", "clear"];
const JOB_STATUSES = ["pending", "queued", "running", "incomplete", "failed", "succeeded", "cancelled"];
const ORDER_FIELDS = ["createdAt", "updatedAt"];
const DEFAULT_TOKEN_TTL_SECONDS = 180;

/** A job as the API answers it (JobResponse). */
export interface AirbyteJob {
  jobId: number;
  status: string;
  jobType: string;
  startTime: string;
  connectionId: string;
  lastUpdatedAt: string;
  duration: string;
  rowsSynced?: number;
  bytesSynced?: number;
}

export interface AirbyteSandboxOptions extends CommonSandboxOptions {
  /** the scenario's `airbyte` section (validated again here) */
  scenario?: AirbyteScenario | undefined;
  /** overrides scenario.auth; default `{ kind: "none" }` */
  auth?: AirbyteAuth | undefined;
  /** the first job id; default a random 5-digit number */
  firstJobId?: number | undefined;
  /** the id of the sandbox's one workspace (its notifications are where webhooks go); default a random UUID */
  workspaceId?: string | undefined;
}

export interface AirbyteSandbox extends SandboxHandle<"airbyte"> {
  /** the credentials this sandbox accepts (its scenario's `auth`; `none` when it has none) */
  readonly auth: AirbyteAuth;
  /** every job (seeded or created), oldest first, as GET /jobs/{id} would answer now, plus the failure reason the public API does not expose */
  jobs(): Array<AirbyteJob & { failureReason?: string }>;
  /** invalidates every issued access token (the next call with one gets 401) */
  revokeTokens(): void;
  /** the workspaces, sources, destinations and connections it holds (secrets as they were sent) */
  readonly configuration: AirbyteConfigurationState;
  /** the sandbox's workspace: PATCH /workspaces/{id} sets where its sync notifications (webhooks) go */
  readonly workspaceId: string;
  /** every completion webhook it sent (or tried to), oldest first */
  webhooks(): readonly SentWebhook[];
}

interface JobRecord {
  jobId: number;
  jobType: string;
  execution: Execution;
}

const PROBLEM_TITLES: Record<number, string> = {
  400: "bad-request",
  401: "unauthorized",
  403: "forbidden",
  404: "resource-not-found",
  409: "state-conflict",
  422: "invalid-input",
  429: "rate-limit-exceeded",
  500: "internal-server-error",
  502: "bad-gateway",
  503: "service-unavailable",
  504: "gateway-timeout",
};

export function airbyteProblem(status: number, detail?: string) {
  const title = PROBLEM_TITLES[status] ?? (status >= 500 ? "unexpected-problem" : "error");
  return {
    type: `https://reference.airbyte.com/reference/errors#${title}`,
    title,
    status,
    detail: detail ?? `The sandbox answered ${status} (${title}).`,
  };
}

const problem = (status: number, detail: string): SandboxResponse => ({
  status,
  body: airbyteProblem(status, detail),
});

export async function startAirbyteSandbox(options: AirbyteSandboxOptions = {}): Promise<AirbyteSandbox> {
  const scenario =
    parseScenario(
      { airbyte: { ...(options.scenario ?? {}), ...(options.auth ? { auth: options.auth } : {}) } },
      "airbyte sandbox options",
    ).airbyte ?? {};
  const auth: AirbyteAuth = scenario.auth ?? { kind: "none" };
  const counters = { triggers: 0, jobsCreated: 0 };
  const notifications = airbyteNotifications(problem, options.workspaceId);
  const webhooks = new WebhookSender({
    tool: "airbyte",
    scripts: scenario.webhooks,
    // a connection provisioning created here may be named (`for: zoom-webinar-registrants`)
    names: (scriptFor, connectionId) => sameConnection(scriptFor, connectionId),
    retries: 0,
    build: notifications.build,
    logger: options.logger,
  });
  const lifecycle = new Lifecycle({
    tool: "airbyte",
    runner: options.runner,
    logger: options.logger,
    onEnd: (execution) => webhooks.jobEnded(execution),
  });
  const planner = new OutcomePlanner(AIRBYTE_DEFAULTS, scenario.defaults, scenario.outcomes);
  const jobs = new Map<number, JobRecord>();
  const tokens = new Map<string, number>();
  let nextJobId = options.firstJobId ?? 10_000 + randomInt(80_000);
  let baseUrl = "";
  const configuration = emptyConfigurationState();
  /**
   * A scenario names a connection by its id or, for one provisioning created here, by its name
   * (`for: zoom-webinar-registrants`): ids are random per sandbox, names are what the config says.
   */
  const sameConnection = (key: string, connectionId: string) =>
    key === connectionId || configuration.connections.get(connectionId)?.name === key;
  const connectionIdOf = (key: string) =>
    configuration.connections.has(key)
      ? key
      : ([...configuration.connections.values()].find((c) => c.name === key)?.connectionId ?? key);

  const view = (job: JobRecord): AirbyteJob => {
    const e = job.execution;
    const end = e.finishedAt?.getTime() ?? Date.now();
    const answer: AirbyteJob = {
      jobId: job.jobId,
      status: statusOf(e),
      jobType: job.jobType,
      startTime: e.createdAt.toISOString(),
      connectionId: connectionIdOf(e.key),
      lastUpdatedAt: e.updatedAt.toISOString(),
      duration: isoDuration(end - e.createdAt.getTime()),
    };
    if (e.phase !== "queued" && e.phase !== "starting") {
      answer.rowsSynced = e.rows;
      answer.bytesSynced = e.bytes;
    }
    return answer;
  };

  /** 200 with the job; an unknown-status job is the scenario's doing, so the exchange counts as scripted */
  const answer = (job: JobRecord): SandboxResponse => ({
    status: 200,
    body: view(job),
    scripted: job.execution.phase === "unknown",
  });

  const findJob = (raw: string | undefined): JobRecord | SandboxResponse => {
    const id = parseInteger(raw);
    if (id === undefined) return problem(400, `jobId must be an integer, got "${raw}"`);
    const job = jobs.get(id);
    if (!job) return problem(404, `Could not find a resource for: ${id}`);
    return job;
  };

  const addJob = (connectionId: string, jobType: string): JobRecord => {
    const jobId = nextJobId++;
    const execution = lifecycle.create(
      String(jobId),
      connectionId,
      planner.next(connectionId, configuration.connections.get(connectionId)?.name),
    );
    const job: JobRecord = { jobId, jobType, execution };
    jobs.set(jobId, job);
    return job;
  };

  for (const seed of scenario.alreadyRunning ?? []) {
    const jobId = nextJobId++;
    const { connectionId, remainingMs, ...spec } = seed;
    const plan = planner.resolve({ ...spec, durationMs: remainingMs ?? spec.durationMs });
    const execution = lifecycle.create(String(jobId), connectionId, plan, true);
    jobs.set(jobId, { jobId, jobType: "sync", execution });
    lifecycle.startRunning(execution, 1000);
  }

  const createAccessToken = (request: SandboxRequest): SandboxResponse => {
    const body = request.body;
    if (!isRecord(body)) return problem(400, "The body must be an object with client_id and client_secret.");
    const clientId = body.client_id;
    const clientSecret = body.client_secret;
    if (typeof clientId !== "string" || typeof clientSecret !== "string")
      return problem(400, "client_id and client_secret are required strings.");
    const grant = body["grant-type"] ?? body.grant_type;
    if (grant !== undefined && grant !== "client_credentials")
      return problem(400, `Unsupported grant type: ${JSON.stringify(grant)}; use "client_credentials".`);
    if (auth.kind === "bearer") return problem(401, "No application is configured on this instance.");
    if (
      auth.kind === "client-credentials" &&
      (clientId !== auth.clientId || clientSecret !== auth.clientSecret)
    )
      return problem(401, "Invalid client credentials.");
    const ttl =
      auth.kind === "client-credentials" ? (auth.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS) : 180;
    const token = randomBytes(32).toString("base64url");
    tokens.set(token, Date.now() + ttl * 1000);
    return { status: 200, body: { access_token: token, token_type: "Bearer", expires_in: Math.ceil(ttl) } };
  };

  const createJob = (request: SandboxRequest): SandboxResponse => {
    const body = request.body;
    if (!isRecord(body)) return problem(400, "The body must be an object with connectionId and jobType.");
    const { connectionId, jobType } = body;
    if (typeof connectionId !== "string" || connectionId === "")
      return problem(400, "connectionId is required (a connection UUID).");
    if (typeof jobType !== "string" || !JOB_TYPES.includes(jobType))
      return problem(400, `jobType must be one of ${JOB_TYPES.join(", ")}.`);
    if (scenario.knownConnections && !scenario.knownConnections.some((k) => sameConnection(k, connectionId)))
      return problem(404, `Could not find a resource for: ${connectionId}`);
    const running = [...jobs.values()].find(
      (j) => sameConnection(j.execution.key, connectionId) && !isTerminal(j.execution),
    );
    if (running)
      return problem(409, `A sync is already running for: ${connectionId} (job ${running.jobId}).`);
    const job = addJob(connectionId, jobType);
    counters.jobsCreated += 1;
    lifecycle.start(job.execution);
    return { status: 200, body: view(job) };
  };

  const getJob = (request: SandboxRequest): SandboxResponse => {
    const job = findJob(request.params[0]);
    return "status" in job ? job : answer(job);
  };

  const cancelJob = (request: SandboxRequest): SandboxResponse => {
    const job = findJob(request.params[0]);
    if ("status" in job) return job;
    lifecycle.cancel(job.execution, "api");
    return answer(job);
  };

  const listJobs = (request: SandboxRequest): SandboxResponse => {
    const q = request.query;
    const connectionId = single(q.connectionId);
    const jobType = single(q.jobType);
    const status = single(q.status);
    if (jobType !== undefined && !JOB_TYPES.includes(jobType))
      return problem(400, `jobType must be one of ${JOB_TYPES.join(", ")}.`);
    if (status !== undefined && !JOB_STATUSES.includes(status))
      return problem(400, `status must be one of ${JOB_STATUSES.join(", ")}.`);
    const limit = single(q.limit) === undefined ? 20 : parseInteger(single(q.limit));
    if (limit === undefined || limit < 1 || limit > 100)
      return problem(400, "limit must be an integer 1..100.");
    const offset = single(q.offset) === undefined ? 0 : parseInteger(single(q.offset));
    if (offset === undefined || offset < 0) return problem(400, "offset must be an integer >= 0.");
    const orderBy = single(q.orderBy) ?? "createdAt|DESC";
    const order = /^(\w+)\|(ASC|DESC)$/.exec(orderBy);
    if (!order || !ORDER_FIELDS.includes(order[1] ?? ""))
      return problem(
        400,
        `orderBy must be <field>|ASC or <field>|DESC with field one of ${ORDER_FIELDS.join(", ")}.`,
      );
    const ranges: Array<[string, (j: JobRecord) => number, (a: number, b: number) => boolean]> = [
      ["createdAtStart", (j) => j.execution.createdAt.getTime(), (v, b) => v >= b],
      ["createdAtEnd", (j) => j.execution.createdAt.getTime(), (v, b) => v <= b],
      ["updatedAtStart", (j) => j.execution.updatedAt.getTime(), (v, b) => v >= b],
      ["updatedAtEnd", (j) => j.execution.updatedAt.getTime(), (v, b) => v <= b],
    ];
    const bounds: Array<[(j: JobRecord) => number, (a: number, b: number) => boolean, number]> = [];
    for (const [name, get, cmp] of ranges) {
      const raw = single(q[name]);
      if (raw === undefined) continue;
      const at = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
      if (Number.isNaN(at)) return problem(400, `${name} must be a date-time.`);
      bounds.push([get, cmp, at]);
    }
    const field = order[1] === "updatedAt" ? "updatedAt" : "createdAt";
    const direction = order[2] === "ASC" ? 1 : -1;
    const matching = [...jobs.values()]
      .filter((j) => connectionId === undefined || sameConnection(j.execution.key, connectionId))
      .filter((j) => jobType === undefined || j.jobType === jobType)
      .filter((j) => status === undefined || statusOf(j.execution) === status)
      .filter((j) => bounds.every(([get, cmp, at]) => cmp(get(j), at)))
      .sort(
        (a, b) =>
          direction * (a.execution[field].getTime() - b.execution[field].getTime() || a.jobId - b.jobId),
      );
    const page = matching.slice(offset, offset + limit);
    const link = (at: number) => {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(q)) {
        if (key === "limit" || key === "offset") continue;
        for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
      }
      params.set("limit", String(limit));
      params.set("offset", String(at));
      return `${baseUrl}/jobs?${params}`;
    };
    const list: { data: AirbyteJob[]; next?: string; previous?: string } = { data: page.map(view) };
    if (offset + limit < matching.length) list.next = link(offset + limit);
    if (offset > 0) list.previous = link(Math.max(0, offset - limit));
    return { status: 200, body: list, scripted: page.some((j) => j.execution.phase === "unknown") };
  };

  const authenticate = (request: SandboxRequest): SandboxResponse | undefined => {
    if (auth.kind === "none") return undefined;
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
    if (token === undefined) return unauthorized("Missing bearer token.");
    if (auth.kind === "bearer")
      return token === auth.token ? undefined : unauthorized("Invalid access token.");
    const expiresAt = tokens.get(token);
    if (expiresAt === undefined) return unauthorized("Invalid or revoked access token.");
    if (expiresAt <= Date.now()) {
      tokens.delete(token);
      return unauthorized("The access token has expired.");
    }
    return undefined;
  };

  const http = await startHttpSandbox(
    {
      tool: "airbyte",
      basePath: "/api/public/v1",
      errorBody: airbyteProblem,
      errorContentType: "application/problem+json",
      authenticate,
      revokeTokens: () => tokens.clear(),
      routes: [
        {
          method: "POST",
          pattern: /^\/applications\/token\/?$/,
          operation: "createAccessToken",
          authenticated: false,
          handle: createAccessToken,
        },
        // the public API's Health Check: unauthenticated, 200 when up
        {
          method: "GET",
          pattern: /^\/health\/?$/,
          operation: "health",
          authenticated: false,
          handle: () => ({ status: 200, body: {} }),
        },
        { method: "POST", pattern: /^\/jobs\/?$/, operation: "createJob", trigger: true, handle: createJob },
        { method: "GET", pattern: /^\/jobs\/?$/, operation: "listJobs", handle: listJobs },
        { method: "GET", pattern: /^\/jobs\/([^/]+)\/?$/, operation: "getJob", handle: getJob },
        { method: "DELETE", pattern: /^\/jobs\/([^/]+)\/?$/, operation: "cancelJob", handle: cancelJob },
        ...airbyteConfigurationRoutes(configuration, problem, () => baseUrl),
        ...notifications.routes,
      ],
    },
    { ...options, rules: scenario.rules, counters, onClose: () => lifecycle.close() },
  );
  baseUrl = `${http.origin}/api/public/v1`;

  return {
    tool: "airbyte",
    baseUrl,
    auth,
    port: http.port,
    traffic: http.traffic,
    counters,
    close: async () => {
      await webhooks.close();
      await http.close();
    },
    workspaceId: notifications.workspace.workspaceId,
    webhooks: () => webhooks.deliveries(),
    jobs: () =>
      [...jobs.values()].map((job) => ({
        ...view(job),
        ...(job.execution.error !== undefined ? { failureReason: job.execution.error } : {}),
      })),
    revokeTokens: () => tokens.clear(),
    configuration,
  };
}

function statusOf(execution: Execution): string {
  switch (execution.phase) {
    case "queued":
    case "starting":
      return "pending";
    case "unknown":
      return String(execution.plan.status);
    default:
      return execution.phase;
  }
}

function unauthorized(detail: string): SandboxResponse {
  return {
    status: 401,
    body: airbyteProblem(401, detail),
    headers: { "www-authenticate": 'Bearer realm="airbyte"' },
  };
}
