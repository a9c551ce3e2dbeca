/**
 * Contract check: does recorded HTTP traffic match the tools' API specs?
 *
 * Each exchange is matched to an operation of its tool's spec by method + path, then the request
 * (path, query and header parameters, security header, body) and the response (body against the
 * schema of the documented status) are validated by the tests' one OpenAPI checker
 * (test/support/openapi.ts, ADR 0004). Specs: the vendored Airbyte public API v1 files
 * (OpenAPI 3.1) and dbt Cloud API v2 (OpenAPI 3.0.3) in test/fixtures/specs, and our own
 * description of Grouparoo's API in docs/specs (OpenAPI 3.1).
 *
 * What is particular to the tools' traffic:
 * - statuses the specs omit but the tools really send are an explicit allow-list, each with its
 *   reason (UNDOCUMENTED_STATUS_ALLOW_LIST); their body must be a JSON object or nothing;
 * - an answer without a Content-Type is read as the documented JSON type, and a documented status
 *   without a documented body accepts any body (tools and their proxies do both);
 * - dbt Cloud's spec declares an http "bearer" scheme, but its own description (info.description)
 *   says to send "Authorization: Token <token>" ("Bearer can be used in place of Token ... Both
 *   syntaxes are equivalent"), and dbt's docs and examples use Token: both are accepted for dbt.
 */
import type { RecordedExchange } from "@tapestry/local/sandboxes";
import {
  checkRequest,
  checkResponse,
  documentedResponse,
  findOperation,
  isEmptyBody,
  isObject,
  type Operation,
  openApiDocument,
  parseJsonIfString,
  type Route,
  routesOf,
  type SecurityOptions,
  show,
  undocumentedStatus,
} from "../support/openapi";

export type { RecordedExchange };

type Tool = RecordedExchange["tool"];

/** A status an operation's spec does not document, but that the real service does answer. */
export interface UndocumentedStatusAllowance {
  tool: Tool;
  /** one status, or a class such as "5XX" */
  status: number | `${1 | 2 | 3 | 4 | 5}XX`;
  /** restrict to these operationIds; all operations of the tool when absent */
  operationIds?: readonly string[];
  reason: string;
}

/**
 * Statuses that are not spec violations although the spec does not document them for the
 * operation. Their body must be a JSON object or empty. Anything else undocumented is a problem.
 */
export const UNDOCUMENTED_STATUS_ALLOW_LIST: readonly UndocumentedStatusAllowance[] = [
  {
    tool: "airbyte",
    status: 401,
    reason:
      "missing, invalid or expired access token (application tokens are short-lived); the spec only lists 403",
  },
  {
    tool: "airbyte",
    status: 409,
    operationIds: ["createJob"],
    reason: "a sync or reset of this connection is already running",
  },
  { tool: "airbyte", status: 429, reason: "rate limited (Airbyte Cloud API limits)" },
  { tool: "airbyte", status: "5XX", reason: "Airbyte server, gateway or upstream failure" },
  {
    tool: "dbt-cloud",
    status: 401,
    reason: 'missing or invalid token (named in the spec\'s prose, "401 Unauthorized", but in no operation)',
  },
  {
    tool: "dbt-cloud",
    status: 403,
    reason: "the token lacks permission on this account, project or job",
  },
  { tool: "dbt-cloud", status: 404, reason: "unknown account, job or run id" },
  { tool: "dbt-cloud", status: 429, reason: "rate limited (dbt Cloud API limits)" },
  { tool: "dbt-cloud", status: "5XX", reason: "dbt Cloud server or gateway failure" },
  { tool: "grouparoo", status: 401, reason: "missing or unknown API key" },
  {
    tool: "grouparoo",
    status: 403,
    reason: "API key lacks the permission topic (source write, system read/write)",
  },
  { tool: "grouparoo", status: 404, reason: "unknown schedule or run id" },
  {
    tool: "grouparoo",
    status: 429,
    reason: "Grouparoo does not throttle, but the load balancer or proxy in front of it may",
  },
  { tool: "grouparoo", status: "5XX", reason: "Grouparoo server or proxy failure" },
];

/** Each tool's spec files, from the repository's root. */
export const SPEC_FILES: Readonly<Record<Tool, readonly string[]>> = {
  airbyte: [
    "test/fixtures/specs/airbyte-public-api-jobs.yaml",
    "test/fixtures/specs/airbyte-public-api-applications.yaml",
    "test/fixtures/specs/airbyte-public-api-connections.yaml",
    "test/fixtures/specs/airbyte-public-api-workspaces.yaml",
    "test/fixtures/specs/airbyte-public-api-sources.yaml",
    "test/fixtures/specs/airbyte-public-api-destinations.yaml",
  ],
  "dbt-cloud": [
    "test/fixtures/specs/dbt-cloud-openapi-v2.yaml",
    "test/fixtures/specs/dbt-cloud-openapi-v3.yaml",
  ],
  grouparoo: ["docs/specs/grouparoo-api.openapi.yaml"],
};

const SECURITY: Record<Tool, SecurityOptions> = {
  airbyte: {},
  "dbt-cloud": { bearerSchemes: ["Token", "Bearer"] },
  grouparoo: {},
};

const toolRoutes = new Map<Tool, Route[]>();

function routesOfTool(tool: Tool): Route[] | undefined {
  let routes = toolRoutes.get(tool);
  if (!routes && tool in SPEC_FILES) {
    routes = routesOf(...SPEC_FILES[tool].map(openApiDocument));
    toolRoutes.set(tool, routes);
  }
  return routes;
}

type MatchResult = { ok: true; operation: Operation } | { ok: false; problem: string };

function operationOf(ex: RecordedExchange): MatchResult {
  const routes = routesOfTool(ex.tool);
  if (!routes) return { ok: false, problem: `unknown tool "${String(ex.tool)}"` };
  const path = ex.request.path;
  const method = ex.request.method.toUpperCase();
  if (path.includes("?")) {
    return {
      ok: false,
      problem: `path "${path}" contains a query string; the query belongs in request.query`,
    };
  }
  const found = findOperation(routes, method, path);
  if (found.found === "operation") return { ok: true, operation: found.operation };
  if (found.found === "path") {
    return {
      ok: false,
      problem: `method not in spec: ${path} matches ${found.templates.join(", ")}, which defines ${found.allowed.join(", ") || "no operation"}, not ${method}`,
    };
  }
  const files = SPEC_FILES[ex.tool].map((f) => f.split("/").pop()).join(", ");
  const other = path.endsWith("/") ? path.slice(0, -1) : `${path}/`;
  const near = routes.find((r) => r.regex.test(other));
  const hint = near ? `; the spec has "${near.template}" (check the trailing slash)` : "";
  return {
    ok: false,
    problem: `unknown path: no operation in the ${ex.tool} spec (${files}) matches ${method} ${path}${hint}`,
  };
}

/**
 * Problems with the request of an exchange (empty = it conforms): the operation exists in the
 * tool's spec, parameters and body validate, and the security header has the form the spec wants.
 */
export function validateRequest(ex: RecordedExchange): string[] {
  const found = operationOf(ex);
  if (!found.ok) return [found.problem];
  return checkRequest(found.operation, ex.request, SECURITY[ex.tool]);
}

function allowance(tool: Tool, operationId: string, status: number): UndocumentedStatusAllowance | undefined {
  const statusClass = `${Math.floor(status / 100)}XX`;
  return UNDOCUMENTED_STATUS_ALLOW_LIST.find(
    (a) =>
      a.tool === tool &&
      (a.status === status || a.status === statusClass) &&
      (!a.operationIds || a.operationIds.includes(operationId)),
  );
}

/**
 * Problems with the response of an exchange (empty = it conforms, or there was no response). A
 * status the operation documents must carry a body valid against its schema; an undocumented one
 * must be in UNDOCUMENTED_STATUS_ALLOW_LIST and carry a JSON object or nothing.
 */
export function validateResponse(ex: RecordedExchange): string[] {
  const response = ex.response;
  if (response === null) return []; // dropped connection: nothing was answered
  const found = operationOf(ex);
  if (!found.ok) return [found.problem];
  const { operation } = found;
  const documented = documentedResponse(operation, response.status);
  if (documented === undefined) {
    const allowed = allowance(ex.tool, operation.operationId, response.status);
    if (!allowed) {
      return [
        `${undocumentedStatus(operation, response.status)} and is not in UNDOCUMENTED_STATUS_ALLOW_LIST`,
      ];
    }
    const parsed = parseJsonIfString(response.body);
    if (isEmptyBody(response.body) || (parsed.ok && isObject(parsed.value))) return [];
    return [
      `response body: status ${response.status} is undocumented (allowed: ${allowed.reason}) and must then carry a JSON object or nothing, got ${show(response.body)}`,
    ];
  }
  return checkResponse(operation.document, documented.pointer, response, {
    operation: operation.operationId,
    key: documented.key,
    withoutContentType: "assume-json",
    bodyWhereNoneDocumented: "accept",
  });
}

// ---------------------------------------------------------------------------------------------
// Whole traffic

/** Throws one error listing every problem of every exchange; returns quietly when all conform. */
export function assertTrafficConforms(traffic: RecordedExchange[]): void {
  const sections: string[] = [];
  let count = 0;
  traffic.forEach((ex, i) => {
    const problems = [...validateRequest(ex), ...validateResponse(ex)];
    // The same unknown-path problem is found by both checks: report it once.
    const unique = [...new Set(problems)];
    if (unique.length === 0) return;
    count += unique.length;
    const query = new URLSearchParams(
      Object.entries(ex.request.query).flatMap(([k, v]): [string, string][] =>
        Array.isArray(v) ? v.map((x): [string, string] => [k, x]) : [[k, v]],
      ),
    ).toString();
    const status = ex.response ? String(ex.response.status) : "no response (connection dropped)";
    const head = `#${i} ${ex.tool} ${ex.operation}: ${ex.request.method.toUpperCase()} ${ex.request.path}${query ? `?${query}` : ""} -> ${status}${ex.scripted ? " (scripted)" : ""}`;
    sections.push([head, ...unique.map((p) => `    - ${p}`)].join("\n"));
  });
  if (sections.length === 0) return;
  throw new Error(
    `HTTP traffic does not conform to the tools' API specs: ${count} problem(s) in ${sections.length} of ${traffic.length} exchange(s)\n${sections.join("\n")}`,
  );
}
