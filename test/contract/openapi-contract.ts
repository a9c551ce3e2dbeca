/**
 * Contract check: does recorded HTTP traffic match the tools' API specs?
 *
 * Each exchange is matched to an operation of its tool's spec by method + path, then the request
 * (path, query and header parameters, security header, body) and the response (body against the
 * schema of the documented status) are validated. Specs: the vendored Airbyte public API v1 files
 * (OpenAPI 3.1) and dbt Cloud API v2 (OpenAPI 3.0.3) in test/fixtures/specs, and our own
 * description of Grouparoo's API in docs/specs (OpenAPI 3.1).
 *
 * Validator: Ajv 8 directly, Ajv2020 for OpenAPI 3.1 documents (their schemas are JSON Schema
 * 2020-12) and the draft-07 Ajv for OpenAPI 3.0 (plus Ajv's built-in support of 3.0's `nullable`).
 * openapi-backend 5.21.2 was not used: it validates definitions against the OpenAPI 3.0 meta-schema
 * only (openapi-schema-validator has no 3.1), so it rejects the Airbyte 3.1 documents (e.g. `$ref`
 * with sibling keywords) and then, outside strict mode, routes nothing ("Unknown operation"); and
 * it always compiles schemas with the draft-07 Ajv, which silently ignores 2020-12 keywords.
 *
 * Formats (Ajv + ajv-formats, "full" mode):
 * - checked: `uuid`, `date-time` (RFC 3339 with a time zone; a space instead of "T" is accepted,
 *   as dbt Cloud writes it), `int32`, `int64` (range; int64 limited to what a JS number holds),
 *   `email`, `uri`, `url` and every other format ajv-formats knows.
 * - `UUID` (upper case, used throughout the Airbyte files): format names are case-sensitive, so to
 *   JSON Schema it is an unknown format, i.e. an annotation that never fails. Airbyte plainly means
 *   a UUID (the ids it checks are UUIDs), so it is checked exactly like `uuid`.
 * - `set` (Airbyte, on arrays; a Java-ism for "no duplicates"): annotation only, not checked.
 * - any other format in a spec makes loading fail, so that a spec update cannot introduce a
 *   format that is silently skipped: decide, then add it to FORMATS_ACCEPTED_UNCHECKED or define it.
 *
 * Other decisions:
 * - query parameters the operation does not document are problems (we would rely on behaviour the
 *   spec does not promise); undocumented headers are not (clients send many).
 * - a body sent to an operation that defines no request body is a problem; a body without a
 *   Content-Type header, or with a media type the operation does not accept, is a problem.
 * - `readOnly`/`writeOnly` are annotations here: no operation we call has a required readOnly
 *   property in a request or a required writeOnly property in a response.
 * - `discriminator` is an annotation: the `oneOf` it decorates is still validated.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { RecordedExchange } from "@tapestry/local/sandboxes";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { formatNames } from "ajv-formats/dist/formats";
import { parse as parseYaml } from "yaml";

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

/** Formats that appear in the specs and are accepted without any check (see the header comment). */
const FORMATS_ACCEPTED_UNCHECKED = ["set"] as const;

const UUID_PATTERN = /^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i;

const KNOWN_FORMATS = new Set<string>([...formatNames, "UUID", ...FORMATS_ACCEPTED_UNCHECKED]);

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

const SPEC_FILES: Record<Tool, readonly string[]> = {
  airbyte: [
    "test/fixtures/specs/airbyte-public-api-jobs.yaml",
    "test/fixtures/specs/airbyte-public-api-applications.yaml",
    "test/fixtures/specs/airbyte-public-api-connections.yaml",
  ],
  "dbt-cloud": ["test/fixtures/specs/dbt-cloud-openapi-v2.yaml"],
  grouparoo: ["docs/specs/grouparoo-api.openapi.yaml"],
};

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

type JsonObject = Record<string, unknown>;
type AnyAjv = Ajv | Ajv2020;

interface LoadedSpec {
  file: string;
  /** base URI the document is registered under in its Ajv instances */
  id: string;
  doc: JsonObject;
  /** validates bodies: no coercion */
  bodyAjv: AnyAjv;
  /** validates parameters and form bodies: strings coerced to the schema's types, scalars to arrays */
  paramAjv: AnyAjv;
  validators: Map<string, ValidateFunction>;
}

interface Route {
  spec: LoadedSpec;
  template: string;
  regex: RegExp;
  names: string[];
  /** how many characters of the template are literal: more literal = more specific */
  literalChars: number;
  pathItem: JsonObject;
}

interface MatchedOperation {
  spec: LoadedSpec;
  template: string;
  method: string;
  operationId: string;
  op: JsonObject;
  opPointer: string;
  pathItemPointer: string;
  pathParams: Record<string, string>;
}

type MatchResult = { ok: true; match: MatchedOperation } | { ok: false; problem: string };

// ---------------------------------------------------------------------------------------------
// Loading (once per process)

let registry: Map<Tool, Route[]> | undefined;

function getRegistry(): Map<Tool, Route[]> {
  if (!registry) {
    const built = new Map<Tool, Route[]>();
    for (const [tool, files] of Object.entries(SPEC_FILES) as [Tool, readonly string[]][]) {
      const routes: Route[] = [];
      for (const file of files) routes.push(...routesOf(loadSpec(file)));
      // Concrete paths before templated ones ("/applications/token" before "/applications/{id}").
      routes.sort((a, b) => b.literalChars - a.literalChars);
      built.set(tool, routes);
    }
    registry = built;
  }
  return registry;
}

function loadSpec(file: string): LoadedSpec {
  const doc: unknown = parseYaml(readFileSync(`${REPO_ROOT}${file}`, "utf8"));
  if (!isObject(doc) || typeof doc.openapi !== "string" || !isObject(doc.paths)) {
    throw new Error(`${file} is not an OpenAPI document`);
  }
  const is31 = doc.openapi.startsWith("3.1");
  if (!is31 && !doc.openapi.startsWith("3.0")) throw new Error(`${file}: unsupported OpenAPI ${doc.openapi}`);
  checkFormats(file, doc);
  const id = `https://tapestry.invalid/${file}`;
  const makeAjv = (coerce: boolean): AnyAjv => {
    const options = {
      strict: false, // OpenAPI keywords (example, discriminator, x-*) are not JSON Schema keywords
      allErrors: true,
      verbose: true,
      validateSchema: false, // an OpenAPI document is not itself a JSON Schema
      ...(coerce ? { coerceTypes: "array" as const } : {}),
    };
    const ajv = is31 ? new Ajv2020(options) : new Ajv(options);
    addFormats(ajv, { mode: "full" });
    ajv.addFormat("UUID", UUID_PATTERN);
    for (const name of FORMATS_ACCEPTED_UNCHECKED) ajv.addFormat(name, true);
    ajv.addSchema(doc, id);
    return ajv;
  };
  return { file, id, doc, bodyAjv: makeAjv(false), paramAjv: makeAjv(true), validators: new Map() };
}

function routesOf(spec: LoadedSpec): Route[] {
  const routes: Route[] = [];
  for (const [template, pathItem] of Object.entries(spec.doc.paths as JsonObject)) {
    if (!isObject(pathItem)) continue;
    const names: string[] = [];
    let literalChars = 0;
    const source = template
      .split(/(\{[^}]+\})/)
      .map((part) => {
        const param = /^\{([^}]+)\}$/.exec(part);
        if (param?.[1]) {
          names.push(param[1]);
          return "([^/]+)";
        }
        literalChars += part.length;
        return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      })
      .join("");
    routes.push({ spec, template, regex: new RegExp(`^${source}$`), names, literalChars, pathItem });
  }
  return routes;
}

/** Fails loading on a format nobody decided about (see the header comment). */
function checkFormats(file: string, doc: JsonObject): void {
  const visit = (schema: unknown, where: string): void => {
    walkSchema(
      schema,
      (node, at) => {
        if (typeof node.format === "string" && !KNOWN_FORMATS.has(node.format)) {
          throw new Error(
            `${file}: unknown format "${node.format}" at ${at}; decide how to treat it in openapi-contract.ts`,
          );
        }
      },
      where,
    );
  };
  const components = isObject(doc.components) ? doc.components : {};
  for (const [name, schema] of Object.entries(isObject(components.schemas) ? components.schemas : {})) {
    visit(schema, `#/components/schemas/${name}`);
  }
  for (const [name, param] of Object.entries(isObject(components.parameters) ? components.parameters : {})) {
    if (isObject(param)) visit(param.schema, `#/components/parameters/${name}`);
  }
  for (const [template, pathItem] of Object.entries(doc.paths as JsonObject)) {
    if (!isObject(pathItem)) continue;
    const ops = [pathItem, ...HTTP_METHODS.map((m) => pathItem[m]).filter(isObject)];
    for (const op of ops) {
      for (const param of Array.isArray(op.parameters) ? op.parameters : []) {
        if (isObject(param)) visit(param.schema, `paths ${template} parameter ${String(param.name)}`);
      }
      const bodies = [op.requestBody, ...Object.values(isObject(op.responses) ? op.responses : {})];
      for (const body of bodies) {
        if (!isObject(body) || !isObject(body.content)) continue;
        for (const [mediaType, media] of Object.entries(body.content)) {
          if (isObject(media)) visit(media.schema, `paths ${template} ${mediaType}`);
        }
      }
    }
  }
}

const SUBSCHEMA_MAPS = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];
const SUBSCHEMA_LISTS = ["allOf", "anyOf", "oneOf", "prefixItems"];
const SUBSCHEMAS = [
  "items",
  "additionalProperties",
  "not",
  "if",
  "then",
  "else",
  "contains",
  "propertyNames",
  "unevaluatedItems",
  "unevaluatedProperties",
  "additionalItems",
];

function walkSchema(schema: unknown, visit: (node: JsonObject, at: string) => void, at: string): void {
  if (!isObject(schema)) return;
  visit(schema, at);
  for (const key of SUBSCHEMA_MAPS) {
    const map = schema[key];
    if (isObject(map)) for (const [k, v] of Object.entries(map)) walkSchema(v, visit, `${at}/${key}/${k}`);
  }
  for (const key of SUBSCHEMA_LISTS) {
    const list = schema[key];
    if (Array.isArray(list)) for (const [i, v] of list.entries()) walkSchema(v, visit, `${at}/${key}/${i}`);
  }
  for (const key of SUBSCHEMAS) {
    const sub = schema[key];
    if (Array.isArray(sub)) for (const [i, v] of sub.entries()) walkSchema(v, visit, `${at}/${key}/${i}`);
    else walkSchema(sub, visit, `${at}/${key}`);
  }
}

// ---------------------------------------------------------------------------------------------
// JSON pointers and validators

function escapeSegment(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

function pointerOf(...segments: string[]): string {
  return segments.map((s) => `/${escapeSegment(s)}`).join("");
}

function resolvePointer(doc: JsonObject, pointer: string): unknown {
  let node: unknown = doc;
  for (const raw of pointer.split("/").slice(1)) {
    const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) node = node[Number(segment)];
    else if (isObject(node)) node = node[segment];
    else return undefined;
  }
  return node;
}

/** Follows local `$ref`s; returns the target and its pointer in the document. */
function deref(spec: LoadedSpec, node: unknown, pointer: string): { node: unknown; pointer: string } {
  let current = node;
  let at = pointer;
  for (let hops = 0; isObject(current) && typeof current.$ref === "string" && hops < 20; hops++) {
    const ref = current.$ref;
    if (!ref.startsWith("#/")) break;
    at = decodeURIComponent(ref.slice(1));
    current = resolvePointer(spec.doc, at);
  }
  return { node: current, pointer: at };
}

function schemaRef(spec: LoadedSpec, pointer: string): { $ref: string } {
  return { $ref: `${spec.id}#${pointer.split("/").map(encodeURIComponent).join("/")}` };
}

function cachedValidator(spec: LoadedSpec, key: string, ajv: AnyAjv, schema: () => object): ValidateFunction {
  let validate = spec.validators.get(key);
  if (!validate) {
    validate = ajv.compile(schema());
    spec.validators.set(key, validate);
  }
  return validate;
}

function runValidator(validate: ValidateFunction, data: unknown, where: string): string[] {
  try {
    return validate(data) ? [] : describeErrors(where, validate.errors);
  } catch (error) {
    return [`${where}: could not be checked (${String(error)})`];
  }
}

function compileError(where: string, error: unknown): string[] {
  return [`${where}: the spec's schema could not be compiled (${String(error)})`];
}

function describeErrors(where: string, errors: ErrorObject[] | null | undefined): string[] {
  const out = new Set<string>();
  for (const e of errors ?? []) {
    let detail = e.message ?? e.keyword;
    switch (e.keyword) {
      case "enum":
        detail += ` (${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}), got ${show(e.data)}`;
        break;
      case "const":
        detail += ` ${JSON.stringify(e.params.allowedValue)}, got ${show(e.data)}`;
        break;
      case "additionalProperties":
        detail += `: '${String(e.params.additionalProperty)}'`;
        break;
      case "required":
      case "oneOf":
      case "anyOf":
        break;
      default:
        if (e.data !== undefined && (typeof e.data !== "object" || e.data === null))
          detail += `, got ${show(e.data)}`;
    }
    out.add(`${where}${e.instancePath ? ` ${e.instancePath}` : ""}: ${detail}`);
  }
  return [...out];
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// Matching an exchange to an operation

function findOperation(ex: RecordedExchange): MatchResult {
  const routes = getRegistry().get(ex.tool);
  if (!routes) return { ok: false, problem: `unknown tool "${String(ex.tool)}"` };
  const method = ex.request.method.toLowerCase();
  const path = ex.request.path;
  if (path.includes("?")) {
    return {
      ok: false,
      problem: `path "${path}" contains a query string; the query belongs in request.query`,
    };
  }
  const files = SPEC_FILES[ex.tool].map((f) => f.split("/").pop()).join(", ");
  const matching = routes.filter((r) => r.regex.test(path));
  if (matching.length === 0) {
    const other = path.endsWith("/") ? path.slice(0, -1) : `${path}/`;
    const near = routes.find((r) => r.regex.test(other));
    const hint = near ? `; the spec has "${near.template}" (check the trailing slash)` : "";
    return {
      ok: false,
      problem: `unknown path: no operation in the ${ex.tool} spec (${files}) matches ${ex.request.method.toUpperCase()} ${path}${hint}`,
    };
  }
  const route = matching.find((r) => isObject(r.pathItem[method]));
  if (!route) {
    const templates = [...new Set(matching.map((r) => r.template))].join(", ");
    const allowed = [
      ...new Set(
        matching.flatMap((r) =>
          HTTP_METHODS.filter((m) => isObject(r.pathItem[m])).map((m) => m.toUpperCase()),
        ),
      ),
    ];
    return {
      ok: false,
      problem: `method not in spec: ${path} matches ${templates}, which defines ${allowed.join(", ") || "no operation"}, not ${ex.request.method.toUpperCase()}`,
    };
  }
  const op = route.pathItem[method] as JsonObject;
  const values = route.regex.exec(path) ?? [];
  const pathParams: Record<string, string> = {};
  route.names.forEach((name, i) => {
    pathParams[name] = values[i + 1] ?? "";
  });
  const pathItemPointer = pointerOf("paths", route.template);
  return {
    ok: true,
    match: {
      spec: route.spec,
      template: route.template,
      method,
      operationId:
        typeof op.operationId === "string" ? op.operationId : `${method.toUpperCase()} ${route.template}`,
      op,
      opPointer: `${pathItemPointer}/${method}`,
      pathItemPointer,
      pathParams,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Requests

interface ParameterInfo {
  name: string;
  in: string;
  required: boolean;
  schemaPointer: string | undefined;
  schema: unknown;
  explode: boolean;
}

function parametersOf(m: MatchedOperation): ParameterInfo[] {
  const byKey = new Map<string, ParameterInfo>();
  const collect = (list: unknown, listPointer: string): void => {
    if (!Array.isArray(list)) return;
    list.forEach((raw, i) => {
      const { node, pointer } = deref(m.spec, raw, `${listPointer}/${i}`);
      if (!isObject(node) || typeof node.name !== "string" || typeof node.in !== "string") return;
      const schema = deref(m.spec, node.schema, `${pointer}/schema`);
      const style = typeof node.style === "string" ? node.style : node.in === "query" ? "form" : "simple";
      byKey.set(`${node.in}:${node.in === "header" ? node.name.toLowerCase() : node.name}`, {
        name: node.name,
        in: node.in,
        required: node.required === true || node.in === "path",
        schemaPointer: node.schema === undefined ? undefined : `${pointer}/schema`,
        schema: schema.node,
        explode: typeof node.explode === "boolean" ? node.explode : style === "form",
      });
    });
  };
  const pathItem = resolvePointer(m.spec.doc, m.pathItemPointer);
  collect(isObject(pathItem) ? pathItem.parameters : undefined, `${m.pathItemPointer}/parameters`);
  collect(m.op.parameters, `${m.opPointer}/parameters`); // operation-level parameters override
  return [...byKey.values()];
}

function checkParameters(m: MatchedOperation, ex: RecordedExchange): string[] {
  const problems: string[] = [];
  const params = parametersOf(m);
  const headers = lowerCaseKeys(ex.request.headers);
  const groups: Record<"path" | "query" | "header", { input: JsonObject; params: ParameterInfo[] }> = {
    path: { input: {}, params: [] },
    query: { input: {}, params: [] },
    header: { input: {}, params: [] },
  };
  for (const p of params) {
    if (p.in !== "path" && p.in !== "query" && p.in !== "header") continue; // cookies: not used
    // OpenAPI: header parameters named Accept, Content-Type or Authorization are ignored.
    if (p.in === "header" && ["accept", "content-type", "authorization"].includes(p.name.toLowerCase()))
      continue;
    groups[p.in].params.push(p);
    if (p.in === "path") {
      const raw = m.pathParams[p.name];
      if (raw === undefined) continue;
      try {
        groups.path.input[p.name] = decodeURIComponent(raw);
      } catch {
        problems.push(`path parameter ${p.name}: malformed percent-encoding in ${show(raw)}`);
      }
    } else if (p.in === "query") {
      const value = ex.request.query[p.name];
      if (value === undefined) continue;
      const isArray = isObject(p.schema) && p.schema.type === "array";
      groups.query.input[p.name] =
        isArray && !p.explode ? (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(",")) : value;
    } else {
      const value = headers[p.name.toLowerCase()];
      if (value !== undefined) groups.header.input[p.name] = value;
    }
  }
  for (const name of Object.keys(ex.request.query)) {
    if (!groups.query.params.some((p) => p.name === name)) {
      problems.push(`query parameter ${name} is not documented for ${m.operationId}`);
    }
  }
  for (const where of ["path", "query", "header"] as const) {
    const { input, params: list } = groups[where];
    if (list.length === 0) continue;
    const key = `params:${m.opPointer}:${where}`;
    let validate: ValidateFunction;
    try {
      validate = cachedValidator(m.spec, key, m.spec.paramAjv, () => ({
        type: "object",
        properties: Object.fromEntries(
          list.map((p) => [p.name, p.schemaPointer ? schemaRef(m.spec, p.schemaPointer) : {}]),
        ),
        required: list.filter((p) => p.required).map((p) => p.name),
      }));
    } catch (error) {
      problems.push(...compileError(`${where} parameters`, error));
      continue;
    }
    // Coercion rewrites the input: validate a copy.
    const messages = runValidator(validate, structuredClone(input), `${where}`);
    problems.push(
      ...messages.map((msg) => msg.replace(new RegExp(`^${where} /([^ :]+)`), `${where} parameter $1`)),
    );
  }
  return problems;
}

const AUTH_FORMS = {
  bearer: /^Bearer\s+\S/i,
  // dbt Cloud's spec declares an http "bearer" scheme, but its own description (info.description)
  // says to send "Authorization: Token <token>" ("Bearer can be used in place of Token ... Both
  // syntaxes are equivalent"), and dbt's docs and examples use Token: both are accepted for dbt.
  dbtToken: /^(?:Token|Bearer)\s+\S/i,
  basic: /^Basic\s+\S/i,
};

function checkSecurity(m: MatchedOperation, ex: RecordedExchange): string[] {
  const requirements = Array.isArray(m.op.security)
    ? m.op.security
    : Array.isArray(m.spec.doc.security)
      ? m.spec.doc.security
      : [];
  // No requirement, or an empty one ({}), means anonymous access is allowed (e.g. /applications/token).
  if (requirements.length === 0 || requirements.some((r) => isObject(r) && Object.keys(r).length === 0))
    return [];
  const headers = lowerCaseKeys(ex.request.headers);
  const components = isObject(m.spec.doc.components) ? m.spec.doc.components : {};
  const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
  const expectations: string[] = [];
  for (const requirement of requirements) {
    if (!isObject(requirement)) continue;
    const unmet: string[] = [];
    for (const name of Object.keys(requirement)) {
      const scheme = schemes[name];
      const failure = unmetScheme(ex.tool, name, scheme, headers, ex.request.query);
      if (failure) unmet.push(failure);
    }
    if (unmet.length === 0) return [];
    expectations.push(unmet.join(" and "));
  }
  const sent = headers.authorization;
  const got = sent === undefined ? "no Authorization header" : `Authorization: ${redact(sent)}`;
  return [`auth: ${m.operationId} requires ${expectations.join(", or ")}; got ${got}`];
}

function unmetScheme(
  tool: Tool,
  name: string,
  scheme: unknown,
  headers: Record<string, string>,
  query: Record<string, string | string[]>,
): string | undefined {
  if (!isObject(scheme)) return `security scheme "${name}" (not defined in the spec)`;
  const auth = headers.authorization ?? "";
  if (scheme.type === "http" && typeof scheme.scheme === "string") {
    const kind = scheme.scheme.toLowerCase();
    if (kind === "bearer") {
      if (tool === "dbt-cloud") {
        return AUTH_FORMS.dbtToken.test(auth) ? undefined : `"Authorization: Token <token>" (${name})`;
      }
      return AUTH_FORMS.bearer.test(auth) ? undefined : `"Authorization: Bearer <token>" (${name})`;
    }
    if (kind === "basic")
      return AUTH_FORMS.basic.test(auth) ? undefined : `"Authorization: Basic ..." (${name})`;
    return `unsupported http auth scheme "${kind}" (${name})`;
  }
  if (scheme.type === "apiKey" && typeof scheme.name === "string") {
    const present =
      scheme.in === "header"
        ? headers[scheme.name.toLowerCase()] !== undefined
        : scheme.in === "query"
          ? query[scheme.name] !== undefined
          : false;
    return present ? undefined : `API key "${scheme.name}" in ${String(scheme.in)} (${name})`;
  }
  return `unsupported security scheme type "${String(scheme.type)}" (${name})`;
}

function redact(authorization: string): string {
  const [kind, ...rest] = authorization.trim().split(/\s+/);
  return rest.length > 0 ? `${kind} <redacted>` : "<a value without an auth scheme>";
}

function checkRequestBody(m: MatchedOperation, ex: RecordedExchange): string[] {
  const body = ex.request.body;
  const hasBody = !isEmptyBody(body);
  if (m.op.requestBody === undefined) {
    return hasBody ? [`request body: sent, but ${m.operationId} takes no body`] : [];
  }
  const { node: requestBody, pointer } = deref(m.spec, m.op.requestBody, `${m.opPointer}/requestBody`);
  if (!isObject(requestBody)) return [];
  if (!hasBody)
    return requestBody.required === true ? [`request body: missing; ${m.operationId} requires one`] : [];
  const content = isObject(requestBody.content) ? requestBody.content : {};
  const sentType = mediaTypeOf(lowerCaseKeys(ex.request.headers)["content-type"]);
  if (!sentType) return ["request body: sent without a Content-Type header"];
  const mediaType = pickMediaType(content, sentType);
  if (!mediaType) {
    return [
      `request body: Content-Type ${sentType} is not accepted by ${m.operationId} (${Object.keys(content).join(", ")})`,
    ];
  }
  const media = content[mediaType];
  if (!isObject(media) || media.schema === undefined) return [];
  const schemaPointer = `${pointer}/content/${escapeSegment(mediaType)}/schema`;
  if (isJsonMediaType(mediaType)) {
    const parsed = parseJsonIfString(body);
    if (!parsed.ok) return ["request body: not valid JSON"];
    return validateAt(m.spec, "body", m.spec.bodyAjv, schemaPointer, parsed.value, "request body");
  }
  if (mediaType === "application/x-www-form-urlencoded") {
    const form =
      typeof body === "string" ? Object.fromEntries(new URLSearchParams(body)) : structuredClone(body);
    return validateAt(m.spec, "form", m.spec.paramAjv, schemaPointer, form, "request body");
  }
  return [`request body: ${mediaType} bodies are not checked by this contract check; send JSON`];
}

function validateAt(
  spec: LoadedSpec,
  kind: string,
  ajv: AnyAjv,
  schemaPointer: string,
  data: unknown,
  where: string,
): string[] {
  let validate: ValidateFunction;
  try {
    validate = cachedValidator(spec, `${kind}:${schemaPointer}`, ajv, () => schemaRef(spec, schemaPointer));
  } catch (error) {
    return compileError(where, error);
  }
  return runValidator(validate, data, where);
}

/**
 * Problems with the request of an exchange (empty = it conforms): the operation exists in the
 * tool's spec, parameters and body validate, and the security header has the form the spec wants.
 */
export function validateRequest(ex: RecordedExchange): string[] {
  const found = findOperation(ex);
  if (!found.ok) return [found.problem];
  const m = found.match;
  return [...checkParameters(m, ex), ...checkSecurity(m, ex), ...checkRequestBody(m, ex)];
}

// ---------------------------------------------------------------------------------------------
// Responses

function documentedResponseKey(responses: JsonObject, status: number): string | undefined {
  const exact = String(status);
  if (exact in responses) return exact;
  const range = Object.keys(responses).find((k) => k.toUpperCase() === `${Math.floor(status / 100)}XX`);
  if (range) return range;
  return "default" in responses ? "default" : undefined;
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
  const found = findOperation(ex);
  if (!found.ok) return [found.problem];
  const m = found.match;
  const status = response.status;
  const responses = isObject(m.op.responses) ? m.op.responses : {};
  const key = documentedResponseKey(responses, status);
  if (key === undefined) {
    const allowed = allowance(ex.tool, m.operationId, status);
    const documented = Object.keys(responses).join(", ") || "none";
    if (!allowed) {
      return [
        `response status ${status} is not documented for ${m.operationId} (documented: ${documented}) and is not in UNDOCUMENTED_STATUS_ALLOW_LIST`,
      ];
    }
    const parsed = parseJsonIfString(response.body);
    if (isEmptyBody(response.body) || (parsed.ok && isObject(parsed.value))) return [];
    return [
      `response body: status ${status} is undocumented (allowed: ${allowed.reason}) and must then carry a JSON object or nothing, got ${show(response.body)}`,
    ];
  }
  const { node: documentedResponse, pointer } = deref(
    m.spec,
    responses[key],
    `${m.opPointer}/responses/${key}`,
  );
  if (!isObject(documentedResponse) || !isObject(documentedResponse.content)) return []; // no body documented
  const content = documentedResponse.content;
  const sentType = mediaTypeOf(lowerCaseKeys(response.headers)["content-type"]);
  const mediaType = sentType
    ? pickMediaType(content, sentType)
    : (Object.keys(content).find(isJsonMediaType) ?? Object.keys(content)[0]);
  if (!mediaType) {
    return [
      `response Content-Type ${sentType} is not documented for ${m.operationId} ${key} (${Object.keys(content).join(", ")})`,
    ];
  }
  const media = content[mediaType];
  if (!isObject(media) || media.schema === undefined || !isJsonMediaType(mediaType)) return [];
  if (isEmptyBody(response.body))
    return [`response body: empty, but ${m.operationId} documents a ${mediaType} body for ${key}`];
  const parsed = parseJsonIfString(response.body);
  if (!parsed.ok) return ["response body: not valid JSON"];
  const schemaPointer = `${pointer}/content/${escapeSegment(mediaType)}/schema`;
  return validateAt(m.spec, "body", m.spec.bodyAjv, schemaPointer, parsed.value, "response body");
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

// ---------------------------------------------------------------------------------------------
// Small helpers

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isEmptyBody(body: unknown): boolean {
  return body === undefined || body === null || body === "";
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function mediaTypeOf(contentType: string | undefined): string | undefined {
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  return type ? type : undefined;
}

function isJsonMediaType(mediaType: string): boolean {
  return mediaType === "application/json" || mediaType.endsWith("+json");
}

function pickMediaType(content: JsonObject, sent: string): string | undefined {
  const keys = Object.keys(content);
  return (
    keys.find((k) => k.toLowerCase() === sent) ??
    keys.find((k) => k.endsWith("/*") && sent.startsWith(k.slice(0, -1).toLowerCase())) ??
    keys.find((k) => k === "*/*")
  );
}

function parseJsonIfString(body: unknown): { ok: true; value: unknown } | { ok: false } {
  if (typeof body !== "string") return { ok: true, value: body };
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false };
  }
}
