/**
 * The routes API Gateway is given (stacks/status-api.ts) against the operations
 * docs/status-api.openapi.yaml documents: every documented operation has its own route, and every
 * route is documented. HEAD and OPTIONS are not routes of their own: the `$default` route (SigV4)
 * and, with CORS origins, `OPTIONS /{proxy+}` bring them to the handler.
 */
import { describe, expect, it } from "vitest";
import { STATUS_API_ROUTES, WEBHOOK_ROUTES } from "../../stacks/status-api";
import { statusApiSpec } from "./status-api-answers";

/** `GET /health` is added apart from STATUS_API_ROUTES: it alone answers without credentials. */
const HEALTH = "GET /health";

function documentedOperations(): string[] {
  const operations: string[] = [];
  for (const { template, pathItem } of statusApiSpec().routes) {
    for (const method of Object.keys(pathItem)) {
      if (["get", "put", "post", "delete", "patch"].includes(method)) {
        operations.push(`${method.toUpperCase()} ${template}`);
      }
    }
  }
  return operations.sort();
}

function routedOperations(): string[] {
  return [
    HEALTH,
    ...STATUS_API_ROUTES.flatMap((route) => route.methods.map((method) => `${method} ${route.path}`)),
    ...WEBHOOK_ROUTES.map((route) => `POST ${route.path}`),
  ].sort();
}

describe("the status API's routes on API Gateway", () => {
  it("route every operation the OpenAPI file documents (GET /alerts included)", () => {
    const routed = new Set(routedOperations());
    expect(documentedOperations().filter((operation) => !routed.has(operation))).toEqual([]);
  });

  it("document every route they add, once", () => {
    const documented = new Set(documentedOperations());
    const routed = routedOperations();
    expect(routed.filter((operation) => !documented.has(operation))).toEqual([]);
    expect(routed.filter((operation, i) => routed.indexOf(operation) !== i)).toEqual([]);
  });
});
