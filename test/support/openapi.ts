/**
 * The tests' one OpenAPI checker (ADR 0004): loads an OpenAPI 3.0 or 3.1 document, matches a
 * method + path to its operation, and checks a request (parameters, security header, body) or an
 * answer (documented status, required headers, Content-Type, body) against it. Its users decide
 * policy and wording of their own: `test/api/status-api-answers.ts` (our status API's answers, a
 * strict reading) and `test/contract/openapi-contract.ts` (the tools' traffic, with an allow-list
 * of statuses the tools answer but do not document).
 *
 * Validator: Ajv 8 directly, Ajv2020 for OpenAPI 3.1 documents (their schemas are JSON Schema
 * 2020-12) and the draft-07 Ajv for OpenAPI 3.0 (plus Ajv's built-in support of 3.0's `nullable`).
 * openapi-backend 5.21.2 was not used: it validates definitions against the OpenAPI 3.0 meta-schema
 * only, so it rejects the Airbyte 3.1 documents (e.g. `$ref` with sibling keywords) and then routes
 * nothing; and it always compiles schemas with the draft-07 Ajv, which silently ignores 2020-12
 * keywords.
 *
 * Formats (Ajv + ajv-formats, "full" mode):
 * - checked: `uuid`, `date-time` (RFC 3339 with a time zone; a space instead of "T" is accepted,
 *   as dbt Cloud writes it), `int32`, `int64` (range; int64 limited to what a JS number holds),
 *   `email`, `uri`, `url` and every other format ajv-formats knows.
 * - `UUID` (upper case, used throughout the Airbyte files): format names are case-sensitive, so to
 *   JSON Schema it is an unknown format, i.e. an annotation that never fails. Airbyte plainly means
 *   a UUID (the ids it checks are UUIDs), so it is checked exactly like `uuid`.
 * - `set` (Airbyte, on arrays; a Java-ism for "no duplicates"): annotation only, not checked.
 * - any other format in a document makes loading fail, so that a spec update cannot introduce a
 *   format that is silently skipped: decide, then add it to FORMATS_ACCEPTED_UNCHECKED or define it.
 *
 * Other decisions, the same for every document:
 * - query parameters the operation does not document are problems (we would rely on behaviour the
 *   spec does not promise); undocumented headers are not (clients send many).
 * - a body sent to an operation that defines no request body is a problem; a body without a
 *   Content-Type header, or with a media type the operation does not accept, is a problem.
 * - `readOnly`/`writeOnly` and `discriminator` are annotations: the `oneOf` a discriminator
 *   decorates is still validated.
 * - each schema is compiled once per process, on first use.
 * - `pattern`s compile without the `u` flag (Ajv's `unicodeRegExp: false`): Airbyte's connector
 *   schemas are written for Java's regular expressions and use escapes unicode mode refuses.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { formatNames } from "ajv-formats/dist/formats";
import { parse as parseYaml } from "yaml";

export type JsonObject = Record<string, unknown>;
type AnyAjv = Ajv | Ajv2020;

export const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/** Formats that appear in the documents and are accepted without any check (see the header comment). */
const FORMATS_ACCEPTED_UNCHECKED = ["set"] as const;
const UUID_PATTERN = /^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i;
const KNOWN_FORMATS = new Set<string>([...formatNames, "UUID", ...FORMATS_ACCEPTED_UNCHECKED]);

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface OpenApiDocument {
  /** its path from the repository's root */
  readonly file: string;
  readonly doc: JsonObject;
  /** base URI the document is registered under in its Ajv instances */
  readonly id: string;
  /** validates bodies: no coercion */
  readonly bodyAjv: AnyAjv;
  /** validates parameters and form bodies: strings coerced to the schema's types, scalars to arrays */
  readonly paramAjv: AnyAjv;
  readonly validators: Map<string, ValidateFunction>;
}

// ---------------------------------------------------------------------------------------------
// Loading (once per file and process)

const documents = new Map<string, OpenApiDocument>();

/** The OpenAPI 3.0 or 3.1 document at `file` (a path from the repository's root). */
export function openApiDocument(file: string): OpenApiDocument {
  const known = documents.get(file);
  if (known) return known;
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
      // Airbyte's connector schemas carry patterns written for Java's regular expressions (e.g. `\-`
      // outside a class), which ECMAScript's unicode mode refuses: patterns compile without the `u` flag
      unicodeRegExp: false,
      ...(coerce ? { coerceTypes: "array" as const } : {}),
    };
    const ajv = is31 ? new Ajv2020(options) : new Ajv(options);
    addFormats(ajv, { mode: "full" });
    ajv.addFormat("UUID", UUID_PATTERN);
    for (const name of FORMATS_ACCEPTED_UNCHECKED) ajv.addFormat(name, true);
    ajv.addSchema(doc, id);
    return ajv;
  };
  const loaded = { file, id, doc, bodyAjv: makeAjv(false), paramAjv: makeAjv(true), validators: new Map() };
  documents.set(file, loaded);
  return loaded;
}

/** How many schemas have been compiled so far, over every document (each is compiled once). */
export function compiledSchemaCount(): number {
  return [...documents.values()].reduce((total, document) => total + document.validators.size, 0);
}

/** Fails loading on a format nobody decided about (see the header comment). */
function checkFormats(file: string, doc: JsonObject): void {
  const visit = (schema: unknown, where: string): void => {
    walkSchema(
      schema,
      (node, at) => {
        if (typeof node.format === "string" && !KNOWN_FORMATS.has(node.format)) {
          throw new Error(
            `${file}: unknown format "${node.format}" at ${at}; decide how to treat it in test/support/openapi.ts`,
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
  for (const [name, response] of Object.entries(isObject(components.responses) ? components.responses : {})) {
    visitContent(response, `#/components/responses/${name}`, visit);
  }
  for (const [template, pathItem] of Object.entries(doc.paths as JsonObject)) {
    if (!isObject(pathItem)) continue;
    const ops = [pathItem, ...HTTP_METHODS.map((m) => pathItem[m]).filter(isObject)];
    for (const op of ops) {
      for (const param of Array.isArray(op.parameters) ? op.parameters : []) {
        if (isObject(param)) visit(param.schema, `paths ${template} parameter ${String(param.name)}`);
      }
      const bodies = [op.requestBody, ...Object.values(isObject(op.responses) ? op.responses : {})];
      for (const body of bodies) visitContent(body, `paths ${template}`, visit);
    }
  }
}

function visitContent(body: unknown, where: string, visit: (schema: unknown, where: string) => void): void {
  if (!isObject(body) || !isObject(body.content)) return;
  for (const [mediaType, media] of Object.entries(body.content)) {
    if (isObject(media)) visit(media.schema, `${where} ${mediaType}`);
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
// JSON pointers, validators and the wording of their errors

export function escapeSegment(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

export function pointerOf(...segments: string[]): string {
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

/** Follows local `$ref`s from the node at `pointer`; returns the target and where it really lives. */
export function deref(
  document: OpenApiDocument,
  pointer: string,
  node: unknown = resolvePointer(document.doc, pointer),
): { node: unknown; pointer: string } {
  let current = node;
  let at = pointer;
  for (let hops = 0; isObject(current) && typeof current.$ref === "string" && hops < 20; hops++) {
    const ref = current.$ref;
    if (!ref.startsWith("#/")) break;
    at = decodeURIComponent(ref.slice(1));
    current = resolvePointer(document.doc, at);
  }
  return { node: current, pointer: at };
}

function schemaRef(document: OpenApiDocument, pointer: string): { $ref: string } {
  return { $ref: `${document.id}#${pointer.split("/").map(encodeURIComponent).join("/")}` };
}

function cachedValidator(
  document: OpenApiDocument,
  key: string,
  ajv: AnyAjv,
  schema: () => object,
): ValidateFunction {
  let validate = document.validators.get(key);
  if (!validate) {
    validate = ajv.compile(schema());
    document.validators.set(key, validate);
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

/** Ajv's errors as `<where> <instance path>: <message>, got <value>`, each naming the field. */
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
      case "unevaluatedProperties":
        detail += `: '${String(e.params.unevaluatedProperty)}'`;
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

export function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The validator of the schema at `schemaPointer`, compiled on first use; throws when it cannot compile. */
function validatorAt(document: OpenApiDocument, kind: string, ajv: AnyAjv, schemaPointer: string) {
  return cachedValidator(document, `${kind}:${schemaPointer}`, ajv, () => schemaRef(document, schemaPointer));
}

function validateAt(
  document: OpenApiDocument,
  kind: string,
  ajv: AnyAjv,
  schemaPointer: string,
  data: unknown,
  where: string,
): string[] {
  let validate: ValidateFunction;
  try {
    validate = validatorAt(document, kind, ajv, schemaPointer);
  } catch (error) {
    return compileError(where, error);
  }
  return runValidator(validate, data, where);
}

/** Compiles every request and response body schema of the document; returns the ones that fail. */
export function compileEveryBodySchema(document: OpenApiDocument): string[] {
  const failures: string[] = [];
  for (const [template, pathItem] of Object.entries(document.doc.paths as JsonObject)) {
    if (!isObject(pathItem)) continue;
    for (const method of HTTP_METHODS) {
      const op = pathItem[method];
      if (!isObject(op)) continue;
      const base = pointerOf("paths", template, method);
      const bodies = [
        `${base}/requestBody`,
        ...Object.keys(isObject(op.responses) ? op.responses : {}).map((s) => `${base}/responses/${s}`),
      ];
      for (const at of bodies) {
        const { node, pointer } = deref(document, at);
        if (!isObject(node) || !isObject(node.content)) continue;
        for (const mediaType of Object.keys(node.content)) {
          const schemaPointer = `${pointer}/content/${escapeSegment(mediaType)}/schema`;
          if (resolvePointer(document.doc, schemaPointer) === undefined) continue;
          try {
            validatorAt(document, "body", document.bodyAjv, schemaPointer);
          } catch (error) {
            failures.push(`${method.toUpperCase()} ${template} ${at}: ${String(error)}`);
          }
        }
      }
    }
  }
  return failures;
}

// ---------------------------------------------------------------------------------------------
// Routes: an operation by method + path

export interface Route {
  readonly document: OpenApiDocument;
  readonly template: string;
  readonly regex: RegExp;
  readonly names: readonly string[];
  /** how many characters of the template are literal: more literal = more specific */
  readonly literalChars: number;
  readonly pathItem: JsonObject;
}

/** The path templates of one or more documents (an API may be described in several), most specific first. */
export function routesOf(...sources: readonly OpenApiDocument[]): Route[] {
  const routes: Route[] = [];
  for (const document of sources) {
    for (const [template, pathItem] of Object.entries(document.doc.paths as JsonObject)) {
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
      routes.push({ document, template, regex: new RegExp(`^${source}$`), names, literalChars, pathItem });
    }
  }
  // Concrete paths before templated ones ("/applications/token" before "/applications/{id}").
  return routes.sort((a, b) => b.literalChars - a.literalChars);
}

export interface Operation {
  readonly document: OpenApiDocument;
  readonly template: string;
  readonly method: string;
  /** the operationId, or "METHOD template" where the document gives none */
  readonly operationId: string;
  readonly op: JsonObject;
  readonly opPointer: string;
  readonly pathItemPointer: string;
  readonly pathParams: Readonly<Record<string, string>>;
}

export type OperationLookup =
  | { readonly found: "operation"; readonly operation: Operation }
  /** the path is documented, the method is not */
  | { readonly found: "path"; readonly templates: readonly string[]; readonly allowed: readonly string[] }
  | { readonly found: "nothing" };

export function findOperation(routes: readonly Route[], method: string, path: string): OperationLookup {
  const matching = routes.filter((r) => r.regex.test(path));
  if (matching.length === 0) return { found: "nothing" };
  const lower = method.toLowerCase();
  const route = matching.find((r) => isObject(r.pathItem[lower]));
  if (!route) {
    const allowed = matching.flatMap((r) =>
      HTTP_METHODS.filter((m) => isObject(r.pathItem[m])).map((m) => m.toUpperCase()),
    );
    return {
      found: "path",
      templates: [...new Set(matching.map((r) => r.template))],
      allowed: [...new Set(allowed)],
    };
  }
  const op = route.pathItem[lower] as JsonObject;
  const values = route.regex.exec(path) ?? [];
  const pathParams = Object.fromEntries(route.names.map((name, i) => [name, values[i + 1] ?? ""]));
  const pathItemPointer = pointerOf("paths", route.template);
  return {
    found: "operation",
    operation: {
      document: route.document,
      template: route.template,
      method: lower,
      operationId:
        typeof op.operationId === "string" ? op.operationId : `${method.toUpperCase()} ${route.template}`,
      op,
      opPointer: `${pathItemPointer}/${lower}`,
      pathItemPointer,
      pathParams,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Requests

export interface CheckedRequest {
  readonly query: Readonly<Record<string, string | string[]>>;
  readonly headers: Readonly<Record<string, string>>;
  /** a parsed JSON value, a form object, or the raw text; undefined, null or "" for none */
  readonly body: unknown;
}

export interface SecurityOptions {
  /**
   * The Authorization schemes an http "bearer" security scheme accepts, the documented one first
   * (it names the fix in the problem). dbt Cloud declares "bearer" but documents `Token`.
   */
  readonly bearerSchemes?: readonly string[];
}

/** Problems with a request to `operation`: its parameters, its security header, its body. */
export function checkRequest(
  operation: Operation,
  request: CheckedRequest,
  security: SecurityOptions = {},
): string[] {
  return [
    ...checkParameters(operation, request),
    ...checkSecurity(operation, request, security),
    ...checkRequestBody(operation, request),
  ];
}

interface ParameterInfo {
  name: string;
  in: string;
  required: boolean;
  schemaPointer: string | undefined;
  schema: unknown;
  explode: boolean;
}

function parametersOf(m: Operation): ParameterInfo[] {
  const byKey = new Map<string, ParameterInfo>();
  const collect = (list: unknown, listPointer: string): void => {
    if (!Array.isArray(list)) return;
    list.forEach((raw, i) => {
      const { node, pointer } = deref(m.document, `${listPointer}/${i}`, raw);
      if (!isObject(node) || typeof node.name !== "string" || typeof node.in !== "string") return;
      const schema = deref(m.document, `${pointer}/schema`, node.schema);
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
  const pathItem = resolvePointer(m.document.doc, m.pathItemPointer);
  collect(isObject(pathItem) ? pathItem.parameters : undefined, `${m.pathItemPointer}/parameters`);
  collect(m.op.parameters, `${m.opPointer}/parameters`); // operation-level parameters override
  return [...byKey.values()];
}

function checkParameters(m: Operation, request: CheckedRequest): string[] {
  const problems: string[] = [];
  const headers = lowerCaseKeys(request.headers);
  const groups: Record<"path" | "query" | "header", { input: JsonObject; params: ParameterInfo[] }> = {
    path: { input: {}, params: [] },
    query: { input: {}, params: [] },
    header: { input: {}, params: [] },
  };
  for (const p of parametersOf(m)) {
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
      const value = request.query[p.name];
      if (value === undefined) continue;
      const isArray = isObject(p.schema) && p.schema.type === "array";
      groups.query.input[p.name] =
        isArray && !p.explode ? (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(",")) : value;
    } else {
      const value = headers[p.name.toLowerCase()];
      if (value !== undefined) groups.header.input[p.name] = value;
    }
  }
  for (const name of Object.keys(request.query)) {
    if (!groups.query.params.some((p) => p.name === name)) {
      problems.push(`query parameter ${name} is not documented for ${m.operationId}`);
    }
  }
  for (const where of ["path", "query", "header"] as const) {
    const { input, params: list } = groups[where];
    if (list.length === 0) continue;
    let validate: ValidateFunction;
    try {
      validate = cachedValidator(m.document, `params:${m.opPointer}:${where}`, m.document.paramAjv, () => ({
        type: "object",
        properties: Object.fromEntries(
          list.map((p) => [p.name, p.schemaPointer ? schemaRef(m.document, p.schemaPointer) : {}]),
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

function checkSecurity(m: Operation, request: CheckedRequest, options: SecurityOptions): string[] {
  const doc = m.document.doc;
  const requirements = Array.isArray(m.op.security)
    ? m.op.security
    : Array.isArray(doc.security)
      ? doc.security
      : [];
  // No requirement, or an empty one ({}), means anonymous access is allowed (e.g. /applications/token).
  if (requirements.length === 0 || requirements.some((r) => isObject(r) && Object.keys(r).length === 0))
    return [];
  const headers = lowerCaseKeys(request.headers);
  const components = isObject(doc.components) ? doc.components : {};
  const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
  const expectations: string[] = [];
  for (const requirement of requirements) {
    if (!isObject(requirement)) continue;
    const unmet = Object.keys(requirement)
      .map((name) => unmetScheme(name, schemes[name], headers, request.query, options))
      .filter((failure) => failure !== undefined);
    if (unmet.length === 0) return [];
    expectations.push(unmet.join(" and "));
  }
  const sent = headers.authorization;
  const got = sent === undefined ? "no Authorization header" : `Authorization: ${redact(sent)}`;
  return [`auth: ${m.operationId} requires ${expectations.join(", or ")}; got ${got}`];
}

function unmetScheme(
  name: string,
  scheme: unknown,
  headers: Record<string, string>,
  query: Readonly<Record<string, string | string[]>>,
  options: SecurityOptions,
): string | undefined {
  if (!isObject(scheme)) return `security scheme "${name}" (not defined in the spec)`;
  const auth = headers.authorization ?? "";
  if (scheme.type === "http" && typeof scheme.scheme === "string") {
    const kind = scheme.scheme.toLowerCase();
    if (kind === "bearer") {
      const accepted = options.bearerSchemes ?? ["Bearer"];
      const sentScheme = /^(\S+)\s+\S/.exec(auth)?.[1]?.toLowerCase();
      const ok = accepted.some((s) => s.toLowerCase() === sentScheme);
      return ok ? undefined : `"Authorization: ${accepted[0]} <token>" (${name})`;
    }
    if (kind === "basic")
      return /^Basic\s+\S/i.test(auth) ? undefined : `"Authorization: Basic ..." (${name})`;
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

/** An Authorization value with its credential replaced: problems are printed, secrets must not be. */
function redact(authorization: string): string {
  const [kind, ...rest] = authorization.trim().split(/\s+/);
  return rest.length > 0 ? `${kind} <redacted>` : "<a value without an auth scheme>";
}

function checkRequestBody(m: Operation, request: CheckedRequest): string[] {
  const body = request.body;
  const hasBody = !isEmptyBody(body);
  if (m.op.requestBody === undefined) {
    return hasBody ? [`request body: sent, but ${m.operationId} takes no body`] : [];
  }
  const { node: requestBody, pointer } = deref(m.document, `${m.opPointer}/requestBody`, m.op.requestBody);
  if (!isObject(requestBody)) return [];
  if (!hasBody)
    return requestBody.required === true ? [`request body: missing; ${m.operationId} requires one`] : [];
  const content = isObject(requestBody.content) ? requestBody.content : {};
  const sentType = mediaTypeOf(lowerCaseKeys(request.headers)["content-type"]);
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
  const { document } = m;
  if (isJsonMediaType(mediaType)) {
    const parsed = parseJsonIfString(body);
    if (!parsed.ok) return ["request body: not valid JSON"];
    return validateAt(document, "body", document.bodyAjv, schemaPointer, parsed.value, "request body");
  }
  if (mediaType === "application/x-www-form-urlencoded") {
    const form =
      typeof body === "string" ? Object.fromEntries(new URLSearchParams(body)) : structuredClone(body);
    return validateAt(document, "form", document.paramAjv, schemaPointer, form, "request body");
  }
  return [`request body: ${mediaType} bodies are not checked by this contract check; send JSON`];
}

// ---------------------------------------------------------------------------------------------
// Answers

export interface CheckedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** a parsed JSON value or the raw text; undefined, null or "" for none */
  readonly body: unknown;
}

/** Where the operation documents `status`: exactly, by its class (`4XX`), or as `default`. */
export function documentedResponse(
  operation: Operation,
  status: number,
): { readonly key: string; readonly pointer: string } | undefined {
  const responses = isObject(operation.op.responses) ? operation.op.responses : {};
  const exact = String(status);
  const key =
    exact in responses
      ? exact
      : (Object.keys(responses).find((k) => k.toUpperCase() === `${Math.floor(status / 100)}XX`) ??
        ("default" in responses ? "default" : undefined));
  return key === undefined ? undefined : { key, pointer: `${operation.opPointer}/responses/${key}` };
}

export function undocumentedStatus(operation: Operation, status: number): string {
  const responses = isObject(operation.op.responses) ? operation.op.responses : {};
  const documented = Object.keys(responses).join(", ") || "none";
  return `response status ${status} is not documented for ${operation.operationId} (documented: ${documented})`;
}

export interface ResponseReading {
  /** names the operation in problems: its operationId, or "METHOD template" */
  readonly operation: string;
  /** the documented response's key ("200", "4XX", "default"), or the shared response's name */
  readonly key: string;
  /**
   * An answer without a Content-Type: "refuse" it where a body is documented, or read it as the
   * documented JSON type ("assume-json": tools and proxies do omit the header).
   */
  readonly withoutContentType: "refuse" | "assume-json";
  /** A body where the response documents none: "refuse" it, or "accept" anything. */
  readonly bodyWhereNoneDocumented: "refuse" | "accept";
  /** No body at all, whatever the response documents (the answer to a HEAD, RFC 9110 §9.3.2). */
  readonly bodiless?: boolean;
}

/**
 * Problems with an answer against the documented response at `pointer` (an operation's, or a
 * shared one under components): its required headers, Content-Type and body.
 */
export function checkResponse(
  document: OpenApiDocument,
  pointer: string,
  response: CheckedResponse,
  reading: ResponseReading,
): string[] {
  const { node: documented, pointer: at } = deref(document, pointer);
  const { operation, key } = reading;
  if (!isObject(documented)) return [`response: the spec's response at ${pointer} is missing`];
  const headers = lowerCaseKeys(response.headers);
  const problems: string[] = [];
  for (const [name, header] of Object.entries(isObject(documented.headers) ? documented.headers : {})) {
    if (isObject(header) && header.required === true && headers[name.toLowerCase()] === undefined) {
      problems.push(`response header ${name}: missing; ${operation} requires it for ${key}`);
    }
  }
  const content = isObject(documented.content) ? documented.content : undefined;
  if (!content || reading.bodiless) {
    if (!isEmptyBody(response.body) && (reading.bodyWhereNoneDocumented === "refuse" || reading.bodiless)) {
      problems.push(`response body: sent, but ${operation} documents none for ${key}`);
    }
    return problems;
  }
  const sentType = mediaTypeOf(headers["content-type"]);
  const mediaType = sentType
    ? pickMediaType(content, sentType)
    : reading.withoutContentType === "assume-json"
      ? (Object.keys(content).find(isJsonMediaType) ?? Object.keys(content)[0])
      : undefined;
  if (!mediaType) {
    return [
      ...problems,
      `response Content-Type ${sentType ?? "(none)"} is not documented for ${operation} ${key} (${Object.keys(content).join(", ")})`,
    ];
  }
  const media = content[mediaType];
  if (!isObject(media) || media.schema === undefined || !isJsonMediaType(mediaType)) return problems;
  if (isEmptyBody(response.body))
    return [...problems, `response body: empty, but ${operation} documents a ${mediaType} body for ${key}`];
  const parsed = parseJsonIfString(response.body);
  if (!parsed.ok) return [...problems, "response body: not valid JSON"];
  const schemaPointer = `${at}/content/${escapeSegment(mediaType)}/schema`;
  return [
    ...problems,
    ...validateAt(document, "body", document.bodyAjv, schemaPointer, parsed.value, "response body"),
  ];
}

// ---------------------------------------------------------------------------------------------
// Small helpers

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isEmptyBody(body: unknown): boolean {
  return body === undefined || body === null || body === "";
}

function lowerCaseKeys(headers: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).flatMap(([k, v]) => (v === undefined ? [] : [[k.toLowerCase(), v]])),
  );
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

export function parseJsonIfString(body: unknown): { ok: true; value: unknown } | { ok: false } {
  if (typeof body !== "string") return { ok: true, value: body };
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false };
  }
}
