import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Plane, startPlane } from "../state-machines/harness";
import { type RawReply, rawRequest } from "./raw-http";

/**
 * The embedded control plane's status API as a hostile web page would try it: it listens on
 * loopback with no authentication, so the browser's own rules are what keep other sites out.
 * A page can make the browser send a POST to 127.0.0.1 (CSRF) and can point its own name at
 * 127.0.0.1 (DNS rebinding, a foreign Host). Each refusal is checked against what the user would
 * notice: no run in the ledger, no job triggered in any sandbox.
 */

const RUNS = "/pipelines/rain-shield-audience/runs";
const JSON_TYPE = { "content-type": "application/json" };

let plane: Plane;
let port: number;

beforeAll(async () => {
  plane = await startPlane();
  port = Number(new URL(plane.apiUrl).port);
}, 60_000);

afterAll(async () => {
  await plane?.stop();
});

const call = (method: string, path: string, init?: { headers?: Record<string, string>; body?: string }) =>
  rawRequest(plane.apiUrl, method, path, init);

function expectProblem(reply: RawReply, status: number) {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers["content-type"]).toBe("application/problem+json");
  expect(reply.json).toMatchObject({ status, type: "about:blank", title: expect.any(String) });
}

/** Nothing reached the runner, the ledger or any tool. */
async function expectNothingStarted() {
  await plane.idle();
  expect(plane.executions.executions()).toEqual([]);
  expect((await plane.ledger.listRuns("rain-shield-audience", { limit: 10 })).runs).toEqual([]);
  for (const sandbox of plane.sandboxes.all) expect(sandbox.counters.triggers, sandbox.tool).toBe(0);
}

describe("Host: only the loopback names of the bound port (DNS rebinding)", () => {
  // the bound port is only known once the plane runs: "{port}" stands for it
  it.each([
    "evil.example",
    "evil.example:{port}",
    "rebind.127.0.0.1.nip.io:{port}",
    "localhost.evil.example",
    "localhost:1",
    "127.0.0.1:65535",
    "[::1]:1",
    "127.0.0.1@evil.example",
    "127.0.0.1:{port}.evil.example",
  ])("answers 421 problem+json to Host %s, for reads and writes alike", async (template) => {
    const host = template.replace("{port}", String(port));
    for (const [method, path] of [
      ["GET", "/status"],
      ["HEAD", "/status"],
      ["POST", RUNS],
    ] as const) {
      const reply = await call(method, path, { headers: { host, ...JSON_TYPE } });
      expect(reply.status, `${method} ${path} Host ${host}`).toBe(421);
      expect(reply.headers["content-type"]).toBe("application/problem+json");
      if (method !== "HEAD") {
        expectProblem(reply, 421);
        expect(reply.json.detail).toContain(`http://127.0.0.1:${port}`);
      }
    }
    await expectNothingStarted();
  });

  it("answers the loopback names, with or without the bound port, in any letter case", async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      "127.0.0.1",
      `localhost:${port}`,
      "LOCALHOST",
      `[::1]:${port}`,
      "[::1]",
    ]) {
      expect((await call("GET", "/health", { headers: { host } })).status, host).toBe(200);
    }
  });
});

describe("state-changing requests from other sites (CSRF)", () => {
  it.each<[string, (port: number) => Record<string, string>]>([
    ["a foreign Origin", () => ({ origin: "https://evil.example" })],
    ["another port of the same host", (port) => ({ origin: `http://127.0.0.1:${port + 1}` })],
    ["another loopback name's other port", (port) => ({ origin: `http://localhost:${port + 1}` })],
    ["another scheme", (port) => ({ origin: `https://127.0.0.1:${port}` })],
    ["an opaque origin", () => ({ origin: "null" })],
    ["Sec-Fetch-Site: cross-site", () => ({ "sec-fetch-site": "cross-site" })],
    ["Sec-Fetch-Site: same-site", () => ({ "sec-fetch-site": "same-site" })],
    [
      "Sec-Fetch-Site: cross-site beside the API's own Origin",
      (port) => ({ origin: `http://127.0.0.1:${port}`, "sec-fetch-site": "cross-site" }),
    ],
  ])("refuses a POST with %s: 403 problem+json, nothing started", async (_, headersFor) => {
    const headers = headersFor(port);
    const reply = await call("POST", RUNS, { headers: { ...JSON_TYPE, ...headers }, body: "{}" });
    expectProblem(reply, 403);
    await expectNothingStarted();
  });

  it("refuses any other state-changing method from another site before routing it", async () => {
    for (const method of ["PUT", "DELETE", "PATCH"]) {
      const reply = await call(method, RUNS, { headers: { origin: "https://evil.example" } });
      expectProblem(reply, 403);
    }
    await expectNothingStarted();
  });

  it("refuses a POST without Content-Type: application/json with 415, body or no body, and starts nothing", async () => {
    for (const init of [
      {}, // what an HTML form or navigator.sendBeacon() with no data sends: no preflight
      { headers: { "content-type": "text/plain" }, body: '{"note":"x"}' }, // a CORS-safelisted type: no preflight
      { headers: { "content-type": "application/x-www-form-urlencoded" }, body: "note=x" },
      { body: "{}" },
    ]) {
      const reply = await call("POST", RUNS, init);
      expectProblem(reply, 415);
      expect(reply.json.detail).toContain("application/json");
    }
    await expectNothingStarted();
  });

  it("still lets reads from other sites through (a browser keeps their answers from the page: no CORS)", async () => {
    const reply = await call("GET", "/status", { headers: { origin: "https://evil.example" } });
    expect(reply.status).toBe(200);
    expect(reply.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("answers every CORS preflight with 403: this server never lets another origin send JSON", async () => {
    const reply = await call("OPTIONS", RUNS, {
      headers: {
        origin: "https://evil.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expectProblem(reply, 403);
    expect(reply.headers["access-control-allow-origin"]).toBeUndefined();
    expect(reply.headers["access-control-allow-methods"]).toBeUndefined();
  });

  it("starts a run for the API's own origin, curl (no Origin) and Sec-Fetch-Site same-origin or none", async () => {
    const accepted: string[] = [];
    for (const headers of <Record<string, string>[]>[
      {},
      { origin: `http://127.0.0.1:${port}`, "sec-fetch-site": "same-origin" },
      { origin: `http://localhost:${port}` },
      { "sec-fetch-site": "none" },
    ]) {
      const reply = await call("POST", RUNS, { headers: { ...JSON_TYPE, ...headers } });
      // one run at a time (overlap: skip): the first is accepted, the next ones meet it
      expect([202, 409], reply.text).toContain(reply.status);
      if (reply.status === 202) accepted.push(reply.json.runId);
      await plane.idle();
    }
    expect(accepted).toHaveLength(4);
    expect(plane.executions.executions()).toHaveLength(4);
  }, 60_000);
});
