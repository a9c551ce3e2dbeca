import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PROBLEM_CONTENT_TYPE, problem as problemOf } from "@tapestry/core/status";
import { loopbackRequestGuard, type RequestGuard } from "@tapestry/local/api-request-guard";
import { DASHBOARD_SECURITY_HEADERS, type DashboardAssets, dashboardAssets } from "@tapestry/local/dashboard";
import type { Transport } from "../status-api/client";

/**
 * `tapestry dashboard`'s server: the dashboard's page, and a read-only proxy to one status API
 * (the embedded control plane's, or a stage's with every request SigV4-signed by the transport).
 * It forwards only GET, and only the read routes the page asks; it answers only for its loopback
 * names (a page elsewhere cannot rebind a name to it and read a stage with the user's credentials)
 * and refuses API requests another site's page makes (Sec-Fetch-Site).
 */

/** The status API's read routes the page asks (segments as pipeline names and run ids are spelt). */
const SEGMENT = "[A-Za-z0-9_~-][A-Za-z0-9._~-]*";
export const PROXIED_ROUTES: readonly RegExp[] = [
  "/status",
  "/pipelines",
  `/pipelines/${SEGMENT}`,
  `/pipelines/${SEGMENT}/runs`,
  `/runs/${SEGMENT}`,
  `/runs/${SEGMENT}/events`,
  "/alerts",
  "/provisioning",
  "/stacks",
].map((route) => new RegExp(`^${route}$`));

export interface DashboardServerOptions {
  readonly transport: Transport;
  /** names the target in the proxy's own problems: "the status API of stage prod (https://...)" */
  readonly description: string;
  /** said with a 403 of the target */
  readonly forbiddenHint?: string;
  /** 127.0.0.1 by default */
  readonly host?: string;
  /** 0 picks a free port */
  readonly port: number;
  readonly assets?: DashboardAssets;
}

export interface DashboardServer {
  /** e.g. http://127.0.0.1:4100/ */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const host = options.host ?? "127.0.0.1";
  const assets = options.assets ?? dashboardAssets();
  let guard: RequestGuard | undefined;

  const server = createServer((req, res) => {
    serve(req, res).catch(() => {
      if (!res.headersSent) problem(res, 500, "the dashboard's server failed to answer", pathOf(req.url));
      else res.destroy();
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!guard) throw new Error("a request arrived before the server knew its port");
    const method = (req.method ?? "GET").toUpperCase();
    const path = pathOf(req.url);
    const refusal = guard.check(method, req.headers);
    if (refusal) return problem(res, refusal.status, refusal.detail, path);

    const page = assets.answer(method, path);
    if (page) {
      res.writeHead(page.status, page.headers).end(page.body);
      return;
    }
    if (!PROXIED_ROUTES.some((route) => route.test(path))) {
      return problem(res, 404, `no route ${path} here: the dashboard is at /`, path);
    }
    if (method !== "GET") {
      res.setHeader("allow", "GET");
      return problem(res, 405, `the dashboard's proxy forwards GET only, not ${method}`, path);
    }
    const site = req.headers["sec-fetch-site"];
    if (site === "cross-site" || site === "same-site") {
      return problem(res, 403, `a request from another site (Sec-Fetch-Site: ${site}) is refused`, path);
    }

    const target = req.url ?? path;
    let answer: Awaited<ReturnType<Transport>>;
    try {
      answer = await options.transport({ method: "GET", path: target });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return problem(res, 502, `could not reach ${options.description}: ${reason}`, path);
    }
    const isProblem = answer.contentType?.startsWith(PROBLEM_CONTENT_TYPE) ?? false;
    if (answer.status === 403 && !isProblem) {
      // API Gateway's own refusal of the signature: {"message":"Forbidden"}
      const hint = options.forbiddenHint ? `: ${options.forbiddenHint}` : "";
      return problem(res, 403, `${options.description} refused the signed request (403)${hint}`, path);
    }
    res
      .writeHead(answer.status, {
        "content-type": answer.contentType ?? "application/json",
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      })
      .end(answer.body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  guard = loopbackRequestGuard(host, port);
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** The proxy's own refusals are RFC 9457 problems, as the status API's are. */
function problem(res: ServerResponse, status: number, detail: string, instance: string): void {
  res
    .writeHead(status, {
      ...DASHBOARD_SECURITY_HEADERS,
      "content-type": PROBLEM_CONTENT_TYPE,
      "cache-control": "no-store",
    })
    .end(JSON.stringify(problemOf(status, detail, instance)));
}

function pathOf(target = "/"): string {
  const q = target.indexOf("?");
  return q < 0 ? target : target.slice(0, q);
}
