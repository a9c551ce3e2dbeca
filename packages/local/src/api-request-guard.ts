/**
 * Who may drive the local status API. It listens on loopback without authentication, so any web
 * page the user has open can make the browser send it requests: a page on another site can POST
 * to 127.0.0.1 (cross-site request forgery), and a site can point its own name at 127.0.0.1 and
 * then read the answers as same-origin (DNS rebinding). What the browser reliably tells us:
 * - `Host` carries the name the page used: only our loopback names reach the handler (421 else);
 * - `Origin` is sent with every request whose method is not GET or HEAD, and `Sec-Fetch-Site`
 *   with every request of a current browser: a state-changing request from any other origin, or
 *   from another site or another port of this one (`same-site`), is refused (403);
 * - POST requires `Content-Type: application/json` (the handler answers 415), a type a page can
 *   only send after a CORS preflight, which this server never grants (it has no allowed origins).
 * curl and scripts send no `Origin` and no `Sec-Fetch-Site`, and pass.
 */

import type { IncomingHttpHeaders } from "node:http";

/** The names this server answers to, besides the literal address it is bound to. */
const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];

/** Methods that change nothing (RFC 9110 §9.2.1) and are answered whatever the page's origin. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** A fetch from another site, or from another port or subdomain of this one. */
const FOREIGN_FETCH_SITES = new Set(["cross-site", "same-site"]);

export interface Refusal {
  readonly status: 403 | 421;
  readonly detail: string;
}

export interface RequestGuard {
  /** undefined when the request may reach the handler */
  check(method: string, headers: IncomingHttpHeaders): Refusal | undefined;
}

/** The guard of a server bound to `boundHost` (e.g. 127.0.0.1) on `port`. */
export function loopbackRequestGuard(boundHost: string, port: number): RequestGuard {
  const bound = boundHost.includes(":") ? `[${boundHost.toLowerCase()}]` : boundHost.toLowerCase();
  const names = new Set([...LOOPBACK_NAMES, ...(isWildcard(boundHost) ? [] : [bound])]);
  const hosts = new Set([...names].flatMap((name) => [name, `${name}:${port}`]));
  // A page served by this server has the origin http://<name>:<port> (no port when it is 80).
  const origins = new Set(
    [...names].flatMap((name) => [`http://${name}:${port}`, ...(port === 80 ? [`http://${name}`] : [])]),
  );
  const home = `http://${isWildcard(boundHost) ? "127.0.0.1" : bound}:${port}`;

  return {
    check(method, headers) {
      const host = headers.host?.toLowerCase();
      if (host === undefined || !hosts.has(host)) {
        return {
          status: 421,
          detail: `this server answers only for its loopback address (use ${home}); Host ${quote(headers.host)} is not one of its names`,
        };
      }
      if (SAFE_METHODS.has(method)) return undefined;
      const site = headers["sec-fetch-site"]?.toLowerCase();
      if (site !== undefined && FOREIGN_FETCH_SITES.has(site)) {
        return {
          status: 403,
          detail: `a ${method} from another site (Sec-Fetch-Site: ${site}) is refused: the local API takes state-changing requests from ${home} or from tools such as curl only`,
        };
      }
      const origin = headers.origin;
      if (origin !== undefined && !origins.has(origin.toLowerCase())) {
        return {
          status: 403,
          detail: `a ${method} from origin ${quote(origin)} is refused: the local API takes state-changing requests from ${home} or from tools such as curl only`,
        };
      }
      return undefined;
    },
  };
}

function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "";
}

/** A header value as it may appear in an answer: quoted, and short (it is the caller's text). */
function quote(value: string | undefined): string {
  if (value === undefined) return "(none)";
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}
