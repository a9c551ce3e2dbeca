import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from "aws-lambda";
import { afterEach, describe, expect, it } from "vitest";
import { type ApiServer, startApiServer } from "../../packages/local/src/api-server";

/** The local HTTP server that hands requests to an API Gateway (payload v2) handler. */

const servers: ApiServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(
  answer: (
    event: APIGatewayProxyEventV2,
    context: Context,
  ) => APIGatewayProxyResultV2 | Promise<APIGatewayProxyResultV2>,
  options: { maxBodyBytes?: number } = {},
) {
  const seen: { event: APIGatewayProxyEventV2; context: Context }[] = [];
  const server = await startApiServer({
    handler: async (event, context) => {
      seen.push({ event, context });
      return answer(event, context);
    },
    port: 0,
    ...options,
  });
  servers.push(server);
  return { server, seen };
}

describe("startApiServer", () => {
  it("listens on loopback, on a free port with port 0", async () => {
    const { server } = await serve(() => ({ statusCode: 204 }));
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect((await fetch(`${server.url}/x`)).status).toBe(204);
  });

  it("turns a request into an APIGatewayProxyEventV2", async () => {
    const { server, seen } = await serve(() => ({ statusCode: 200, body: "ok" }));
    const before = Date.now();
    await fetch(`${server.url}/pipelines/a%20b/runs?limit=5&tag=x&tag=y&q=a%26b`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Custom": "One", Cookie: "a=1; b=2" },
      body: JSON.stringify({ note: "hi" }),
    });
    const { event, context } = seen[0] ?? {};
    expect(event).toMatchObject({
      version: "2.0",
      routeKey: "$default",
      rawPath: "/pipelines/a%20b/runs",
      rawQueryString: "limit=5&tag=x&tag=y&q=a%26b",
      queryStringParameters: { limit: "5", tag: "x,y", q: "a&b" },
      cookies: ["a=1", "b=2"],
      body: '{"note":"hi"}',
      isBase64Encoded: false,
      requestContext: {
        routeKey: "$default",
        stage: "$default",
        http: { method: "POST", path: "/pipelines/a%20b/runs", protocol: "HTTP/1.1" },
      },
    });
    expect(event?.headers["content-type"]).toBe("application/json");
    expect(event?.headers["x-custom"]).toBe("One");
    expect(Object.keys(event?.headers ?? {}).every((k) => k === k.toLowerCase())).toBe(true);
    expect(event?.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event?.requestContext.timeEpoch).toBeGreaterThanOrEqual(before);
    expect(event?.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(context?.awsRequestId).toBe(event?.requestContext.requestId);
    expect(context?.getRemainingTimeInMillis()).toBeGreaterThan(0);
  });

  it("keeps a query parameter named __proto__ (or constructor) as an entry, for the handler to refuse", async () => {
    const { server, seen } = await serve(() => ({ statusCode: 200 }));
    await fetch(`${server.url}/pipelines/x/runs?__proto__=a&constructor=b&limit=1`);
    const params = seen[0]?.event.queryStringParameters ?? {};
    expect(Object.entries(params)).toEqual([
      ["__proto__", "a"],
      ["constructor", "b"],
      ["limit", "1"],
    ]);
    expect(Object.getPrototypeOf(params)).toBeNull();
  });

  it("leaves body and query out when there are none", async () => {
    const { server, seen } = await serve(() => ({ statusCode: 200 }));
    await fetch(`${server.url}/status`);
    expect(seen[0]?.event.body).toBeUndefined();
    expect(seen[0]?.event.queryStringParameters).toBeUndefined();
    expect(seen[0]?.event.rawQueryString).toBe("");
  });

  it("writes the handler's status, headers, cookies and body back; decodes a base64 body", async () => {
    const { server } = await serve((event) =>
      event.rawPath === "/binary"
        ? { statusCode: 200, isBase64Encoded: true, body: Buffer.from("héllo").toString("base64") }
        : {
            statusCode: 202,
            headers: { location: "/runs/x", "content-type": "application/json" },
            cookies: ["s=1; HttpOnly"],
            body: '{"ok":true}',
          },
    );
    const reply = await fetch(`${server.url}/thing`);
    expect(reply.status).toBe(202);
    expect(reply.headers.get("location")).toBe("/runs/x");
    expect(reply.headers.get("set-cookie")).toBe("s=1; HttpOnly");
    expect(await reply.json()).toEqual({ ok: true });
    expect(await (await fetch(`${server.url}/binary`)).text()).toBe("héllo");
  });

  it("answers a result without statusCode as a 200 JSON body, as API Gateway infers", async () => {
    const { server } = await serve(() => ({ hello: "world" }) as unknown as APIGatewayProxyResultV2);
    const reply = await fetch(`${server.url}/`);
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toBe("application/json");
    expect(await reply.json()).toEqual({ hello: "world" });
  });

  it("answers 500 problem+json when the handler throws, 413 for a body over the limit", async () => {
    const { server } = await serve(
      () => {
        throw new Error("secret internals");
      },
      { maxBodyBytes: 10 },
    );
    const failed = await fetch(`${server.url}/boom`);
    expect(failed.status).toBe(500);
    expect(failed.headers.get("content-type")).toBe("application/problem+json");
    expect(await failed.text()).not.toContain("secret internals");

    const large = await fetch(`${server.url}/big`, { method: "POST", body: "x".repeat(100) });
    expect(large.status).toBe(413);
    expect(large.headers.get("content-type")).toBe("application/problem+json");
  });

  it("frees its port on close", async () => {
    const { server } = await serve(() => ({ statusCode: 200 }));
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    await expect(fetch(`${server.url}/`)).rejects.toThrow();
  });
});
