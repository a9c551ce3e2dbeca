/**
 * The status API: one Lambda behind API Gateway (HTTP API, payload v2, a `$default` or
 * `ANY /{proxy+}` route), and the same handler served by the embedded control plane's local HTTP
 * server. Thin: parse (core/status) -> query the ledger or start a run (core/status) -> map to HTTP.
 * The contract is docs/status-api.openapi.yaml. Every GET route answers HEAD too (same status and
 * headers, no body); OPTIONS is the CORS preflight (./cors.ts).
 */
import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy, { type MiddlewareObj, type Request } from "@middy/core";
import httpRouterHandler, { type Method, type Route } from "@middy/http-router";
import { type AlertStore, alertsOverview } from "@tapestry/core/alerts";
import type { TapestryConfig } from "@tapestry/core/config";
import type { EventPublisher } from "@tapestry/core/events";
import type { RunLedger } from "@tapestry/core/ledger";
import type { Logger } from "@tapestry/core/logging";
import {
  lastProvisioning,
  type ProvisioningRuns,
  type ProvisioningStarter,
  ProvisioningUnavailableError,
  requestProvisioning,
} from "@tapestry/core/provisioning";
import type { StackTool } from "@tapestry/core/provisioning/stacks/cloudformation";
import {
  type DeprovisionInput,
  parseDeprovisionQuery,
  requestDeprovisioning,
} from "@tapestry/core/provisioning/stacks/deprovision";
import { listToolStacks, type ToolStackRecords } from "@tapestry/core/provisioning/stacks/records";
import {
  cancelRun,
  listPipelines,
  memoizedNextFireTime,
  methodNotAllowedProblem,
  type NextFireTime,
  PROBLEM_CONTENT_TYPE,
  type Problem,
  parseRunIdParam,
  parseRunsQuery,
  parseTriggerBody,
  pipelineDetails,
  pipelineRuns,
  problemFromError,
  type RunController,
  recordingPublisher,
  requireJsonContentType,
  retryRun,
  routeNotFoundProblem,
  runDetails,
  runEvents,
  type StatusContext,
  statusOverview,
  triggerManualRun,
} from "@tapestry/core/status";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { coreLogger } from "../powertools";
import { cors } from "./cors";

export interface StatusApiDeps {
  readonly config: TapestryConfig;
  readonly ledger: RunLedger;
  /** starts and stops pipeline runs: Step Functions StartExecution / StopExecution on AWS, the embedded runner locally */
  readonly runs: RunController;
  /** the event bus: a queued run and a cancel request are recorded in the ledger, then published here */
  readonly bus: EventPublisher;
  now(): Date;
  readonly nextFireTime: NextFireTime;
  /** the incidents of the pipelines' thresholds, for /alerts */
  readonly alerts: Pick<AlertStore, "openIncidents" | "listIncidents">;
  /** the control plane's own health for /status (embedded: its bus's dead letters) */
  readonly controlPlane?: StatusContext["controlPlane"];
  /** a Powertools Logger (its Lambda context is injected) or any core Logger; a Powertools Logger by default */
  readonly logger?: PowertoolsLogger | Logger;
  /**
   * Browser origins (e.g. https://ops.example.com) whose preflights are granted and whose answers
   * carry Access-Control-Allow-Origin; none by default (CORS closed), and none locally.
   */
  readonly corsAllowOrigins?: readonly string[];
  /**
   * POST and GET /provisioning: the provisioning runs (their store, the lock) and what starts a
   * provision execution. Absent where the deployment has no Provisioning stack: the routes answer 404.
   */
  readonly provisioning?: {
    readonly runs: ProvisioningRuns;
    readonly starter: ProvisioningStarter;
    /** DELETE /provisioning: what starts a deprovision execution (absent: 404) */
    readonly deprovisionStarter?: { start(input: DeprovisionInput): Promise<void> };
    /** GET /stacks: the tool stacks' records and their names (absent: 404) */
    readonly stacks?: {
      readonly records: ToolStackRecords;
      readonly stackNameOf: (tool: StackTool) => string;
    };
  };
}

export type StatusApiEvent = APIGatewayProxyEventV2;
export type StatusApiResult = APIGatewayProxyStructuredResultV2;
export type StatusApiHandler = (event: StatusApiEvent, context: Context) => Promise<StatusApiResult>;

export const STATUS_API_SERVICE_NAME = "tapestry-status-api";

type RouteHandler = (event: StatusApiEvent) => Promise<StatusApiResult>;
type RouteEntry = readonly [Method, string, RouteHandler];

const NO_STORE = { "cache-control": "no-store" };

function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): StatusApiResult {
  return {
    statusCode,
    headers: { "content-type": "application/json", ...NO_STORE, ...headers },
    body: JSON.stringify(body),
  };
}

export function problemResponse(problem: Problem): StatusApiResult {
  return {
    statusCode: problem.status,
    headers: {
      "content-type": PROBLEM_CONTENT_TYPE,
      ...NO_STORE,
      ...(problem.allow ? { allow: problem.allow.join(", ") } : {}),
    },
    body: JSON.stringify(problem),
  };
}

function pathParam(event: StatusApiEvent, name: string): string {
  const raw = event.pathParameters?.[name] ?? "";
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function requestBody(event: StatusApiEvent): string | undefined {
  if (event.body === undefined) return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
}

/** The path an answer is about (RFC 9457 `instance`). */
function instanceOf(event: StatusApiEvent): string {
  return event.rawPath || event.requestContext?.http?.path || "/";
}

/**
 * HEAD is GET without the body (RFC 9110 §9.3.2): the same status and headers, the GET body's
 * length as Content-Length. Applied to every answer, errors included.
 */
function headWithoutBody(): MiddlewareObj<StatusApiEvent, StatusApiResult> {
  const strip = (request: Request<StatusApiEvent, StatusApiResult>) => {
    if (request.event.requestContext?.http?.method?.toUpperCase() !== "HEAD" || !request.response) return;
    const { body, isBase64Encoded, ...rest } = request.response;
    if (body === undefined) return;
    const length = isBase64Encoded ? Buffer.from(body, "base64").length : Buffer.byteLength(body);
    request.response = { ...rest, headers: { ...rest.headers, "content-length": String(length) } };
  };
  return { after: strip, onError: strip };
}

/** Methods whose requests carry content: on a route that takes them, the content must be JSON. */
const CONTENT_METHODS = new Set(["POST", "PUT", "PATCH"]);

/**
 * 415 for a POST/PUT/PATCH on a route that takes it without `Content-Type: application/json`,
 * before its handler runs (so before anything starts), whatever the route: a new route inherits
 * the rule that keeps web pages from sending it requests without a CORS preflight.
 */
function jsonContentOnly(
  allowedMethods: (path: string) => readonly string[],
): MiddlewareObj<StatusApiEvent, StatusApiResult> {
  return {
    before: (request) => {
      const method = request.event.requestContext?.http?.method?.toUpperCase() ?? "";
      if (!CONTENT_METHODS.has(method) || !allowedMethods(instanceOf(request.event)).includes(method)) return;
      requireJsonContentType(request.event.headers?.["content-type"]);
    },
  };
}

/** Every GET route, and a HEAD route beside it that runs the same handler. */
function withHeadRoutes(routes: readonly RouteEntry[]): RouteEntry[] {
  return routes.flatMap((route): RouteEntry[] =>
    route[0] === "GET" ? [route, ["HEAD", route[1], route[2]]] : [route],
  );
}

/** Turns every error into problem+json; 5xx are logged with the error, 4xx as one info line. */
function problemDetails(logger: Logger): MiddlewareObj<StatusApiEvent, StatusApiResult> {
  return {
    onError: (request) => {
      const problem = problemFromError(request.error, instanceOf(request.event));
      const where = { method: request.event.requestContext?.http?.method, path: instanceOf(request.event) };
      if (problem.status >= 500) {
        logger.error("status API request failed", { ...where, error: request.error });
      } else {
        logger.info("status API request refused", { ...where, status: problem.status, type: problem.type });
      }
      request.response = problemResponse(problem);
    },
  };
}

export function createStatusApiHandler(deps: StatusApiDeps): StatusApiHandler {
  const given = deps.logger ?? new PowertoolsLogger({ serviceName: STATUS_API_SERVICE_NAME });
  const logger = given instanceof PowertoolsLogger ? coreLogger(given) : given;
  const ctx: StatusContext = {
    config: deps.config,
    ledger: deps.ledger,
    now: deps.now,
    // each schedule's next fire is kept until the clock reaches it (core/status/read-cache.ts)
    nextFireTime: memoizedNextFireTime(deps.nextFireTime),
    controlPlane: deps.controlPlane,
  };
  const requests = { ...ctx, runs: deps.runs, events: recordingPublisher(deps.ledger, deps.bus) };
  const provisioning = () => {
    if (!deps.provisioning) throw new ProvisioningUnavailableError();
    return { config: deps.config, now: deps.now, ...deps.provisioning };
  };

  // One line per operation of docs/status-api.openapi.yaml; HEAD and OPTIONS follow from these.
  const routes: readonly RouteEntry[] = withHeadRoutes([
    ["GET", "/health", async () => json(200, { status: "ok", time: deps.now().toISOString() })],
    ["GET", "/status", async () => json(200, await statusOverview(ctx))],
    ["GET", "/pipelines", async () => json(200, listPipelines(deps.config))],
    [
      "GET",
      "/pipelines/{name}",
      async (event) => json(200, await pipelineDetails(ctx, pathParam(event, "name"))),
    ],
    [
      "GET",
      "/pipelines/{name}/runs",
      async (event) => {
        const query = parseRunsQuery(event.queryStringParameters);
        return json(200, await pipelineRuns(ctx, pathParam(event, "name"), query));
      },
    ],
    [
      "POST",
      "/pipelines/{name}/runs",
      async (event) => {
        const name = pathParam(event, "name");
        const request = parseTriggerBody({
          body: requestBody(event),
          contentType: event.headers?.["content-type"],
        });
        const accepted = await triggerManualRun(requests, name);
        logger.info("manual run accepted", {
          pipeline: accepted.pipeline,
          runId: accepted.runId,
          status: accepted.status,
          note: request.note,
        });
        return json(202, accepted, { location: `/runs/${encodeURIComponent(accepted.runId)}` });
      },
    ],
    [
      "POST",
      "/runs/{runId}/cancel",
      async (event) => {
        const runId = parseRunIdParam(pathParam(event, "runId"));
        const request = parseTriggerBody({
          body: requestBody(event),
          contentType: event.headers?.["content-type"],
        });
        const accepted = await cancelRun(requests, runId, request.note);
        logger.info("run cancel requested", { pipeline: accepted.pipeline, runId, note: request.note });
        return json(202, accepted, { location: `/runs/${encodeURIComponent(runId)}` });
      },
    ],
    [
      "POST",
      "/runs/{runId}/retry",
      async (event) => {
        const runId = parseRunIdParam(pathParam(event, "runId"));
        const request = parseTriggerBody({
          body: requestBody(event),
          contentType: event.headers?.["content-type"],
        });
        const accepted = await retryRun(requests, runId);
        logger.info("retry accepted", {
          pipeline: accepted.pipeline,
          runId: accepted.runId,
          retryOf: runId,
          fromStage: accepted.fromStage,
          status: accepted.status,
          note: request.note,
        });
        return json(202, accepted, { location: `/runs/${encodeURIComponent(accepted.runId)}` });
      },
    ],
    [
      "GET",
      "/runs/{runId}",
      async (event) => json(200, await runDetails(ctx, parseRunIdParam(pathParam(event, "runId")))),
    ],
    [
      "GET",
      "/alerts",
      async (event) =>
        json(200, await alertsOverview(deps.alerts, parseRunsQuery(event.queryStringParameters))),
    ],
    [
      "GET",
      "/runs/{runId}/events",
      async (event) => json(200, await runEvents(ctx, parseRunIdParam(pathParam(event, "runId")))),
    ],
    ["GET", "/provisioning", async () => json(200, await lastProvisioning(provisioning()))],
    [
      "DELETE",
      "/provisioning",
      async (event) => {
        const { purge } = parseDeprovisionQuery(event.queryStringParameters);
        const { runs, deprovisionStarter } = provisioning();
        if (!deprovisionStarter) throw new ProvisioningUnavailableError();
        const accepted = await requestDeprovisioning(
          { runs, starter: deprovisionStarter, now: deps.now },
          { trigger: "api", purge },
        );
        logger.info("deprovisioning run accepted", { runId: accepted.runId, purge });
        return json(202, accepted, { location: "/provisioning" });
      },
    ],
    [
      "GET",
      "/stacks",
      async () => {
        const { stacks } = provisioning();
        if (!stacks) throw new ProvisioningUnavailableError();
        return json(200, await listToolStacks(deps.config, stacks.records, stacks.stackNameOf));
      },
    ],
    [
      "POST",
      "/provisioning",
      async (event) => {
        const request = parseTriggerBody({
          body: requestBody(event),
          contentType: event.headers?.["content-type"],
        });
        const accepted = await requestProvisioning(provisioning(), "api");
        logger.info("provisioning run accepted", { runId: accepted.runId, note: request.note });
        return json(202, accepted, { location: "/provisioning" });
      },
    ],
  ]);

  const templates = routes.map(([method, path]) => ({ method, pattern: templatePattern(path) }));
  const allowedMethods = (path: string): string[] => [
    ...new Set(templates.filter((t) => t.pattern.test(path)).map((t) => t.method)),
  ];

  const router = httpRouterHandler<StatusApiEvent, StatusApiResult>({
    routes: routes.map(
      ([method, path, handler]): Route<StatusApiEvent, StatusApiResult> => ({ method, path, handler }),
    ),
    notFoundResponse: ({ method, path }) => {
      const allow = allowedMethods(path);
      return problemResponse(
        allow.length > 0 ? methodNotAllowedProblem(method, path, allow) : routeNotFoundProblem(method, path),
      );
    },
  });

  // after and onError run last-used first: problem+json, then CORS headers, then HEAD's body removal
  const handler = middy<StatusApiEvent, StatusApiResult>()
    .use(headWithoutBody())
    .use(cors({ allowOrigins: deps.corsAllowOrigins ?? [], allowedMethods, problemResponse }))
    .use(problemDetails(logger))
    .use(jsonContentOnly(allowedMethods))
    .handler(router);
  if (given instanceof PowertoolsLogger) handler.use(injectLambdaContext(given));
  return handler;
}

/** `/runs/{runId}` -> /^\/runs\/[^/]+\/?$/ (the router accepts one trailing slash too). */
function templatePattern(template: string): RegExp {
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => (/^\{[^}]+\}$/.test(part) ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}/?$`);
}
