import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DASHBOARD_DIR, dashboardAssets } from "@tapestry/local/dashboard";
import { afterEach, describe, expect, it } from "vitest";
import { type DashboardServer, startDashboardServer } from "../../packages/cli/src/dashboard/server";
import type { ApiRequest, Transport } from "../../packages/cli/src/status-api/client";
import { type ApiServer, startApiServer } from "../../packages/local/src/api-server";
import { exchange, PAGE_HEADERS } from "./http";

/**
 * The page's files as both servers serve them (tapestry local's status API server, tapestry
 * dashboard's proxy), and the proxy's rules: GET only, the read routes only, loopback names only.
 */

const servers: (ApiServer | DashboardServer)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** tapestry local's server with the page, in front of a handler that records what reaches it. */
async function localServer() {
  const reached: string[] = [];
  const server = await startApiServer({
    port: 0,
    dashboard: dashboardAssets(),
    handler: async (event) => {
      reached.push(`${event.requestContext.http.method} ${event.rawPath}`);
      return { statusCode: 200, headers: { "content-type": "application/json" }, body: '{"from":"handler"}' };
    },
  });
  servers.push(server);
  return { url: server.url, reached };
}

/** The proxy in front of a transport that records each request and answers `answer`. */
async function proxy(
  answer: Transport = async () => ({ status: 200, contentType: "application/json", body: "{}" }),
) {
  const forwarded: ApiRequest[] = [];
  const server = await startDashboardServer({
    transport: async (request) => {
      forwarded.push(request);
      return answer(request);
    },
    description: "the status API of stage prod (https://abc.execute-api.eu-west-1.amazonaws.com)",
    forbiddenHint: "your AWS credentials must be allowed execute-api:Invoke on the API",
    port: 0,
  });
  servers.push(server);
  return { url: server.url, forwarded };
}

const file = (name: string) => readFileSync(join(DASHBOARD_DIR, name), "utf8");

describe.each([
  ["tapestry local's server", async () => (await localServer()).url],
  ["tapestry dashboard's proxy", async () => (await proxy()).url],
])("the page, served by %s", (_name, start) => {
  it("answers / with the page, its files under /dashboard/, each with the CSP and nosniff", async () => {
    const url = await start();
    const page = await exchange(url, "GET", "/", { host: new URL(url).host });
    expect(page.status).toBe(200);
    expect(page.headers).toMatchObject({ ...PAGE_HEADERS, "content-type": "text/html; charset=utf-8" });
    expect(page.text).toBe(file("index.html"));
    for (const [name, type] of [
      ["dashboard.js", "text/javascript; charset=utf-8"],
      ["charts.js", "text/javascript; charset=utf-8"],
      ["dom.js", "text/javascript; charset=utf-8"],
      ["dashboard.css", "text/css; charset=utf-8"],
      ["favicon.svg", "image/svg+xml"],
    ] as const) {
      const asset = await exchange(url, "GET", `/dashboard/${name}`, { host: new URL(url).host });
      expect(asset.status, name).toBe(200);
      expect(asset.headers, name).toMatchObject({ ...PAGE_HEADERS, "content-type": type });
      expect(asset.text, name).toBe(file(name));
    }
    const head = await exchange(url, "HEAD", "/", { host: new URL(url).host });
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
  });

  it("answers 404 for a file that is not one of the page's, and for a path that climbs out", async () => {
    const url = await start();
    for (const path of [
      "/dashboard/",
      "/dashboard/nope.js",
      "/dashboard/index.html",
      "/dashboard/../package.json",
      "/dashboard/%2e%2e/package.json",
    ]) {
      const reply = await exchange(url, "GET", path, { host: new URL(url).host });
      expect(reply.status, path).toBe(404);
      expect(reply.text, path).not.toContain("tapestry");
    }
  });

  it("refuses any method but GET and HEAD on the page (405, Allow)", async () => {
    const url = await start();
    const reply = await exchange(url, "POST", "/", { host: new URL(url).host });
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe("GET, HEAD");
  });

  it("keeps the request guard: a Host that is not a loopback name gets 421 (DNS rebinding)", async () => {
    const url = await start();
    for (const path of ["/", "/dashboard/dashboard.js", "/status"]) {
      const reply = await exchange(url, "GET", path, { host: "rebound.example.com" });
      expect(reply.status, path).toBe(421);
    }
  });
});

describe("tapestry local's server", () => {
  it("still hands every other path to the status API's handler", async () => {
    const { url, reached } = await localServer();
    const reply = await exchange(url, "GET", "/status", { host: new URL(url).host });
    expect(JSON.parse(reply.text)).toEqual({ from: "handler" });
    expect(reached).toEqual(["GET /status"]);
  });

  it("without the page (the default) answers / from the handler, as before", async () => {
    const server = await startApiServer({
      port: 0,
      handler: async (event) => ({ statusCode: 404, body: event.rawPath }),
    });
    servers.push(server);
    const reply = await exchange(server.url, "GET", "/", { host: new URL(server.url).host });
    expect(reply).toMatchObject({ status: 404, text: "/" });
  });
});

describe("tapestry dashboard's proxy", () => {
  const READ_ROUTES = [
    "/status",
    "/pipelines",
    "/pipelines/rain-shield-audience",
    "/pipelines/rain-shield-audience/runs?limit=30",
    "/pipelines/rain-shield-audience/runs?limit=5&cursor=eyJhIjoxfQ",
    "/runs/rain-shield-audience-m01M96ZAK2BTY327WQRNAYBKX6M",
    "/runs/rain-shield-audience-20260301T060000Z/events",
    "/alerts",
    "/provisioning",
    "/stacks",
  ];

  it("forwards GET of each read route the page asks, path and query as asked, and the answer as it came", async () => {
    const { url, forwarded } = await proxy(async (request) => ({
      status: 200,
      contentType: "application/json",
      body: JSON.stringify({ asked: request.path }),
    }));
    for (const path of READ_ROUTES) {
      const reply = await exchange(url, "GET", path, {
        host: new URL(url).host,
        "sec-fetch-site": "same-origin",
      });
      expect(reply.status, path).toBe(200);
      expect(JSON.parse(reply.text), path).toEqual({ asked: path });
      expect(reply.headers, path).toMatchObject({
        "content-type": "application/json",
        "x-content-type-options": "nosniff",
        "cache-control": "no-store",
      });
    }
    expect(forwarded).toEqual(READ_ROUTES.map((path) => ({ method: "GET", path })));
  });

  it("passes the API's problems through: status, type and body", async () => {
    const problem = JSON.stringify({
      type: "about:blank",
      title: "Not Found",
      status: 404,
      detail: "no route GET /stacks",
      instance: "/stacks",
    });
    const { url } = await proxy(async () => ({
      status: 404,
      contentType: "application/problem+json",
      body: problem,
    }));
    const reply = await exchange(url, "GET", "/stacks", { host: new URL(url).host });
    expect(reply).toMatchObject({ status: 404, text: problem });
    expect(reply.headers["content-type"]).toBe("application/problem+json");
  });

  it.each([
    ["POST", "/pipelines/rain-shield-audience/runs"],
    ["DELETE", "/provisioning"],
    ["PUT", "/status"],
    ["HEAD", "/status"],
  ])("forwards nothing but GET: %s %s gets 405", async (method, path) => {
    const { url, forwarded } = await proxy();
    const reply = await exchange(url, method, path, {
      host: new URL(url).host,
      "content-type": "application/json",
    });
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe("GET");
    expect(forwarded).toEqual([]);
  });

  it.each([
    "/health",
    "/runs/rain-shield-audience-m01M96ZAK2BTY327WQRNAYBKX6M/cancel",
    "/runs/rain-shield-audience-m01M96ZAK2BTY327WQRNAYBKX6M/retry",
    "/webhooks/dbt-cloud",
    "/pipelines/../status",
    "/pipelines/%2e%2e",
    "/pipelines/a/runs/extra",
    "/api/status",
  ])("forwards no other path: GET %s gets 404", async (path) => {
    const { url, forwarded } = await proxy();
    const reply = await exchange(url, "GET", path, { host: new URL(url).host });
    expect(reply.status).toBe(404);
    expect(reply.headers["content-type"]).toBe("application/problem+json");
    expect(forwarded).toEqual([]);
  });

  it("refuses a request another site's page makes (Sec-Fetch-Site), forwarding nothing", async () => {
    const { url, forwarded } = await proxy();
    for (const site of ["cross-site", "same-site"]) {
      const reply = await exchange(url, "GET", "/status", {
        host: new URL(url).host,
        "sec-fetch-site": site,
      });
      expect(reply.status, site).toBe(403);
    }
    expect(forwarded).toEqual([]);
  });

  it("answers 502 naming the target when it cannot be reached", async () => {
    const { url } = await proxy(async () => {
      throw new TypeError("fetch failed");
    });
    const reply = await exchange(url, "GET", "/status", { host: new URL(url).host });
    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.text).detail).toBe(
      "could not reach the status API of stage prod (https://abc.execute-api.eu-west-1.amazonaws.com): fetch failed",
    );
  });

  it("turns API Gateway's bare 403 into a problem that says how to get access", async () => {
    const { url } = await proxy(async () => ({
      status: 403,
      contentType: "application/json",
      body: '{"message":"Forbidden"}',
    }));
    const reply = await exchange(url, "GET", "/status", { host: new URL(url).host });
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.text)).toMatchObject({
      status: 403,
      detail:
        "the status API of stage prod (https://abc.execute-api.eu-west-1.amazonaws.com) refused the signed request (403): your AWS credentials must be allowed execute-api:Invoke on the API",
    });
  });
});
