import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { JobRunner } from "./lifecycle";
import { type MatchedRule, RuleBook } from "./rules";
import type { ScenarioRule } from "./scenario";
import { sleep } from "./time";
import type { RecordedExchange, SandboxCounters, SandboxTool } from "./traffic";

/**
 * The HTTP half shared by the three sandboxes: routing, body parsing, recording every exchange,
 * and applying scenario rules (latency, scripted answers before or after processing, dropped
 * connections). Tool modules only describe their routes, auth and error bodies.
 */

export interface SandboxLogEvent {
  tool: SandboxTool;
  level: "debug" | "info" | "warn";
  message: string;
  /** never carries credentials or bodies */
  data?: Record<string, unknown>;
}
export type SandboxLogger = (event: SandboxLogEvent) => void;

/** Options every start<Tool>Sandbox accepts. */
export interface CommonSandboxOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** default 0 (a free port) */
  port?: number;
  /** does the work of running jobs; default: wait the planned duration, report the planned rows */
  runner?: JobRunner;
  /** silent by default */
  logger?: SandboxLogger;
}

export interface SandboxRequest {
  method: string;
  /** relative to the API root (see RecordedExchange.request.path) */
  path: string;
  /** capture groups of the route's pattern */
  params: string[];
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  body: unknown;
}

export interface SandboxResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** the answer shows a scenario's deliberate misbehaviour (e.g. an unknown status): recorded as scripted */
  scripted?: boolean;
}

export interface Route {
  method: string;
  /** matched against the API-relative path */
  pattern: RegExp;
  operation: string;
  /** counts in counters.triggers */
  trigger?: boolean;
  /** default true */
  authenticated?: boolean;
  handle(request: SandboxRequest): SandboxResponse | Promise<SandboxResponse>;
}

export interface ToolHttp {
  tool: SandboxTool;
  /** the part of the URL before the API-relative path ("/api/public/v1" for Airbyte, "" otherwise) */
  basePath: string;
  routes: Route[];
  /** undefined when the request may proceed; else the 401 to send */
  authenticate(request: SandboxRequest): SandboxResponse | undefined;
  /** the tool's error body for a status (used for scripted answers that give no body, 404s, bad JSON) */
  errorBody(status: number, detail?: string): unknown;
  /** content type of error answers (Airbyte: application/problem+json) */
  errorContentType?: string;
  /** a rule with revokeTokens matched this call (before authentication) */
  revokeTokens?(): void;
}

export interface HttpSandbox {
  origin: string;
  port: number;
  traffic: RecordedExchange[];
  counters: SandboxCounters;
  close(): Promise<void>;
}

export async function startHttpSandbox(
  http: ToolHttp,
  options: {
    host?: string | undefined;
    port?: number | undefined;
    rules?: readonly ScenarioRule[] | undefined;
    logger?: SandboxLogger | undefined;
    counters: SandboxCounters;
    onClose?: () => void;
  },
): Promise<HttpSandbox> {
  const traffic: RecordedExchange[] = [];
  const counters = options.counters;
  const rules = new RuleBook(options.rules);
  const closing = new AbortController();
  const log = (level: SandboxLogEvent["level"], message: string, data?: Record<string, unknown>) =>
    options.logger?.({ tool: http.tool, level, message, ...(data ? { data } : {}) });

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log("warn", "sandbox handler failed", {
        error: error instanceof Error ? error.message : String(error),
      });
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify(http.errorBody(500, "sandbox internal error")));
      }
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://sandbox");
    const raw = await readBody(req);
    const headers = flattenHeaders(req);
    const method = (req.method ?? "GET").toUpperCase();
    const fullPath = safeDecode(url.pathname);
    const inBase = fullPath === http.basePath || fullPath.startsWith(`${http.basePath}/`);
    const path = inBase ? fullPath.slice(http.basePath.length) || "/" : fullPath;
    const query = parseQuery(url.searchParams);
    let body: unknown;
    let badBody: string | undefined;
    try {
      body = parseBody(raw, headers["content-type"]);
    } catch (error) {
      badBody = (error as Error).message;
      body = raw;
    }

    let route: Route | undefined;
    let params: string[] = [];
    if (inBase) {
      for (const candidate of http.routes) {
        if (candidate.method !== method) continue;
        const match = candidate.pattern.exec(path);
        if (match) {
          route = candidate;
          params = match.slice(1).map((p) => p ?? "");
          break;
        }
      }
    }
    const operation = route?.operation ?? "unknown";
    const request: SandboxRequest = { method, path, params, query, headers, body };
    const exchange: RecordedExchange = {
      tool: http.tool,
      operation,
      request: { method, path, query, headers, body },
      response: null,
      scripted: false,
    };
    traffic.push(exchange);
    if (route?.trigger) counters.triggers += 1;

    const matched: MatchedRule | undefined = route ? rules.match(operation) : undefined;
    const rule = matched?.rule;
    if (matched) {
      exchange.scripted = true;
      log("debug", "scenario rule matched", { operation, rule: matched.index, call: matched.call });
    }
    if (rule?.revokeTokens) http.revokeTokens?.();

    const send = (response: SandboxResponse) => {
      if (response.scripted) exchange.scripted = true;
      const isError = response.status >= 400;
      const responseHeaders: Record<string, string> = {
        "content-type": isError ? (http.errorContentType ?? "application/json") : "application/json",
        ...lowerKeys(response.headers ?? {}),
      };
      exchange.response = { status: response.status, headers: responseHeaders, body: response.body };
      log("debug", "answered", { operation, method, path, status: response.status });
      if (res.destroyed) return;
      res.writeHead(response.status, responseHeaders);
      res.end(response.body === undefined ? undefined : JSON.stringify(response.body));
    };
    const drop = () => {
      exchange.response = null;
      log("debug", "dropped the connection", { operation, method, path });
      req.socket.destroy();
    };
    const scripted = (real?: SandboxResponse): SandboxResponse => {
      const respond = rule?.respond;
      if (!respond) throw new Error("no scripted answer");
      const headers: Record<string, string> = { ...lowerKeys(respond.headers ?? {}) };
      if (respond.retryAfterSeconds !== undefined) headers["retry-after"] = String(respond.retryAfterSeconds);
      let body = respond.body;
      if (body === undefined) {
        if (respond.status >= 400) body = http.errorBody(respond.status);
        else body = real?.body ?? {};
      }
      return { status: respond.status, body, headers };
    };
    const wait = async (ms: number | undefined): Promise<boolean> => {
      if (!ms) return true;
      try {
        await sleep(ms, closing.signal);
        return true;
      } catch {
        req.socket.destroy();
        return false;
      }
    };

    // Before processing: the tool never sees the call (gateway throttling, an outage, a cut).
    if (rule && !rule.process) {
      if (!(await wait(rule.latencyMs))) return;
      if (rule.drop) return drop();
      if (rule.respond) return send(scripted());
    }

    let response: SandboxResponse;
    if (!route) {
      response = { status: 404, body: http.errorBody(404, `no route for ${method} ${fullPath}`) };
    } else if (badBody !== undefined) {
      response = { status: 400, body: http.errorBody(400, badBody) };
    } else {
      response =
        (route.authenticated === false ? undefined : http.authenticate(request)) ??
        (await route.handle(request));
    }

    // After processing: the work is done, but the client sees something else (the ambiguous cases).
    if (rule?.process) {
      if (!(await wait(rule.latencyMs))) return;
      if (rule.drop) return drop();
      if (rule.respond) return send(scripted(response));
    }
    send(response);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closed: Promise<void> | undefined;

  return {
    origin: `http://${host}:${address.port}`,
    port: address.port,
    traffic,
    counters,
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        options.onClose?.();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseBody(raw: string, contentType: string | undefined): unknown {
  if (raw.trim() === "") return undefined;
  if (contentType?.includes("application/x-www-form-urlencoded")) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  try {
    return JSON.parse(raw);
  } catch {
    throw new Error("the request body is not valid JSON");
  }
}

function parseQuery(params: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of params) {
    const existing = query[key];
    if (existing === undefined) query[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else query[key] = [existing, value];
  }
  return query;
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** The first value of a query parameter given once or repeated. */
export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** All values of a list parameter: repeated (`a=1&a=2`), comma-separated (`1,2`) or bracketed (`[1,2]`, `["a"]`). */
export function many(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value : [value];
  return values
    .flatMap((v) => v.replace(/^\[|\]$/g, "").split(","))
    .map((v) => v.trim().replace(/^["']|["']$/g, ""))
    .filter((v) => v !== "");
}

/** Strict decimal integer parsing for ids and query parameters. */
export function parseInteger(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** What every start<Tool>Sandbox returns, besides its tool-specific helpers. */
export interface SandboxHandle<T extends SandboxTool> {
  tool: T;
  /** the API root: Airbyte `http://127.0.0.1:<port>/api/public/v1`, the others `http://127.0.0.1:<port>` */
  baseUrl: string;
  port: number;
  /** every exchange, in arrival order (live array) */
  traffic: RecordedExchange[];
  counters: SandboxCounters;
  /** stops the server, drops open connections and clears every timer; idempotent */
  close(): Promise<void>;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
