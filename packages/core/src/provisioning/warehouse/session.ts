import { TapestryError } from "../../errors";

/**
 * The port to a Snowflake account: a session that runs one statement at a time. The AWS Lambda and
 * the CLI open it through snowflake-promise (adapters/snowflake); tests and the embedded control
 * plane through a scripted session that answers what a real one would.
 */

/** How the admin signs in: key pair (JWT, a PEM private key already decrypted) or a programmatic access token. */
export type SnowflakeSignIn =
  | { readonly kind: "key-pair"; readonly privateKeyPem: string }
  | { readonly kind: "pat"; readonly token: string };

export interface SnowflakeCredentials {
  /** the account identifier, e.g. "myorg-myaccount" */
  readonly account: string;
  readonly username: string;
  readonly signIn: SnowflakeSignIn;
}

/** A value bound to a `?` of a statement. */
export type SnowflakeBind = string | number;

/** One row as the driver answers it: column name (upper case, as Snowflake names columns) -> value. */
export type SnowflakeRow = Readonly<Record<string, unknown>>;

export interface SnowflakeSession {
  /**
   * Runs one statement and answers its rows. Fails with SnowflakeError (Snowflake's code and
   * message) when Snowflake refuses it. Callers bound it with their own timeout too: a statement
   * that has not answered by `timeoutMs` is cancelled where the driver can.
   */
  execute(
    sql: string,
    options: { readonly binds?: readonly SnowflakeBind[]; readonly timeoutMs: number },
  ): Promise<readonly SnowflakeRow[]>;
  /** Ends the session; never throws. */
  close(): Promise<void>;
}

/** Opens a session; `timeoutMs` bounds the sign-in (a connect without network never ends by itself). */
export type SnowflakeConnect = (
  credentials: SnowflakeCredentials,
  options: { readonly timeoutMs: number },
) => Promise<SnowflakeSession>;

/**
 * Snowflake refused a statement or a sign-in: its error code (e.g. "002003" object does not exist,
 * "003001" insufficient privileges, "390144" JWT invalid) and SQL state, with its message. Sessions
 * throw it; the bootstrapper turns it into a WarehouseBootstrapError naming the statement.
 */
export class SnowflakeError extends TapestryError {
  override readonly name = "SnowflakeError";
  /** true when the failure may pass (the network, a dropped connection): worth a retry */
  readonly transient: boolean;
  constructor(
    message: string,
    readonly code?: string,
    readonly sqlState?: string,
    options?: { cause?: unknown; transient?: boolean },
  ) {
    super(message, options);
    this.transient = options?.transient ?? false;
  }
}

/** Snowflake's code for "object does not exist or not authorized" (SQL compilation error). */
export const SNOWFLAKE_OBJECT_DOES_NOT_EXIST = "002003";
