/**
 * The status API's side of the CORS protocol (WHATWG Fetch), for a browser page on an allowed
 * origin (a dashboard) calling the deployed API with SigV4 headers. A preflight (OPTIONS) from an
 * allowed origin on a known path gets 204 with what that path accepts; any other OPTIONS gets a
 * 403 problem: Fetch fails a preflight whose status is not 2xx just as one without
 * `Access-Control-Allow-Origin`, and the 403 says why to whoever reads the network log. Answers to
 * an allowed origin carry `Access-Control-Allow-Origin`. With no allowed origins (the default, and
 * always locally) CORS is closed: every preflight is refused, so no page elsewhere can send JSON.
 *
 * Hand-written rather than @middy/http-cors: that middleware takes one methods list for every
 * route and answers every OPTIONS 204 (ADR 0012).
 */
import type { MiddlewareObj, Request } from "@middy/core";
import { type Problem, problem, routeNotFoundProblem } from "@tapestry/core/status";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";

/** What a signed request from a browser carries beyond the CORS-safelisted headers. */
export const CORS_ALLOW_HEADERS = [
  "authorization",
  "content-type",
  "x-amz-date",
  "x-amz-security-token",
  "x-amz-content-sha256",
] as const;

/** Chromium caps a preflight's cache at 2 hours (Firefox at 24): a longer value buys nothing. */
export const CORS_MAX_AGE_SECONDS = 7200;

/** Response headers a page may read beyond the CORS-safelisted ones: a 202's run. */
const EXPOSE_HEADERS = ["location"];

export interface CorsOptions {
  /** origins such as https://ops.example.com; empty means CORS is closed */
  readonly allowOrigins: readonly string[];
  /** the methods a path accepts (empty for no route) */
  readonly allowedMethods: (path: string) => readonly string[];
  readonly problemResponse: (problem: Problem) => APIGatewayProxyStructuredResultV2;
}

export function cors(
  options: CorsOptions,
): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const allowed = new Set(options.allowOrigins.map(originOf).filter((o): o is string => o !== undefined));
  const allowedOrigin = (event: APIGatewayProxyEventV2): string | undefined => {
    const origin = originOf(event.headers?.origin);
    return origin !== undefined && allowed.has(origin) ? origin : undefined;
  };

  const decorate = (request: Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>) => {
    if (!request.response || allowed.size === 0) return;
    const origin = allowedOrigin(request.event);
    request.response = {
      ...request.response,
      headers: {
        ...request.response.headers,
        // the answer depends on Origin whenever some origin is allowed
        vary: "origin",
        ...(origin
          ? {
              "access-control-allow-origin": origin,
              "access-control-expose-headers": EXPOSE_HEADERS.join(", "),
            }
          : {}),
      },
    };
  };

  return {
    before: (request) => {
      const { event } = request;
      if (event.requestContext?.http?.method?.toUpperCase() !== "OPTIONS") return undefined;
      const path = event.rawPath || event.requestContext.http.path || "/";
      const methods = options.allowedMethods(path);
      if (methods.length === 0) return options.problemResponse(routeNotFoundProblem("OPTIONS", path));
      const origin = allowedOrigin(event);
      if (!origin) return options.problemResponse(problem(403, preflightRefusal(event, allowed.size), path));
      return {
        statusCode: 204,
        headers: {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": methods.join(", "),
          "access-control-allow-headers": CORS_ALLOW_HEADERS.join(", "),
          "access-control-max-age": String(CORS_MAX_AGE_SECONDS),
          "cache-control": "no-store",
          vary: "origin",
        },
      };
    },
    after: decorate,
    onError: decorate,
  };
}

function preflightRefusal(event: APIGatewayProxyEventV2, allowedCount: number): string {
  const origin = event.headers?.origin;
  if (origin === undefined) {
    return "OPTIONS answers CORS preflight requests only, and this one has no Origin header";
  }
  const shown = JSON.stringify(origin.length > 100 ? `${origin.slice(0, 100)}…` : origin);
  return allowedCount === 0
    ? `cross-origin requests are not allowed (origin ${shown}): this API allows no browser origin`
    : `cross-origin requests from ${shown} are not allowed: it is not one of the deployment's statusApi.corsAllowOrigins`;
}

/** `https://Ops.Example.com:443/` -> `https://ops.example.com`; undefined for "null" and garbage. */
function originOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : undefined;
  } catch {
    return undefined;
  }
}
