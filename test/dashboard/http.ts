import { request } from "node:http";
import { expect } from "vitest";

/** One exchange with full control of Host, Origin and Sec-Fetch-Site (which fetch sets itself). */
export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
}

export function exchange(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path, headers: { "content-length": "0", ...headers } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => {
          const flat: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
          }
          resolve({ status: res.statusCode ?? 0, headers: flat, text });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** The page's security headers, as both servers must send them with the page and its files. */
export const PAGE_HEADERS = {
  "content-security-policy": expect.stringMatching(/^default-src 'self';/),
  "x-content-type-options": "nosniff",
};
