import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "@tapestry/local";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DashboardServer } from "../../packages/cli/src/dashboard/server";
import { type ApiServer, startApiServer } from "../../packages/local/src/api-server";
import { startApiGatewayStandIn } from "../cli/api-gateway-stand-in";
import { CLASS_NAME_OR_STACK, tapestry } from "../cli/harness";
import { CLI, childEnv, NODE } from "../support/tapestry-cli";
import { exchange, PAGE_HEADERS } from "./http";

/** `tapestry dashboard`: its target, its signing for --stage, its usage errors, and Ctrl-C. */

const CREDENTIALS = {
  accessKeyId: "AKIDDASHBOARDTEST",
  secretAccessKey: "dashboard-test-secret-0a1b2c3d4e5f",
};

let statusApi: ApiServer;
const reached: string[] = [];
let gateway: Awaited<ReturnType<typeof startApiGatewayStandIn>>;
const temps: string[] = [];

beforeAll(async () => {
  // a stand-in status API behind the stand-in API Gateway: it answers what it was asked
  statusApi = await startApiServer({
    port: 0,
    handler: async (event) => {
      reached.push(`${event.requestContext.http.method} ${event.rawPath}?${event.rawQueryString}`);
      return {
        statusCode: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ path: event.rawPath }),
      };
    },
  });
  gateway = await startApiGatewayStandIn({
    target: statusApi.url,
    region: "eu-west-1",
    credentials: CREDENTIALS,
  });
});
afterAll(async () => {
  await gateway?.close();
  await statusApi?.close();
});
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs `tapestry dashboard <args>` in this process; `visit` runs against the served page, then it stops. */
async function dashboard(
  args: readonly string[],
  visit: (server: DashboardServer) => Promise<void> = async () => undefined,
  credentials = CREDENTIALS,
) {
  const opened: string[] = [];
  const result = await tapestry(["dashboard", "--port", "0", ...args], {
    dashboard: {
      credentials: async () => credentials,
      openBrowser: (url) => opened.push(url),
      stopWhen: async (server) => {
        await visit(server);
        return "SIGINT";
      },
    },
  });
  return { ...result, opened };
}

describe("tapestry dashboard --stage", () => {
  it("serves the page and forwards each read as a GET SigV4-signed for the stage's host and today", async () => {
    reached.length = 0;
    let page = { status: 0, headers: {} as Record<string, string> };
    const result = await dashboard(
      ["--stage", "prod", "--api-url", gateway.url, "--region", "eu-west-1", "--open"],
      async (server) => {
        page = await exchange(server.url, "GET", "/", { host: new URL(server.url).host });
        for (const path of ["/status", "/pipelines/rain-shield-audience/runs?limit=30", "/alerts"]) {
          const reply = await exchange(server.url, "GET", path, { host: new URL(server.url).host });
          expect(reply.status, path).toBe(200);
          expect(JSON.parse(reply.text), path).toEqual({ path: path.split("?")[0] });
        }
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(page.status).toBe(200);
    expect(page.headers).toMatchObject(PAGE_HEADERS);
    // the stand-in recomputed every signature from the request as received: host, date, region, key
    expect(gateway.refusals).toEqual([]);
    const signed = gateway.authorized.slice(-3);
    for (const call of signed) {
      expect(call.method).toBe("GET");
      expect(call.headers.host).toBe(new URL(gateway.url).host);
      const stamp = String(call.headers["x-amz-date"]).replace(
        /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/,
        "$1-$2-$3T$4:$5:$6Z",
      );
      expect(Math.abs(Date.parse(stamp) - Date.now())).toBeLessThan(5 * 60_000);
      expect(String(call.headers.authorization)).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDDASHBOARDTEST\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*x-amz-date/,
      );
    }
    expect(reached).toEqual([
      "GET /status?",
      "GET /pipelines/rain-shield-audience/runs?limit=30",
      "GET /alerts?",
    ]);
    expect(result.out[0]).toMatch(
      new RegExp(
        `^Tapestry dashboard of the status API of stage prod \\(${gateway.url.replaceAll(".", "\\.")}\\): http://127\\.0\\.0\\.1:\\d+/$`,
      ),
    );
    expect(result.opened).toEqual([result.out[0]?.split(": ").at(-1)]);
    expect(result.out.at(-1)).toBe("Stopped (SIGINT).");
    expect(result.stdout + result.stderr).not.toContain(CREDENTIALS.secretAccessKey);
  });

  it("answers the page a 403 problem with the fix when the stage refuses the signature", async () => {
    let reply = { status: 0, text: "" };
    const result = await dashboard(
      ["--stage", "prod", "--api-url", gateway.url, "--region", "eu-west-1"],
      async (server) => {
        reply = await exchange(server.url, "GET", "/status", { host: new URL(server.url).host });
      },
      { accessKeyId: "AKIDSOMEONEELSE", secretAccessKey: "not-the-right-secret-at-all" },
    );
    expect(result.code).toBe(0);
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.text).detail).toMatch(
      /refused the signed request \(403\): your AWS credentials must be allowed execute-api:Invoke/,
    );
  });
});

describe("tapestry dashboard: usage errors exit 2 with the fix, and start nothing", () => {
  it.each([
    [["--port", "http"], /expected a port number from 0 to 65535, got "http"/],
    [["--stage", "Prod!"], /"Prod!" is not a stage name/],
    [["--local", "ftp://x"], /--local expects an http\(s\) URL/],
    [["--stage", "prod", "--local"], /cannot be used with option '--stage/],
    [["--region", "eu-west-1"], /--api-url and --region go with --stage/],
  ])("%j", async (args, message) => {
    let served = false;
    const result = await dashboard(args, async () => {
      served = true;
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(CLASS_NAME_OR_STACK);
    expect(served).toBe(false);
  });

  it("no tapestry local running for the state folder: says how to start one", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "tapestry-dashboard-"));
    temps.push(stateDir);
    const result = await dashboard(["--state-dir", stateDir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no embedded control plane is running for .*: start one with `npm start`/);
  });

  it("a port in use: says so and how to pick another", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const result = await tapestry(["dashboard", "--local", statusApi.url, "--port", String(port)], {
        dashboard: { stopWhen: async () => "SIGINT" },
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `port ${port} is in use: stop what listens there, or pick another with --port <port> (0: any free port)`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe("tapestry dashboard as a user runs it (child process)", () => {
  it("prints the URL, serves the page, and stops cleanly on Ctrl-C (exit 0)", async () => {
    const child = spawn(NODE, [CLI, "dashboard", "--local", statusApi.url, "--port", "0"], {
      cwd: REPO_ROOT,
      env: childEnv({ NO_COLOR: "1" }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed:\n${stdout}\n${stderr}`)), 25_000);
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        const match = /: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(stdout);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    expect(stdout).toContain(`Tapestry dashboard of the embedded control plane at ${statusApi.url}: ${url}`);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await fetch(new URL("/status", url)).then((r) => r.json())).toEqual({ path: "/status" });

    const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exit).toBe(0);
    expect(stdout).toMatch(/Stopped \(SIGINT\)\.\n$/);
    await expect(fetch(url)).rejects.toThrow();
  });
});
