import { request } from "node:http";
import { expect } from "vitest";
import { checkAnswer } from "./status-api-answers";

/**
 * One HTTP exchange with full control of the headers a browser sets itself (Host, Origin,
 * Sec-Fetch-Site), which `fetch` does not let a caller choose. Every answer is checked against
 * docs/status-api.openapi.yaml.
 */

export interface RawReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected freely
  readonly json: any;
}

export async function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: string } = {},
): Promise<RawReply> {
  const reply = await exchange(baseUrl, method, path, init);
  expect(
    checkAnswer({ method, path, status: reply.status, headers: reply.headers, body: reply.text }),
  ).toEqual([]);
  return reply;
}

function exchange(
  baseUrl: string,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: string },
): Promise<RawReply> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port,
        method,
        path: `${url.pathname}${url.search}`,
        headers: {
          ...(init.body !== undefined ? { "content-length": String(Buffer.byteLength(init.body)) } : {}),
          ...init.headers,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
          }
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers, text, json });
        });
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}
