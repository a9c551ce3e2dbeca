import type { ConnectionOptions } from "snowflake-sdk";
import {
  type SnowflakeConnect,
  type SnowflakeCredentials,
  SnowflakeError,
  type SnowflakeRow,
} from "../../provisioning/warehouse/session";

export interface SnowflakeConnectOptions {
  /**
   * Where the account answers, for tests on loopback only (default: the SDK derives
   * https://<account>.snowflakecomputing.com from the account identifier).
   */
  readonly accessUrl?: string;
}

/** The SDK's driver codes for a failure that may pass: no connection, a non-200 answer, a dropped large result. */
const TRANSIENT_DRIVER_CODES = new Set(["401001", "401002", "402001", "402002"]);

/** The SDK's connection options for a sign-in: key pair (JWT) with the PEM inline, or a programmatic access token. */
export function snowflakeConnectionOptions(
  credentials: SnowflakeCredentials,
  timeoutMs: number,
  options: SnowflakeConnectOptions = {},
): ConnectionOptions {
  const base: ConnectionOptions = {
    account: credentials.account,
    username: credentials.username,
    application: "Tapestry",
    // how long a request may wait for an answer; the bootstrapper also bounds the whole sign-in
    timeout: timeoutMs,
    // a few login retries, not the SDK's default of retrying for minutes after our timeout
    sfRetryMaxLoginRetries: 2,
    ...(options.accessUrl ? { accessUrl: options.accessUrl } : {}),
  };
  return credentials.signIn.kind === "key-pair"
    ? // snowflake-sdk 2.x ignores privateKeyPass for an inline key: the bootstrapper decrypted it
      { ...base, authenticator: "SNOWFLAKE_JWT", privateKey: credentials.signIn.privateKeyPem }
    : { ...base, authenticator: "PROGRAMMATIC_ACCESS_TOKEN", token: credentials.signIn.token };
}

/** An SDK failure as the port's SnowflakeError: Snowflake's code (as text) and SQL state, and whether it may pass. */
export function toSnowflakeError(error: unknown): SnowflakeError {
  if (error instanceof SnowflakeError) return error;
  const source = error instanceof Error ? error : new Error(String(error));
  const { code, sqlState } = source as { code?: unknown; sqlState?: unknown };
  const codeText =
    typeof code === "number" ? String(code).padStart(6, "0") : typeof code === "string" ? code : undefined;
  const transient =
    (codeText !== undefined && TRANSIENT_DRIVER_CODES.has(codeText)) ||
    (typeof code === "string" && /^E(CONNRESET|CONNREFUSED|TIMEDOUT|AI_AGAIN|PIPE)$|^ENOTFOUND$/.test(code));
  // the SDK's error is not kept as the cause: its message may repeat what it was given
  return new SnowflakeError(source.message, codeText, typeof sqlState === "string" ? sqlState : undefined, {
    transient,
  });
}

/**
 * The session port on snowflake-sdk + snowflake-promise. Each statement is cancelled when it has
 * not answered by its timeout; close() destroys the connection. The SDK's own logging is turned
 * off: it writes to ./snowflake.log by default, SQL text included.
 */
export function createSnowflakeConnect(options: SnowflakeConnectOptions = {}): SnowflakeConnect {
  return async (credentials, { timeoutMs }) => {
    const [{ default: sdk }, { promisifyConnection }] = await Promise.all([
      import("snowflake-sdk"),
      import("snowflake-promise"),
    ]);
    sdk.configure({ logLevel: "OFF" });
    const connection = promisifyConnection(
      sdk.createConnection(snowflakeConnectionOptions(credentials, timeoutMs, options)),
    );
    try {
      await connection.connect();
    } catch (error) {
      await connection.destroy().catch(() => undefined);
      throw toSnowflakeError(error);
    }
    return {
      async execute(sql, { binds = [], timeoutMs: statementMs }) {
        const { statement, resultsPromise } = connection.execute<SnowflakeRow>({
          sqlText: sql,
          binds: [...binds],
        });
        const timer = setTimeout(() => {
          statement.cancel().catch(() => undefined);
        }, statementMs);
        try {
          return (await resultsPromise) ?? [];
        } catch (error) {
          throw toSnowflakeError(error);
        } finally {
          clearTimeout(timer);
        }
      },
      async close() {
        await connection.destroy().catch(() => undefined);
      },
    };
  };
}
