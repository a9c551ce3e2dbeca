import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The dashboard's page: plain files in packages/local/dashboard/ (HTML, ES modules, CSS; no build
 * step), served at `/` and `/dashboard/<file>` by both servers that offer it: `tapestry local`'s
 * status API server and `tapestry dashboard`'s proxy. The page asks the status API's read routes at
 * the same origin, so the same files work behind either.
 */

/** Where the page's files are. */
export const DASHBOARD_DIR = fileURLToPath(new URL("../dashboard/", import.meta.url));

/** The assets' URL prefix (the page itself is `/`). */
export const DASHBOARD_PREFIX = "/dashboard/";

/**
 * The page loads only its own files and asks only its own origin: no inline script or style, no
 * frame, no form. `nosniff` keeps a JSON answer from being run as a script.
 */
export const DASHBOARD_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

export interface DashboardAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** absent for HEAD and for the answers without one */
  readonly body?: Buffer | string;
}

export interface DashboardAssets {
  /**
   * The answer to a request for `/` or a path under `/dashboard/`; undefined for any other path
   * (the status API's). Only GET and HEAD are answered (405 otherwise).
   */
  answer(method: string, path: string): DashboardAnswer | undefined;
}

/**
 * The page's files, read once: only the files of the folder are served, by exact name (no path
 * is ever joined from a request).
 */
export function dashboardAssets(dir = DASHBOARD_DIR): DashboardAssets {
  const files = new Map<string, { readonly type: string; readonly body: Buffer }>();
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type) files.set(name, { type, body: readFileSync(join(dir, name)) });
  }
  const page = files.get("index.html");
  if (!page) throw new Error(`the dashboard's index.html is missing from ${dir}`);

  return {
    answer(method, path) {
      const name =
        path === "/"
          ? "index.html"
          : path.startsWith(DASHBOARD_PREFIX)
            ? path.slice(DASHBOARD_PREFIX.length)
            : undefined;
      if (name === undefined) return undefined;
      if (method !== "GET" && method !== "HEAD") {
        return plain(405, `${method} is not allowed here: the dashboard's files answer GET and HEAD`, {
          allow: "GET, HEAD",
        });
      }
      const file = name === "index.html" && path !== "/" ? undefined : files.get(name);
      if (!file) return plain(404, `no dashboard file ${path}: the page is at /`);
      return {
        status: 200,
        headers: {
          ...DASHBOARD_SECURITY_HEADERS,
          "content-type": file.type,
          "content-length": String(file.body.length),
          // revalidated on every load: a new version of the page is seen at once
          "cache-control": "no-cache",
        },
        ...(method === "HEAD" ? {} : { body: file.body }),
      };
    },
  };
}

function plain(status: number, text: string, extra: Record<string, string> = {}): DashboardAnswer {
  return {
    status,
    headers: {
      ...DASHBOARD_SECURITY_HEADERS,
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store",
      ...extra,
    },
    body: `${text}\n`,
  };
}
