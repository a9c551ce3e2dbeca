/**
 * Checks the status API's answers against docs/status-api.openapi.yaml with the tests' one OpenAPI
 * checker (test/support/openapi.ts, ADR 0004). Our own API is read strictly: an answer is matched
 * to its operation by method + path template; its status must be documented there, its required
 * headers present, its Content-Type the documented media type (none is a problem), and its body
 * valid against the schema; a response documented without content must have no body, and a HEAD
 * answer never has one. A path that matches no template must be a 404
 * (`components/responses/NotFound`); a known path with an undocumented method must be a 405
 * (`components/responses/MethodNotAllowed`). The statuses under the root's `x-server-responses`
 * (the local server's own refusals, given before any route) are valid for any request.
 */
import {
  checkResponse,
  compileEveryBodySchema,
  documentedResponse,
  findOperation,
  isObject,
  type OpenApiDocument,
  openApiDocument,
  pointerOf,
  type Route,
  routesOf,
  undocumentedStatus,
} from "../support/openapi";

export { HTTP_METHODS } from "../support/openapi";

export interface Answer {
  readonly method: string;
  /** the request path, with or without its query string */
  readonly path: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** the raw body */
  readonly body: string;
}

const SPEC_FILE = "docs/status-api.openapi.yaml";

export interface StatusApiSpec {
  readonly document: OpenApiDocument;
  readonly routes: readonly Route[];
}

let spec: StatusApiSpec | undefined;

export function statusApiSpec(): StatusApiSpec {
  if (!spec) {
    const document = openApiDocument(SPEC_FILE);
    spec = { document, routes: routesOf(document) };
  }
  return spec;
}

/** The documented response an answer must match, and how to name it; or why there is none. */
function responseFor(answer: Answer): { pointer: string; operation: string; key: string } | string {
  const { document, routes } = statusApiSpec();
  const path = answer.path.split("?")[0] ?? "";
  const method = answer.method.toUpperCase();
  const status = String(answer.status);
  const server = document.doc["x-server-responses"];
  if (isObject(server) && isObject(server.responses) && status in server.responses) {
    return {
      pointer: pointerOf("x-server-responses", "responses", status),
      operation: "the server",
      key: status,
    };
  }
  // the server accepts one trailing slash, as API Gateway routes do
  let found = findOperation(routes, method, path);
  if (found.found === "nothing" && /.\/$/.test(path))
    found = findOperation(routes, method, path.slice(0, -1));
  if (found.found === "nothing") {
    if (answer.status !== 404) return `${method} ${path} is no documented path, yet answered ${status}`;
    return { pointer: "/components/responses/NotFound", operation: `${method} ${path}`, key: "NotFound" };
  }
  if (found.found === "path") {
    const route = found.templates.join(", ");
    if (answer.status !== 405)
      return `${method} ${route} is not documented, yet answered ${status} instead of 405`;
    return {
      pointer: "/components/responses/MethodNotAllowed",
      operation: `${method} ${route}`,
      key: "MethodNotAllowed",
    };
  }
  const { operation } = found;
  const documented = documentedResponse(operation, answer.status);
  if (!documented) return undocumentedStatus(operation, answer.status);
  return { pointer: documented.pointer, operation: operation.operationId, key: documented.key };
}

/** The problems with one answer, each prefixed with the exchange; empty when it matches the spec. */
export function checkAnswer(answer: Answer): string[] {
  const where = `${answer.method.toUpperCase()} ${answer.path} -> ${answer.status}`;
  const found = responseFor(answer);
  if (typeof found === "string") return [`${where}: ${found}`];
  const problems = checkResponse(statusApiSpec().document, found.pointer, answer, {
    operation: found.operation,
    key: found.key,
    withoutContentType: "refuse",
    bodyWhereNoneDocumented: "refuse",
    bodiless: answer.method.toUpperCase() === "HEAD",
  });
  return problems.map((problem) => `${where}: ${problem}`);
}

/** Compiles every response and request body schema of the spec; returns the ones that fail (broken `$ref`s, bad keywords). */
export function compileEverySchema(): string[] {
  return compileEveryBodySchema(statusApiSpec().document);
}
