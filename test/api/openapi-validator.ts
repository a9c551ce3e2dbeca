/**
 * Checks the status API's answers against docs/status-api.openapi.yaml (OpenAPI 3.1, so its
 * schemas are JSON Schema 2020-12: Ajv2020 + ajv-formats). An answer is matched to its operation by
 * method + path template; its status must be documented there, its Content-Type must be the
 * documented media type, its required headers present, and its body valid against the schema.
 * A path that matches no template must be a 404 (`components/responses/NotFound`); a known path
 * with an undocumented method must be a 405 (`components/responses/MethodNotAllowed`). The
 * statuses under the root's `x-server-responses` (the local server's own refusals, given before
 * any route) are valid for any request. A response documented without content must have no body
 * (HEAD answers).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { parse as parseYaml } from "yaml";

type JsonObject = Record<string, unknown>;

export interface Answer {
  readonly method: string;
  /** the request path, with or without its query string */
  readonly path: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** the raw body */
  readonly body: string;
}

const SPEC_FILE = fileURLToPath(new URL("../../docs/status-api.openapi.yaml", import.meta.url));
const SPEC_ID = "https://tapestry.invalid/docs/status-api.openapi.yaml";
export const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

interface Loaded {
  doc: JsonObject;
  ajv: Ajv2020;
  routes: { template: string; regex: RegExp; pathItem: JsonObject }[];
  validators: Map<string, ValidateFunction>;
}

let loaded: Loaded | undefined;

export function statusApiSpec(): Loaded {
  if (loaded) return loaded;
  const doc = parseYaml(readFileSync(SPEC_FILE, "utf8")) as unknown;
  if (!isObject(doc) || doc.openapi !== "3.1.0" || !isObject(doc.paths)) {
    throw new Error(`${SPEC_FILE} is not an OpenAPI 3.1.0 document`);
  }
  // strict off: OpenAPI keywords (discriminator, examples on parameters) are not JSON Schema's
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv, { mode: "full" });
  ajv.addSchema(doc, SPEC_ID);
  const routes = Object.entries(doc.paths).flatMap(([template, pathItem]) => {
    if (!isObject(pathItem)) return [];
    const source = template
      .split(/(\{[^}]+\})/)
      .map((part) => (/^\{[^}]+\}$/.test(part) ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("");
    return [{ template, regex: new RegExp(`^${source}$`), pathItem }];
  });
  loaded = { doc, ajv, routes, validators: new Map() };
  return loaded;
}

function resolve(doc: JsonObject, pointer: string): unknown {
  let node: unknown = doc;
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    node = isObject(node) ? node[key] : undefined;
  }
  return node;
}

/** Follows a `$ref` chain from `pointer`; returns the node and where it really lives. */
function deref(doc: JsonObject, pointer: string): { node: unknown; pointer: string } {
  let at = pointer;
  let node = resolve(doc, at);
  for (let hops = 0; isObject(node) && typeof node.$ref === "string" && hops < 10; hops++) {
    at = decodeURIComponent(node.$ref.slice(1));
    node = resolve(doc, at);
  }
  return { node, pointer: at };
}

const segment = (s: string) => `/${s.replace(/~/g, "~0").replace(/\//g, "~1")}`;

/** The documented response an answer must match: the operation's, or the shared 404/405 ones. */
function responseFor(spec: Loaded, answer: Answer): { pointer: string; where: string } | string {
  const path = answer.path.split("?")[0] ?? "";
  const method = answer.method.toLowerCase();
  const server = spec.doc["x-server-responses"];
  const serverResponses = isObject(server) && isObject(server.responses) ? server.responses : {};
  if (String(answer.status) in serverResponses) {
    return {
      pointer: `/x-server-responses/responses${segment(String(answer.status))}`,
      where: `${answer.method} ${path} ${answer.status} (server)`,
    };
  }
  // the server accepts one trailing slash, as API Gateway routes do
  const route = spec.routes.find((r) => r.regex.test(path) || r.regex.test(path.replace(/(.)\/$/, "$1")));
  if (!route) {
    if (answer.status !== 404)
      return `${answer.method} ${path} is no documented path, yet answered ${answer.status}`;
    return { pointer: "/components/responses/NotFound", where: `${answer.method} ${path} (no route)` };
  }
  const op = route.pathItem[method];
  if (!isObject(op)) {
    if (answer.status !== 405) {
      return `${answer.method} ${route.template} is not documented, yet answered ${answer.status} instead of 405`;
    }
    return { pointer: "/components/responses/MethodNotAllowed", where: `${answer.method} ${route.template}` };
  }
  const responses = isObject(op.responses) ? op.responses : {};
  const status = String(answer.status);
  const key = status in responses ? status : `${status[0]}XX` in responses ? `${status[0]}XX` : "default";
  if (!(key in responses)) return `${answer.method} ${route.template} does not document status ${status}`;
  return {
    pointer: `/paths${segment(route.template)}${segment(method)}/responses${segment(key)}`,
    where: `${answer.method} ${route.template} ${status}`,
  };
}

/** The problems with one answer; empty when it matches the spec. */
export function checkAnswer(answer: Answer): string[] {
  const spec = statusApiSpec();
  const found = responseFor(spec, answer);
  if (typeof found === "string") return [found];
  const { node: response, pointer } = deref(spec.doc, found.pointer);
  if (!isObject(response)) return [`${found.where}: the spec's response at ${found.pointer} is missing`];
  const problems: string[] = [];

  for (const [name, header] of Object.entries(isObject(response.headers) ? response.headers : {})) {
    if (isObject(header) && header.required === true && answer.headers[name.toLowerCase()] === undefined) {
      problems.push(`${found.where}: header ${name} is required`);
    }
  }

  const content = isObject(response.content) ? response.content : undefined;
  // a HEAD answer never has a body (RFC 9110 §9.3.2), whatever the response it shares with GET
  if (!content || answer.method.toUpperCase() === "HEAD") {
    if (answer.body !== "") problems.push(`${found.where}: a body where none is documented`);
    return problems;
  }
  const mediaType = (answer.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (!(mediaType in content)) {
    return [
      ...problems,
      `${found.where}: Content-Type "${mediaType}" is not documented (${Object.keys(content).join(", ")})`,
    ];
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    return [...problems, `${found.where}: the body is not JSON`];
  }
  const schemaPointer = `${pointer}/content${segment(mediaType)}/schema`;
  let validate = spec.validators.get(schemaPointer);
  if (!validate) {
    const ref = `${SPEC_ID}#${schemaPointer.split("/").map(encodeURIComponent).join("/")}`;
    validate = spec.ajv.compile({ $ref: ref });
    spec.validators.set(schemaPointer, validate);
  }
  if (!validate(body)) {
    for (const e of validate.errors ?? []) {
      const extra =
        e.keyword === "additionalProperties" || e.keyword === "unevaluatedProperties"
          ? ` ${JSON.stringify(e.params)}`
          : "";
      problems.push(`${found.where}: body${e.instancePath} ${e.message ?? e.keyword}${extra}`);
    }
  }
  return problems;
}

/** Compiles every response and request body schema of the spec; returns the ones that fail (broken `$ref`s, bad keywords). */
export function compileEverySchema(): string[] {
  const spec = statusApiSpec();
  const failures: string[] = [];
  for (const { template, pathItem } of spec.routes) {
    for (const method of HTTP_METHODS) {
      const op = pathItem[method];
      if (!isObject(op)) continue;
      const base = `/paths${segment(template)}${segment(method)}`;
      const bodies: string[] = [`${base}/requestBody`];
      for (const status of Object.keys(isObject(op.responses) ? op.responses : {})) {
        bodies.push(`${base}/responses${segment(status)}`);
      }
      for (const at of bodies) {
        const { node, pointer } = deref(spec.doc, at);
        if (!isObject(node) || !isObject(node.content)) continue;
        for (const mediaType of Object.keys(node.content)) {
          const schemaPointer = `${pointer}/content${segment(mediaType)}/schema`;
          try {
            spec.ajv.compile({
              $ref: `${SPEC_ID}#${schemaPointer.split("/").map(encodeURIComponent).join("/")}`,
            });
          } catch (error) {
            failures.push(`${method.toUpperCase()} ${template} ${at}: ${String(error)}`);
          }
        }
      }
    }
  }
  return failures;
}
