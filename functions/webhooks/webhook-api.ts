/**
 * The completion webhooks' routes of the status API: `POST /webhooks/airbyte/{secret}` and
 * `POST /webhooks/dbt-cloud`, the only routes besides `/health` that take no SigV4 (the tools
 * cannot sign AWS requests): the URL secret (Airbyte) or the HMAC signature (dbt Cloud)
 * authenticates them, in core's receiveWebhook. One Lambda behind those two routes on AWS (its own
 * role and throttle); embedded, the local API server hands it the same paths.
 *
 * Every accepted delivery gets the same answer, 202 with no body, whatever became of it (a job no
 * step waits on, a replay, a completed step): the answer tells a caller nothing. Refusals are
 * problem+json with fixed details. Nothing here logs or answers the request's path (Airbyte's
 * carries its secret), its headers or its body.
 */
import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy, { type MiddlewareObj } from "@middy/core";
import httpRouterHandler, { type Route } from "@middy/http-router";
import type { Logger } from "@tapestry/core/logging";
import {
  methodNotAllowedProblem,
  PROBLEM_CONTENT_TYPE,
  type Problem,
  problemFromError,
  requireJsonContentType,
} from "@tapestry/core/status";
import {
  type ReceiveDeps,
  receiveWebhook,
  WEBHOOK_CONFIRM_MS,
  type WebhookTool,
} from "@tapestry/core/webhooks";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { coreLogger } from "../powertools";

export interface WebhookApiDeps extends ReceiveDeps {
  /** a Powertools Logger (its Lambda context is injected) or any core Logger; a Powertools Logger by default */
  readonly logger?: PowertoolsLogger | Logger;
}

export type WebhookApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

export const WEBHOOK_API_SERVICE_NAME = "tapestry-webhooks";

/** The routes, as API Gateway names them (route keys) and as problems' `instance` shows them. */
export const WEBHOOK_ROUTES = {
  airbyte: "/webhooks/airbyte/{secret}",
  "dbt-cloud": "/webhooks/dbt-cloud",
} as const satisfies Record<WebhookTool, string>;

const ACCEPTED: APIGatewayProxyStructuredResultV2 = {
  statusCode: 202,
  headers: { "cache-control": "no-store" },
};

function problemResponse(problem: Problem): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: problem.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, "cache-control": "no-store" },
    body: JSON.stringify(problem),
  };
}

/** The body's bytes, exactly as sent: API Gateway hands binary bodies over in base64. */
function rawBody(event: APIGatewayProxyEventV2): Buffer {
  if (event.body === undefined) return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");
}

/** The route template a request matched: what its problems and log lines name instead of the path. */
function routeOf(event: APIGatewayProxyEventV2): string {
  const path = event.rawPath ?? "";
  if (path.startsWith("/webhooks/airbyte/")) return WEBHOOK_ROUTES.airbyte;
  if (path.startsWith(WEBHOOK_ROUTES["dbt-cloud"])) return WEBHOOK_ROUTES["dbt-cloud"];
  return "/webhooks";
}

/** HEAD is answered as GET would be, without the body (RFC 9110 §9.3.2): here always a 405 or 404. */
function headWithoutBody(): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const strip = (request: {
    event: APIGatewayProxyEventV2;
    response?: APIGatewayProxyStructuredResultV2 | null;
  }) => {
    if (request.event.requestContext?.http?.method?.toUpperCase() !== "HEAD" || !request.response) return;
    const { body, ...rest } = request.response;
    if (body === undefined) return;
    request.response = {
      ...rest,
      headers: { ...rest.headers, "content-length": String(Buffer.byteLength(body)) },
    };
  };
  return { after: strip, onError: strip };
}

/** Every error becomes problem+json about the route template (never the path); 5xx are logged with the error's name. */
function webhookProblems(
  logger: Logger,
): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: (request) => {
      const route = routeOf(request.event);
      const problem = problemFromError(request.error, route);
      const error = request.error;
      if (problem.status >= 500) {
        logger.error("a webhook could not be received", {
          route,
          status: problem.status,
          error: error instanceof Error ? `${error.name}: ${error.message}` : "error",
        });
      } else {
        logger.info("a webhook was refused", { route, status: problem.status, type: problem.type });
      }
      request.response = problemResponse(problem);
    },
  };
}

export function createWebhookApiHandler(deps: WebhookApiDeps): WebhookApiHandler {
  const given = deps.logger ?? new PowertoolsLogger({ serviceName: WEBHOOK_API_SERVICE_NAME });
  const logger = given instanceof PowertoolsLogger ? coreLogger(given) : given;
  const receiveDeps: ReceiveDeps = { ...deps, pipeline: { ...deps.pipeline, logger } };

  const receive =
    (tool: WebhookTool) =>
    async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
      // JSON only, as every POST of the API (ADR 0012): what a web page cannot send without a preflight
      requireJsonContentType(event.headers?.["content-type"]);
      // answered within dbt Cloud's 10 s: a confirming poll that does not fit is the fallback poll's
      const deadline = Date.now() + Math.min(WEBHOOK_CONFIRM_MS, context.getRemainingTimeInMillis() - 1_000);
      const receipt = await receiveWebhook(
        {
          tool,
          body: rawBody(event),
          authorization: event.headers?.authorization,
          urlSecret: event.pathParameters?.secret,
        },
        receiveDeps,
        { deadline },
      );
      logger.info("webhook received", {
        route: WEBHOOK_ROUTES[tool],
        ...(receipt.outcome === "ignored"
          ? { outcome: receipt.outcome, reason: receipt.reason }
          : {
              outcome: receipt.outcome,
              tool: receipt.job.tool,
              externalId: receipt.job.externalId,
              claims: receipt.claim,
              deliveries: receipt.deliveries,
            }),
      });
      return ACCEPTED;
    };

  const routes: Route<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>[] = [
    { method: "POST", path: WEBHOOK_ROUTES.airbyte, handler: receive("airbyte") },
    { method: "POST", path: WEBHOOK_ROUTES["dbt-cloud"], handler: receive("dbt-cloud") },
  ];
  const router = httpRouterHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>({
    routes,
    notFoundResponse: ({ method, path }) => {
      const route = routeOf({ rawPath: path } as APIGatewayProxyEventV2);
      if (route === "/webhooks") {
        return problemResponse({
          type: "about:blank",
          title: "Not Found",
          status: 404,
          detail: `no webhook route takes ${method} here`,
          instance: route,
        });
      }
      // a webhook route's path with another method: its template only, never the path (a secret)
      const problem = methodNotAllowedProblem(method, route, ["POST"]);
      return { ...problemResponse(problem), headers: { ...problemResponse(problem).headers, allow: "POST" } };
    },
  });
  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(headWithoutBody())
    .use(webhookProblems(logger))
    .handler(router);
  if (given instanceof PowertoolsLogger) handler.use(injectLambdaContext(given));
  return handler as WebhookApiHandler;
}
