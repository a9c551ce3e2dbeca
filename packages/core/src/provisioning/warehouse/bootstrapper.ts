import type { WarehouseConfig } from "../../config/warehouse-schema";
import { redact, silentLogger } from "../../logging";
import { TOOL_NAMES, type ToolName } from "../../names";
import type {
  ServiceUserKeyReport,
  WarehouseBootstrapDeps,
  WarehouseBootstrapper,
  WarehouseBootstrapRequest,
  WarehouseBootstrapResult,
  WarehouseStatementReport,
} from "./contract";
import {
  type FailedStatement,
  WarehouseBootstrapError,
  WarehouseHistoryChangedError,
  WarehouseUnavailableError,
} from "./errors";
import { type AppliedStatement, latestApplications, readHistorySql, recordSql } from "./history";
import { adminPrivateKeyPem, generateServiceKeyPair, type KeyPair, keyPairOfStored } from "./keys";
import { type WarehouseNames, warehouseNames } from "./names";
import { type PlannedKeys, type SystemRole, type WarehouseStatement, warehousePlan } from "./plan";
import {
  SNOWFLAKE_OBJECT_DOES_NOT_EXIST,
  type SnowflakeBind,
  type SnowflakeCredentials,
  SnowflakeError,
  type SnowflakeRow,
  type SnowflakeSession,
} from "./session";

/**
 * The warehouse bootstrapper of a (parsed) warehouse section:
 * 1. signs in as the admin (its key decrypted here, or its PAT), within connectTimeoutSeconds;
 * 2. reads the history table (none yet: nothing applied);
 * 3. resolves each service user's key pair: the stored private key, or a new one (stored before any
 *    statement uses it), or on a rotation a new one stored once Snowflake has it;
 * 4. refuses, before running anything, when a versioned statement recorded as applied reads
 *    differently now (WarehouseHistoryChangedError, naming the versions);
 * 5. runs each pending statement, one at a time, as its role, each within statementTimeoutSeconds,
 *    and records it; the first failure stops the run (WarehouseBootstrapError with the statement's
 *    number and Snowflake's code and message; WarehouseUnavailableError when it was the network
 *    or a timeout, which a retry resumes).
 * A dry run does 1, 2 and the reading part of 3, and answers what would run. Nothing it logs or
 * throws carries a secret or a key: public keys show as fingerprints, and every message passes a
 * redactor that knows each secret the run handled.
 */
export function createWarehouseBootstrapper(
  config: WarehouseConfig,
  deps: WarehouseBootstrapDeps,
): WarehouseBootstrapper {
  const names = warehouseNames(config);
  const logger = deps.logger ?? silentLogger;
  const now = deps.now ?? (() => new Date());
  const timeouts = {
    connectMs: config.connectTimeoutSeconds * 1000,
    statementMs: config.statementTimeoutSeconds * 1000,
  };

  return async (request: WarehouseBootstrapRequest = {}) => {
    const dryRun = request.dryRun ?? false;
    const secrets = new SecretsSeen();
    const credentials = await adminCredentials(config, names, deps.secrets, secrets);
    const runner = await SessionRunner.open(credentials, deps.connect, timeouts, secrets, names);
    try {
      const history = await runner.readHistory();
      const keys = await resolveKeys(names, deps, request, secrets, dryRun);
      const plan = warehousePlan(config, keys.planned);
      refuseChangedStatements(plan, history, names);
      if (!dryRun) await keys.storeNew();

      const reports: WarehouseStatementReport[] = [];
      for (const [index, statement] of plan.entries()) {
        const number = index + 1;
        const recorded = history.get(statement.version);
        const pending = recorded === undefined || recorded.checksum !== statement.checksum;
        const base = { number, version: statement.version, summary: statement.summary, kind: statement.kind };
        if (!pending) {
          reports.push({ ...base, state: "skipped", appliedAt: recorded.appliedAt });
        } else if (dryRun) {
          reports.push({ ...base, state: "would-apply" });
        } else {
          refuseWithoutTime(request.deadline, now, timeouts.statementMs, { ...base, total: plan.length });
          const appliedAt = await runner.apply(statement, { number, total: plan.length }, now);
          if (statement.keyOf) await keys.storeRotated(statement.keyOf);
          logger.info("warehouse statement applied", {
            number,
            version: statement.version,
            summary: statement.summary,
            sql: secrets.redact(statement.displaySql),
          });
          reports.push({ ...base, state: "applied", appliedAt });
        }
      }

      const planned = new Set(plan.map((s) => s.version));
      const result: WarehouseBootstrapResult = {
        account: names.account,
        dryRun,
        statements: reports,
        counts: {
          applied: reports.filter((r) => r.state === "applied").length,
          skipped: reports.filter((r) => r.state === "skipped").length,
          wouldApply: reports.filter((r) => r.state === "would-apply").length,
        },
        keys: keys.reports,
        notPlanned: [...history.values()]
          .filter((applied) => !planned.has(applied.version))
          .map(({ version, appliedAt }) => ({ version, appliedAt })),
      };
      logger.info(dryRun ? "warehouse bootstrap planned" : "warehouse bootstrapped", {
        account: names.account,
        ...result.counts,
      });
      return result;
    } finally {
      await runner.close();
    }
  };
}

/** Every secret value a run has handled, so that no message or log line can carry one. */
class SecretsSeen {
  private readonly values: string[] = [];

  add(value: string): void {
    // the value, and each line of it: a PEM leaks line by line as easily as whole
    for (const form of [value, ...value.split(/\r?\n|\\n/)]) {
      const trimmed = form.trim();
      if (trimmed.length >= 4 && !trimmed.startsWith("-----")) this.values.push(trimmed);
    }
  }

  redact(text: string): string {
    return redact(text, this.values);
  }
}

/** The admin's sign-in: its key (decrypted with node:crypto when it is encrypted) or its PAT. */
async function adminCredentials(
  config: WarehouseConfig,
  names: WarehouseNames,
  read: (name: string) => Promise<string>,
  secrets: SecretsSeen,
): Promise<SnowflakeCredentials> {
  const { auth } = config.admin;
  const base = { account: names.account, username: names.adminUser };
  if (auth.kind === "pat") {
    const token = (await read(auth.tokenSecret)).trim();
    secrets.add(token);
    return { ...base, signIn: { kind: "pat", token } };
  }
  const pem = await read(auth.privateKeySecret);
  secrets.add(pem);
  let passphrase: { secret: string; value: string } | undefined;
  if (auth.passphraseSecret) {
    passphrase = { secret: auth.passphraseSecret, value: await read(auth.passphraseSecret) };
    secrets.add(passphrase.value);
  }
  const privateKeyPem = adminPrivateKeyPem(auth.privateKeySecret, pem, passphrase);
  secrets.add(privateKeyPem);
  return { ...base, signIn: { kind: "key-pair", privateKeyPem } };
}

interface ResolvedKeys {
  readonly planned: PlannedKeys;
  readonly reports: ServiceUserKeyReport[];
  /** stores the key pairs made for users that had none (before any statement uses them) */
  storeNew(): Promise<void>;
  /** stores a rotated key once Snowflake has it (the previous one stays valid meanwhile) */
  storeRotated(tool: ToolName): Promise<void>;
}

/**
 * Each service user's key: the stored private key's pair; a new pair when none is stored (a dry
 * run only says it would make one); on a rotation a new pair, the stored one kept valid as
 * RSA_PUBLIC_KEY_2.
 */
async function resolveKeys(
  names: WarehouseNames,
  deps: WarehouseBootstrapDeps,
  request: WarehouseBootstrapRequest,
  secrets: SecretsSeen,
  dryRun: boolean,
): Promise<ResolvedKeys> {
  const rotate = new Set(request.rotateKeys ?? []);
  const planned: PlannedKeys = {};
  const reports: ServiceUserKeyReport[] = [];
  const newPairs = new Map<ToolName, KeyPair>();
  const rotatedPairs = new Map<ToolName, KeyPair>();
  for (const tool of TOOL_NAMES) {
    const { user, privateKeySecret } = names.users[tool];
    const storedPem = await deps.keys.read(privateKeySecret);
    if (storedPem !== undefined) secrets.add(storedPem);
    const stored = storedPem === undefined ? undefined : keyPairOfStored(privateKeySecret, storedPem);
    const report = { tool, user, privateKeySecret };
    if (dryRun) {
      if (stored && rotate.has(tool)) {
        reports.push({ ...report, state: "would-rotate", fingerprint: stored.fingerprint });
      } else if (stored) {
        planned[tool] = stored;
        reports.push({ ...report, state: "kept", fingerprint: stored.fingerprint });
      } else {
        reports.push({ ...report, state: "would-generate" });
      }
      continue;
    }
    if (stored && !rotate.has(tool)) {
      planned[tool] = stored;
      reports.push({ ...report, state: "kept", fingerprint: stored.fingerprint });
      continue;
    }
    const fresh = await generateServiceKeyPair();
    secrets.add(fresh.privateKeyPem);
    if (stored) {
      planned[tool] = {
        ...fresh,
        previous: { publicKey: stored.publicKey, fingerprint: stored.fingerprint },
      };
      rotatedPairs.set(tool, fresh);
      reports.push({ ...report, state: "rotated", fingerprint: fresh.fingerprint });
    } else {
      planned[tool] = fresh;
      newPairs.set(tool, fresh);
      reports.push({ ...report, state: "generated", fingerprint: fresh.fingerprint });
    }
  }
  return {
    planned,
    reports,
    async storeNew() {
      for (const [tool, pair] of newPairs) {
        await deps.keys.write(names.users[tool].privateKeySecret, pair.privateKeyPem);
      }
    },
    async storeRotated(tool) {
      const pair = rotatedPairs.get(tool);
      if (!pair) return;
      await deps.keys.write(names.users[tool].privateKeySecret, pair.privateKeyPem);
      rotatedPairs.delete(tool);
    },
  };
}

/**
 * Stops before a statement that could not finish by the deadline (a Lambda's end): what ran is
 * recorded, so the state machine's retry resumes here instead of the function being killed mid-way.
 */
function refuseWithoutTime(
  deadline: number | undefined,
  now: () => Date,
  statementMs: number,
  statement: FailedStatement & { readonly total: number },
): void {
  if (deadline === undefined || now().getTime() + statementMs <= deadline) return;
  throw new WarehouseUnavailableError(
    `the warehouse bootstrap stopped before statement ${statement.number} of ${statement.total} (${statement.version}: ${statement.summary}): ` +
      `not enough time left in this run for a statement that may take ${statementMs / 1000} s; ` +
      `the ${statement.number - 1} before it are applied and recorded: run again to resume`,
    { statement: plain(statement), code: "DEADLINE" },
  );
}

/** Refuses a run in which a versioned statement recorded as applied now reads differently. */
function refuseChangedStatements(
  plan: readonly WarehouseStatement[],
  history: ReadonlyMap<string, AppliedStatement>,
  names: WarehouseNames,
): void {
  const changed = plan.filter((statement) => {
    const recorded = history.get(statement.version);
    return (
      statement.kind === "versioned" && recorded !== undefined && recorded.checksum !== statement.checksum
    );
  });
  if (changed.length === 0) return;
  const versions = changed.map((s) => s.version);
  throw new WarehouseHistoryChangedError(
    `the warehouse bootstrap refuses to run: statement${changed.length === 1 ? "" : "s"} ${versions.join(", ")} ` +
      `(${changed.map((s) => s.summary).join("; ")}) ${changed.length === 1 ? "was" : "were"} applied to ${names.account} ` +
      `and now read${changed.length === 1 ? "s" : ""} differently (${names.history.qualified} records ${changed.length === 1 ? "its" : "their"} checksum). ` +
      "Tapestry never re-runs or rewrites an applied statement, nor renames or drops what it created: restore the config " +
      "that produced it (a name or the prefix changed?), or make the change in Snowflake by hand. Nothing was run.",
    versions,
  );
}

const TIMED_OUT: unique symbol = Symbol("timed out");

/** Resolves with the work's value, or TIMED_OUT after `ms`; `onLate` gets a value that arrives too late. */
function within<T>(work: Promise<T>, ms: number, onLate?: (value: T) => void): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  let late = false;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => {
      late = true;
      resolve(TIMED_OUT);
    }, ms);
  });
  const guarded = work.then(
    (value) => {
      if (late) onLate?.(value);
      return value;
    },
    (error: unknown): T | typeof TIMED_OUT => {
      if (late) return TIMED_OUT;
      throw error;
    },
  );
  return Promise.race([guarded, deadline]).finally(() => clearTimeout(timer));
}

interface Timeouts {
  readonly connectMs: number;
  readonly statementMs: number;
}

/** The admin's session: one statement at a time, each as its role and within its timeout. */
class SessionRunner {
  private role: SystemRole | undefined;
  private closed = false;

  private constructor(
    private readonly session: SnowflakeSession,
    private readonly timeouts: Timeouts,
    private readonly secrets: SecretsSeen,
    private readonly names: WarehouseNames,
  ) {}

  static async open(
    credentials: SnowflakeCredentials,
    connect: WarehouseBootstrapDeps["connect"],
    timeouts: Timeouts,
    secrets: SecretsSeen,
    names: WarehouseNames,
  ): Promise<SessionRunner> {
    const who = `${names.adminUser} on Snowflake account ${names.account}`;
    let session: SnowflakeSession | typeof TIMED_OUT;
    try {
      // a session that arrives after the timeout is closed at once: nothing is left signed in
      session = await within(
        connect(credentials, { timeoutMs: timeouts.connectMs }),
        timeouts.connectMs,
        (late) => {
          void late.close();
        },
      );
    } catch (error) {
      throw failure(error, secrets, `could not sign in as ${who}`, undefined);
    }
    if (session === TIMED_OUT) {
      throw new WarehouseUnavailableError(
        `could not sign in as ${who} within ${timeouts.connectMs / 1000} s (warehouse.connectTimeoutSeconds): check the account identifier and the network, then run again`,
      );
    }
    return new SessionRunner(session, timeouts, secrets, names);
  }

  /** The latest application of each version; an account without the history table has applied nothing. */
  async readHistory(): Promise<ReadonlyMap<string, AppliedStatement>> {
    const table = this.names.history.qualified;
    let rows: readonly SnowflakeRow[];
    try {
      await this.useRole("SYSADMIN", undefined);
      rows = await this.run(
        readHistorySql(this.names.history),
        [],
        undefined,
        `read the bootstrap's history ${table}`,
      );
    } catch (error) {
      if (error instanceof WarehouseBootstrapError && error.code === SNOWFLAKE_OBJECT_DOES_NOT_EXIST)
        return new Map();
      throw error;
    }
    this.historyExists = true;
    const parsed = latestApplications(rows, table);
    if ("problem" in parsed) {
      throw new WarehouseBootstrapError(
        `the bootstrap's history cannot be read: ${parsed.problem}; it is Tapestry's own table: restore it from Time Travel, or drop it to have every statement run again (all are re-runnable)`,
      );
    }
    return parsed.latest;
  }

  /** Whether the history table exists (it does once read, or once the statement creating it ran). */
  private historyExists = false;
  /** applications waiting for the history table (the statements that create it) */
  private readonly unrecorded: { record: ReturnType<typeof recordSql>; number: number }[] = [];

  /** Runs one statement as its role, then records it; answers when it was recorded as applied. */
  async apply(
    statement: WarehouseStatement,
    place: { readonly number: number; readonly total: number },
    now: () => Date,
  ): Promise<string> {
    const failed: FailedStatement & { readonly total: number } = {
      number: place.number,
      version: statement.version,
      summary: statement.summary,
      total: place.total,
    };
    if (statement.placeholder) {
      // a programming error: keys are resolved before anything runs
      throw new WarehouseBootstrapError(
        `statement ${place.number} (${statement.version}) has no key to set`,
        {
          statement: failed,
        },
      );
    }
    await this.useRole(statement.role, failed);
    await this.run(statement.sql, [], failed, `statement ${place.number}`);
    const appliedAt = now().toISOString();
    this.unrecorded.push({
      number: place.number,
      record: recordSql(this.names.history, {
        version: statement.version,
        checksum: statement.checksum,
        summary: statement.summary,
        appliedAt,
      }),
    });
    if (statement.createsHistory) this.historyExists = true;
    // before the table exists, what ran is recorded once it does (a failure in between re-runs it: harmless)
    if (this.historyExists) {
      await this.useRole("SYSADMIN", failed);
      for (const { record, number } of this.unrecorded.splice(0)) {
        await this.run(
          record.sql,
          record.binds,
          failed,
          `record statement ${number} in ${this.names.history.qualified}`,
        );
      }
    }
    return appliedAt;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.close();
  }

  private async useRole(
    role: SystemRole,
    statement: (FailedStatement & { total: number }) | undefined,
  ): Promise<void> {
    if (this.role === role) return;
    await this.run(
      `USE ROLE ${role}`,
      [],
      statement,
      `use role ${role} (grant it to ${this.names.adminUser}: the bootstrap runs each statement as the system role that owns what it does)`,
    );
    this.role = role;
  }

  private async run(
    sql: string,
    binds: readonly SnowflakeBind[],
    statement: (FailedStatement & { total: number }) | undefined,
    doing: string,
  ): Promise<readonly SnowflakeRow[]> {
    const ms = this.timeouts.statementMs;
    let rows: readonly SnowflakeRow[] | typeof TIMED_OUT;
    try {
      rows = await within(this.session.execute(sql, { binds, timeoutMs: ms }), ms);
    } catch (error) {
      throw failure(error, this.secrets, stoppedAt(statement, doing), statement);
    }
    if (rows === TIMED_OUT) {
      // the statement may still be running: the session is closed, which cancels it
      await this.close();
      throw new WarehouseUnavailableError(
        `${stoppedAt(statement, doing)}: no answer within ${ms / 1000} s (warehouse.statementTimeoutSeconds); the session was closed${afterwards(statement, true)}`,
        { ...(statement ? { statement: plain(statement) } : {}), code: "TIMEOUT" },
      );
    }
    return rows;
  }
}

function plain(statement: FailedStatement): FailedStatement {
  return { number: statement.number, version: statement.version, summary: statement.summary };
}

function stoppedAt(statement: (FailedStatement & { total: number }) | undefined, doing: string): string {
  if (!statement) return `the warehouse bootstrap could not ${doing}`;
  const at = `the warehouse bootstrap stopped at statement ${statement.number} of ${statement.total} (${statement.version}: ${statement.summary})`;
  return doing === `statement ${statement.number}` ? at : `${at} trying to ${doing}`;
}

function afterwards(
  statement: (FailedStatement & { total: number }) | undefined,
  transient: boolean,
): string {
  if (!statement) return transient ? ": run again" : "";
  const before = statement.number - 1;
  const after = statement.total - statement.number;
  return `; the ${before} statement${before === 1 ? "" : "s"} before it are applied and recorded, the ${after} after it did not run: fix the cause and run again (applied statements are not run again)`;
}

/** A session's failure as the named error a caller acts on, with Snowflake's code and message, redacted. */
function failure(
  error: unknown,
  secrets: SecretsSeen,
  context: string,
  statement: (FailedStatement & { total: number }) | undefined,
): WarehouseBootstrapError {
  if (error instanceof WarehouseBootstrapError) return error;
  const message = secrets.redact(error instanceof Error ? error.message : String(error));
  const snowflake = error instanceof SnowflakeError ? error : undefined;
  const code = snowflake?.code;
  const said = code ? `Snowflake ${code}: ${message}` : message;
  const details = {
    ...(statement ? { statement: plain(statement) } : {}),
    ...(code ? { code } : {}),
    ...(snowflake?.sqlState ? { sqlState: snowflake.sqlState } : {}),
    snowflakeMessage: message,
  };
  const transient = snowflake?.transient ?? false;
  const text = `${context}: ${said}${afterwards(statement, transient)}`;
  // the original error is not kept as the cause: its message is the unredacted one
  return snowflake?.transient
    ? new WarehouseUnavailableError(text, details)
    : new WarehouseBootstrapError(text, details);
}
