/**
 * Serves an API Gateway (HTTP API, payload format 2.0) Lambda handler over node:http, so the
 * embedded control plane answers with exactly the handler that runs on AWS. Each request becomes an
 * APIGatewayProxyEventV2 (route key `$default`, as behind a catch-all route); the handler's result
 * is written back the way API Gateway does (a result without `statusCode` is a 200 JSON body).
 * Loopback only by default, and only for requests that a web page cannot forge (api-request-guard).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PROBLEM_CONTENT_TYPE, problem } from "@tapestry/core/status";
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import { loopbackRequestGuard, type RequestGuard } from "./api-request-guard";
import type { DashboardAssets } from "./dashboard-assets";
import { localLambdaContext } from "./lambda-context";

export type ApiGatewayV2Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2> | APIGatewayProxyResultV2;

export interface ApiServerOptions {
  readonly handler: ApiGatewayV2Handler;
  /**
   * 127.0.0.1 unless told otherwise: the status API has no authentication of its own locally.
   * Whatever the address, only requests for the loopback names (and this address) are answered.
   */
  readonly host?: string;
  /** 4000 by default; 0 picks a free port */
  readonly port?: number;
  /** requests with a larger body are refused with 413 (API Gateway's own limit is 10 MB) */
  readonly maxBodyBytes?: number;
  /** the Lambda timeout the handler sees through `context.getRemainingTimeInMillis()` */
  readonly timeoutMs?: number;
  /** the dashboard's page at `/` and its files under `/dashboard/` (not the handler's paths) */
  readonly dashboard?: DashboardAssets;
}

export interface ApiServer {
  /** e.g. http://127.0.0.1:4000 */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
const FUNCTION_NAME = "tapestry-status-api-local";

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const host = options.host ?? "127.0.0.1";
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  // set once the port is known, before the first request can arrive
  let guard: RequestGuard | undefined;
  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) writeProblem(res, 500, "the request could not be answered", pathOf(req.url));
      else res.destroy(error instanceof Error ? error : undefined);
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // fail closed; in practice the port is known before the first connection is accepted
    if (!guard) throw new Error("a request arrived before the server knew its port");
    // refused before the body is read: Node discards what is left of it
    const refusal = guard.check((req.method ?? "GET").toUpperCase(), req.headers);
    if (refusal) {
      writeProblem(res, refusal.status, refusal.detail, pathOf(req.url));
      return;
    }
    const page = options.dashboard?.answer((req.method ?? "GET").toUpperCase(), pathOf(req.url));
    if (page) {
      res.writeHead(page.status, page.headers).end(page.body);
      return;
    }
    const body = await readBody(req, maxBodyBytes);
    if (body === "too-large") {
      writeProblem(res, 413, `the body is larger than ${maxBodyBytes} bytes`, pathOf(req.url));
      return;
    }
    const event = toEvent(req, body);
    let result: APIGatewayProxyResultV2;
    try {
      result = await options.handler(
        event,
        localLambdaContext(FUNCTION_NAME, timeoutMs, {
          requestId: event.requestContext.requestId,
          memoryLimitInMB: 256,
        }),
      );
    } catch {
      // API Gateway answers {"message":"Internal Server Error"} when the function throws; the
      // status API's handler never throws (its error middleware answers), other handlers might
      writeProblem(res, 500, "the handler failed", event.rawPath);
      return;
    }
    writeResult(res, result);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 4000, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  guard = loopbackRequestGuard(host, port);
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | "too-large"> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes)
      tooLarge = true; // keep draining so the answer can be written
    else chunks.push(chunk);
  }
  return tooLarge ? "too-large" : Buffer.concat(chunks);
}

/** The request as API Gateway's HTTP API hands it to a Lambda (payload format 2.0). */
export function toEvent(req: IncomingMessage, body: Buffer, now = new Date()): APIGatewayProxyEventV2 {
  const target = req.url ?? "/";
  const rawPath = pathOf(target);
  const rawQueryString = target.slice(rawPath.length + 1);
  const method = (req.method ?? "GET").toUpperCase();

  // Null-prototype records: a header or parameter named __proto__ stays an entry (and is refused
  // as unknown) instead of being swallowed by Object.prototype's setter.
  const headers: Record<string, string> = Object.create(null);
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    if (key === "cookie") {
      cookies = (Array.isArray(value) ? value : [value]).flatMap((c) => c.split(/;\s*/)).filter(Boolean);
      continue;
    }
    headers[key] = Array.isArray(value) ? value.join(",") : value;
  }

  const queryStringParameters: Record<string, string> = Object.create(null);
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    const seen = queryStringParameters[name];
    queryStringParameters[name] = seen === undefined ? value : `${seen},${value}`;
  }

  const requestId = randomUUID();
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(Object.keys(queryStringParameters).length > 0 ? { queryStringParameters } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "localhost",
      domainPrefix: (headers.host ?? "localhost").split(".")[0] ?? "localhost",
      http: {
        method,
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId,
      routeKey: "$default",
      stage: "$default",
      time: apiGatewayTime(now),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: body.toString("utf8") } : {}),
    isBase64Encoded: false,
  };
}

function writeResult(res: ServerResponse, result: APIGatewayProxyResultV2): void {
  if (typeof result !== "object" || result === null || !("statusCode" in result)) {
    // API Gateway's inference: anything without a statusCode is a 200 JSON body
    const body = typeof result === "string" ? result : JSON.stringify(result ?? null);
    res.writeHead(200, { "content-type": "application/json" }).end(body);
    return;
  }
  const structured = result as APIGatewayProxyStructuredResultV2;
  for (const [name, value] of Object.entries(structured.headers ?? {})) res.setHeader(name, String(value));
  if (structured.cookies && structured.cookies.length > 0) res.setHeader("set-cookie", structured.cookies);
  const body =
    structured.body === undefined
      ? undefined
      : structured.isBase64Encoded
        ? Buffer.from(structured.body, "base64")
        : structured.body;
  res.statusCode = structured.statusCode ?? 200;
  res.end(body);
}

/** The server's own answers (not the handler's) are RFC 9457 problems too. */
function writeProblem(res: ServerResponse, status: number, detail: string, instance: string): void {
  res
    .writeHead(status, { "content-type": PROBLEM_CONTENT_TYPE, "cache-control": "no-store" })
    .end(JSON.stringify(problem(status, detail, instance)));
}

function pathOf(target = "/"): string {
  const q = target.indexOf("?");
  return q < 0 ? target : target.slice(0, q);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** API Gateway's `requestContext.time`: "12/Mar/2020:19:03:58 +0000". */
function apiGatewayTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(
    date.getUTCHours(),
  )}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}
