import { createHash, createPublicKey, verify } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import {
  SnowflakeError,
  type SnowflakeRow,
  type SnowflakeSession,
} from "@tapestry/core/provisioning/warehouse";
import type { ScriptedSnowflake } from "./scripted-snowflake";

/**
 * A scripted Snowflake account behind the REST endpoints snowflake-sdk 2.x speaks, on 127.0.0.1:
 * sign-in (`/session/v1/login-request`, the JWT's signature checked against the admin's public key
 * when the account knows it), statements (`/queries/v1/query-request`, binds included), aborts,
 * telemetry and sign-out. With it the bootstrapper runs end to end through the real
 * snowflake-promise and snowflake-sdk, the SDK pointed here by its `accessUrl`. For tests only.
 */

export interface SnowflakeWire {
  /** http://127.0.0.1:<port>, for the SDK's accessUrl */
  readonly url: string;
  /** the statements the SDK asked to abort, by SQL text */
  readonly aborted: string[];
  /** every request's path and body, for tests that check what went over the wire */
  readonly requests: { readonly path: string; readonly body: string }[];
  /** the public key the admin's JWT must be signed with (PEM or base64 DER); unset: any well-formed JWT */
  adminPublicKey?: string;
  close(): Promise<void>;
}

interface OpenSession {
  readonly session: SnowflakeSession;
  /** query id -> SQL text of statements still running */
  readonly running: Map<string, { sql: string; requestId: string; cancel: () => void }>;
}

export async function startSnowflakeWire(account: ScriptedSnowflake): Promise<SnowflakeWire> {
  const sessions = new Map<string, OpenSession>();
  const aborted: string[] = [];
  const requests: { path: string; body: string }[] = [];
  let counter = 0;

  const wire: SnowflakeWire = {
    url: "",
    aborted,
    requests,
    close: async () => {
      for (const { session } of sessions.values()) await session.close();
      sessions.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };

  const server: Server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      reply(response, 500, {
        success: false,
        message: error instanceof Error ? error.message : String(error),
      });
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    requests.push({ path, body });
    const token = /Snowflake Token="([^"]+)"/.exec(request.headers.authorization ?? "")?.[1];

    if (path === "/session/v1/login-request") {
      const data = (JSON.parse(body) as { data: Record<string, unknown> }).data;
      const problem = checkJwt(data, wire.adminPublicKey);
      if (problem) return reply(response, 200, failure(new SnowflakeError(problem, "390144", "08004")));
      let session: SnowflakeSession;
      try {
        session = await account.connect(credentialsOf(data), { timeoutMs: 60_000 });
      } catch (error) {
        return reply(response, 200, failure(error));
      }
      const sessionToken = `session-${++counter}`;
      sessions.set(sessionToken, { session, running: new Map() });
      return reply(response, 200, {
        success: true,
        data: {
          token: sessionToken,
          masterToken: `master-${counter}`,
          validityInSeconds: 3600,
          masterValidityInSeconds: 14400,
          sessionId: counter,
          parameters: [],
          sessionInfo: { roleName: "PUBLIC" },
        },
      });
    }
    const open = token ? sessions.get(token) : undefined;
    if (path === "/telemetry/send") return reply(response, 200, { success: true, data: null });
    if (!open)
      return reply(
        response,
        200,
        failure(new SnowflakeError("Authentication token has expired.", "390112", "08001")),
      );

    if (path === "/queries/v1/query-request") {
      const { sqlText, bindings } = JSON.parse(body) as {
        sqlText: string;
        bindings?: Record<string, { value: string }>;
      };
      const binds = Object.entries(bindings ?? {})
        .sort(([a], [b]) => Number(a) - Number(b))
        .map(([, bind]) => bind.value);
      const queryId = `01b${(++counter).toString(16).padStart(8, "0")}`;
      // the SDK aborts a statement by the requestId of its query-request when it has no query id yet
      const requestId =
        new URL(request.url ?? "/", "http://localhost").searchParams.get("requestId") ?? queryId;
      let cancel: () => void = () => undefined;
      const cancelled = new Promise<never>((_, reject) => {
        cancel = () => reject(new SnowflakeError("SQL execution canceled", "000604", "57014"));
      });
      open.running.set(queryId, { sql: sqlText, requestId, cancel });
      try {
        const rows = await Promise.race([
          open.session.execute(sqlText, { binds, timeoutMs: 60_000 }),
          cancelled,
        ]);
        return reply(response, 200, { success: true, data: resultSet(rows, queryId) });
      } catch (error) {
        return reply(response, 200, failure(error, queryId));
      } finally {
        open.running.delete(queryId);
      }
    }
    if (path === "/queries/v1/abort-request" || /^\/queries\/[^/]+\/abort-request$/.test(path)) {
      const { requestId } = JSON.parse(body || "{}") as { requestId?: string };
      for (const [id, running] of open.running) {
        if (path.includes(id) || running.requestId === requestId) {
          aborted.push(running.sql);
          running.cancel();
        }
      }
      return reply(response, 200, { success: true, data: null });
    }
    if (path === "/session") {
      await open.session.close();
      sessions.delete(token ?? "");
      return reply(response, 200, { success: true, data: null });
    }
    return reply(response, 404, { success: false, message: `no such endpoint ${path}` });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(wire, { url: `http://127.0.0.1:${port}` });
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return (request.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString("utf8");
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

function failure(error: unknown, queryId?: string): unknown {
  const snowflake = error instanceof SnowflakeError ? error : undefined;
  return {
    success: false,
    code: snowflake?.code ?? "000603",
    message: error instanceof Error ? error.message : String(error),
    data: { sqlState: snowflake?.sqlState ?? "XX000", ...(queryId ? { queryId } : {}) },
  };
}

/** The rows as the JSON result format: every column text, as the history's columns are. */
function resultSet(rows: readonly SnowflakeRow[], queryId: string): unknown {
  const columns = Object.keys(rows[0] ?? { status: "" });
  return {
    parameters: [],
    rowtype: columns.map((name) => ({
      name,
      type: "text",
      nullable: true,
      length: 16_777_216,
      byteLength: 16_777_216,
      scale: null,
      precision: null,
      database: "",
      schema: "",
      table: "",
    })),
    rowset: rows.map((row) =>
      columns.map((column) => (row[column] === undefined ? null : String(row[column]))),
    ),
    total: rows.length,
    returned: rows.length,
    queryId,
    queryResultFormat: "json",
  };
}

/** What the login request says about who signs in, as the scripted account's connect takes it. */
function credentialsOf(data: Record<string, unknown>) {
  const account = String(data.ACCOUNT_NAME ?? "");
  const username = String(data.LOGIN_NAME ?? "");
  if (data.AUTHENTICATOR === "SNOWFLAKE_JWT") {
    // the scripted account checks key pairs by fingerprint: the JWT was verified above, so the
    // key it was signed with is the admin's; hand over a well-formed stand-in PEM
    return { account, username, signIn: { kind: "pat" as const, token: "" } };
  }
  return {
    account,
    username,
    signIn: { kind: "pat" as const, token: String(data.TOKEN ?? data.PASSWORD ?? "") },
  };
}

/**
 * Checks a key-pair login: a JWT whose issuer is ACCOUNT.USER.SHA256:<fingerprint> and whose
 * RS256 signature verifies with the admin's public key. Answers the problem, or undefined.
 */
function checkJwt(data: Record<string, unknown>, adminPublicKey: string | undefined): string | undefined {
  if (data.AUTHENTICATOR !== "SNOWFLAKE_JWT") return undefined;
  const jwt = String(data.TOKEN ?? "");
  const [header, payload, signature] = jwt.split(".");
  if (!header || !payload || !signature) return "JWT token is invalid.";
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as {
    iss?: string;
    sub?: string;
  };
  if (adminPublicKey === undefined) return undefined;
  const key = adminPublicKey.includes("-----")
    ? createPublicKey(adminPublicKey)
    : createPublicKey({ key: Buffer.from(adminPublicKey, "base64"), format: "der", type: "spki" });
  const der = key.export({ type: "spki", format: "der" });
  const fingerprint = `SHA256:${createHash("sha256").update(der).digest("base64")}`;
  if (!claims.iss?.endsWith(`.${fingerprint}`)) return "JWT token is invalid.";
  const valid = verify(
    "sha256",
    Buffer.from(`${header}.${payload}`),
    key,
    Buffer.from(signature, "base64url"),
  );
  return valid ? undefined : "JWT token is invalid.";
}
