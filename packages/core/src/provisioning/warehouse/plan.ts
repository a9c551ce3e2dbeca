import type { WarehouseConfig } from "../../config/warehouse-schema";
import { TOOL_NAMES, type ToolName } from "../../names";
import { type WarehouseNames, warehouseNames } from "./names";
import { checksumOf, literalList, stringLiteral } from "./sql";

/**
 * The bootstrap plan: an ordered list of statements, each re-runnable (CREATE ... IF NOT EXISTS,
 * GRANT, ALTER ... SET), after the least-privilege pattern dbt documents for Snowflake: a loader
 * role owning the raw database (Airbyte), a transformer role reading raw (its FUTURE schemas,
 * tables and views too) and owning analytics (dbt), a reporter role reading analytics (Grouparoo),
 * one TYPE = SERVICE user per tool with its DEFAULT_ROLE, DEFAULT_WAREHOUSE and RSA public key.
 *
 * Two kinds of statement, as migration tools call them:
 * - versioned: applied once; its text may never change afterwards (the bootstrap refuses, naming
 *   the version). Versions are identities: never renumber one, never reuse one; add a new one.
 * - repeatable: sets what a user tunes (warehouse size, credit quota, allowed addresses, a user's
 *   key); applied again whenever what it sets changes.
 * Each statement runs as the system role that owns what it does (USERADMIN creates roles and
 * users, SYSADMIN warehouses and databases, SECURITYADMIN grants, ACCOUNTADMIN resource monitors).
 */

/** The system roles statements run as; the admin user must have been granted them. */
export type SystemRole = "SYSADMIN" | "SECURITYADMIN" | "USERADMIN" | "ACCOUNTADMIN";

export interface WarehouseStatement {
  readonly version: string;
  readonly kind: "versioned" | "repeatable";
  /** the role the statement runs as */
  readonly role: SystemRole;
  /** one line, no secret, no key */
  readonly summary: string;
  /** what is executed */
  readonly sql: string;
  /** what is printed and logged: `sql` with every public key shown as its fingerprint */
  readonly displaySql: string;
  /** SHA-256 of what the statement sets (the text, or for a key statement the key's fingerprint) */
  readonly checksum: string;
  /** set on a key statement: whose key it sets */
  readonly keyOf?: ToolName;
  /** true for a key statement whose key is not known yet (a dry run, or the reviewed plan file) */
  readonly placeholder?: boolean;
  /** true for the statement that creates the history table: what ran before it is recorded once it has */
  readonly createsHistory?: boolean;
}

/** A service user's public key as the plan sets it. */
export interface PlannedKey {
  /** base64 of the DER (SPKI) public key: RSA_PUBLIC_KEY's value, PEM without its delimiters */
  readonly publicKey: string;
  /** "SHA256:<base64>", Snowflake's RSA_PUBLIC_KEY_FP */
  readonly fingerprint: string;
  /** on a rotation: the key that stays valid as RSA_PUBLIC_KEY_2 */
  readonly previous?: { readonly publicKey: string; readonly fingerprint: string };
}

export type PlannedKeys = Partial<Record<ToolName, PlannedKey>>;

const COMMENT = (what: string) => `COMMENT = ${stringLiteral(`Tapestry: ${what}`)}`;

/** What the resource monitor does at each share of the monthly quota. */
export const RESOURCE_MONITOR_TRIGGERS =
  "TRIGGERS ON 90 PERCENT DO NOTIFY ON 100 PERCENT DO SUSPEND ON 110 PERCENT DO SUSPEND_IMMEDIATE";

interface Draft {
  readonly version: string;
  readonly kind?: "versioned" | "repeatable";
  readonly role: SystemRole;
  readonly summary: string;
  readonly sql: string;
  readonly displaySql?: string;
  readonly checksumText?: string;
  readonly keyOf?: ToolName;
  readonly placeholder?: boolean;
  readonly createsHistory?: boolean;
}

function statement(draft: Draft): WarehouseStatement {
  return {
    version: draft.version,
    kind: draft.kind ?? "versioned",
    role: draft.role,
    summary: draft.summary,
    sql: draft.sql,
    displaySql: draft.displaySql ?? draft.sql,
    checksum: checksumOf(draft.checksumText ?? draft.sql),
    ...(draft.keyOf === undefined ? {} : { keyOf: draft.keyOf }),
    ...(draft.placeholder ? { placeholder: true } : {}),
    ...(draft.createsHistory ? { createsHistory: true } : {}),
  };
}

/**
 * The plan of a (parsed) warehouse section, in execution order. `keys` gives each service user's
 * public key; a user without one gets a placeholder key statement (for dry runs and the reviewed
 * plan file), which the bootstrapper never executes.
 */
export function warehousePlan(warehouse: WarehouseConfig, keys: PlannedKeys = {}): WarehouseStatement[] {
  const names = warehouseNames(warehouse);
  return [
    ...historyStatements(names),
    ...roleStatements(names),
    ...warehouseStatements(names, warehouse),
    ...databaseStatements(names),
    ...userStatements(names),
    ...keyStatements(names, keys),
    ...resourceMonitorStatements(names, warehouse),
    ...networkPolicyStatements(names, warehouse),
  ];
}

/** 1.01-1.03: where the bootstrap records what it applied (SYSADMIN owns it). */
function historyStatements({ history }: WarehouseNames): WarehouseStatement[] {
  return [
    statement({
      version: "1.01",
      role: "SYSADMIN",
      summary: `create database ${history.database} (the bootstrap's history)`,
      sql: `CREATE DATABASE IF NOT EXISTS ${history.database} ${COMMENT("what the warehouse bootstrap applied")}`,
    }),
    statement({
      version: "1.02",
      role: "SYSADMIN",
      summary: `create schema ${history.database}.${history.schema}`,
      sql: `CREATE SCHEMA IF NOT EXISTS ${history.database}.${history.schema}`,
    }),
    statement({
      version: "1.03",
      role: "SYSADMIN",
      summary: `create table ${history.qualified} (version, checksum, applied_at)`,
      sql: `CREATE TABLE IF NOT EXISTS ${history.qualified} (VERSION VARCHAR NOT NULL, CHECKSUM VARCHAR NOT NULL, SUMMARY VARCHAR NOT NULL, APPLIED_AT TIMESTAMP_TZ NOT NULL)`,
      createsHistory: true,
    }),
  ];
}

const ROLE_PURPOSE = {
  loader: "loads raw data (Airbyte); owns the raw database",
  transformer: "reads raw data and builds analytics (dbt); owns the analytics database",
  reporter: "reads analytics (Grouparoo)",
} as const;

/** 1.04-1.09: the three roles, each granted to SYSADMIN so the account's role hierarchy rolls up. */
function roleStatements({ roles }: WarehouseNames): WarehouseStatement[] {
  const kinds = ["loader", "transformer", "reporter"] as const;
  return [
    ...kinds.map((kind, i) =>
      statement({
        version: `1.0${4 + i}`,
        role: "USERADMIN",
        summary: `create role ${roles[kind]} (${kind})`,
        sql: `CREATE ROLE IF NOT EXISTS ${roles[kind]} ${COMMENT(ROLE_PURPOSE[kind])}`,
      }),
    ),
    ...kinds.map((kind, i) =>
      statement({
        version: `1.0${7 + i}`,
        role: "SECURITYADMIN",
        summary: `grant role ${roles[kind]} to role SYSADMIN`,
        sql: `GRANT ROLE ${roles[kind]} TO ROLE SYSADMIN`,
      }),
    ),
  ];
}

/**
 * 1.10-1.13: the warehouse, created at the smallest size and suspended (it costs nothing until a
 * tool uses it), then sized and given its auto-suspend by a repeatable statement, so a change of
 * size is an ALTER, never a changed CREATE.
 */
function warehouseStatements(names: WarehouseNames, warehouse: WarehouseConfig): WarehouseStatement[] {
  const wh = names.warehouse;
  return [
    statement({
      version: "1.10",
      role: "SYSADMIN",
      summary: `create warehouse ${wh} (XSMALL, suspended)`,
      sql: `CREATE WAREHOUSE IF NOT EXISTS ${wh} WITH WAREHOUSE_SIZE = XSMALL AUTO_SUSPEND = 60 AUTO_RESUME = TRUE INITIALLY_SUSPENDED = TRUE ${COMMENT("runs the pipelines' loads, models and syncs")}`,
    }),
    statement({
      version: "R1.01",
      kind: "repeatable",
      role: "SYSADMIN",
      summary: `set warehouse ${wh} to ${warehouse.size}, suspending after ${warehouse.autoSuspendSeconds} s idle`,
      sql: `ALTER WAREHOUSE ${wh} SET WAREHOUSE_SIZE = ${warehouse.size} AUTO_SUSPEND = ${warehouse.autoSuspendSeconds} AUTO_RESUME = TRUE`,
    }),
    ...(["loader", "transformer", "reporter"] as const).map((kind, i) =>
      statement({
        version: `1.${11 + i}`,
        role: "SECURITYADMIN",
        summary: `grant usage on warehouse ${wh} to role ${names.roles[kind]}`,
        sql: `GRANT USAGE ON WAREHOUSE ${wh} TO ROLE ${names.roles[kind]}`,
      }),
    ),
  ];
}

/** Read access to a database, its schemas, tables and views, present and FUTURE. */
function readGrants(database: string, role: string, firstVersion: number): WarehouseStatement[] {
  const grants: [string, string][] = [
    [`usage on database ${database}`, `GRANT USAGE ON DATABASE ${database} TO ROLE ${role}`],
    [
      `usage on all schemas in database ${database}`,
      `GRANT USAGE ON ALL SCHEMAS IN DATABASE ${database} TO ROLE ${role}`,
    ],
    [
      `usage on future schemas in database ${database}`,
      `GRANT USAGE ON FUTURE SCHEMAS IN DATABASE ${database} TO ROLE ${role}`,
    ],
    [
      `select on all tables in database ${database}`,
      `GRANT SELECT ON ALL TABLES IN DATABASE ${database} TO ROLE ${role}`,
    ],
    [
      `select on future tables in database ${database}`,
      `GRANT SELECT ON FUTURE TABLES IN DATABASE ${database} TO ROLE ${role}`,
    ],
    [
      `select on all views in database ${database}`,
      `GRANT SELECT ON ALL VIEWS IN DATABASE ${database} TO ROLE ${role}`,
    ],
    [
      `select on future views in database ${database}`,
      `GRANT SELECT ON FUTURE VIEWS IN DATABASE ${database} TO ROLE ${role}`,
    ],
  ];
  return grants.map(([what, sql], i) =>
    statement({
      version: `1.${firstVersion + i}`,
      role: "SECURITYADMIN",
      summary: `grant ${what} to role ${role}`,
      sql,
    }),
  );
}

/**
 * 1.14-1.31: the raw and analytics databases, each handed to the role that writes it; the
 * transformer reads raw, the reporter reads analytics.
 */
function databaseStatements({ databases, roles }: WarehouseNames): WarehouseStatement[] {
  return [
    statement({
      version: "1.14",
      role: "SYSADMIN",
      summary: `create database ${databases.raw} (raw data, loaded by Airbyte)`,
      sql: `CREATE DATABASE IF NOT EXISTS ${databases.raw} ${COMMENT("raw data, loaded by Airbyte")}`,
    }),
    statement({
      version: "1.15",
      role: "SYSADMIN",
      summary: `create database ${databases.analytics} (models, built by dbt)`,
      sql: `CREATE DATABASE IF NOT EXISTS ${databases.analytics} ${COMMENT("models, built by dbt")}`,
    }),
    statement({
      version: "1.16",
      role: "SECURITYADMIN",
      summary: `hand database ${databases.raw} to role ${roles.loader}`,
      sql: `GRANT OWNERSHIP ON DATABASE ${databases.raw} TO ROLE ${roles.loader} COPY CURRENT GRANTS`,
    }),
    statement({
      version: "1.17",
      role: "SECURITYADMIN",
      summary: `hand database ${databases.analytics} to role ${roles.transformer}`,
      sql: `GRANT OWNERSHIP ON DATABASE ${databases.analytics} TO ROLE ${roles.transformer} COPY CURRENT GRANTS`,
    }),
    ...readGrants(databases.raw, roles.transformer, 18),
    ...readGrants(databases.analytics, roles.reporter, 25),
  ];
}

const TOOL_LABELS: { readonly [T in ToolName]: string } = {
  airbyte: "Airbyte",
  "dbt-cloud": "dbt",
  grouparoo: "Grouparoo",
};

/** 1.32-1.37: one TYPE = SERVICE user per tool (no password can ever sign in), and its role. */
function userStatements(names: WarehouseNames): WarehouseStatement[] {
  return [
    ...TOOL_NAMES.map((tool, i) => {
      const { user, role } = names.users[tool];
      return statement({
        version: `1.${32 + i}`,
        role: "USERADMIN",
        summary: `create service user ${user} (${TOOL_LABELS[tool]}; role ${role}, warehouse ${names.warehouse})`,
        sql: `CREATE USER IF NOT EXISTS ${user} TYPE = SERVICE DEFAULT_ROLE = ${role} DEFAULT_WAREHOUSE = ${names.warehouse} ${COMMENT(`${TOOL_LABELS[tool]}'s service user`)}`,
      });
    }),
    ...TOOL_NAMES.map((tool, i) => {
      const { user, role } = names.users[tool];
      return statement({
        version: `1.${35 + i}`,
        role: "SECURITYADMIN",
        summary: `grant role ${role} to user ${user}`,
        sql: `GRANT ROLE ${role} TO USER ${user}`,
      });
    }),
  ];
}

/**
 * R1.02-R1.04: each service user's RSA public key (repeatable: a new key is applied again). The
 * checksum covers the key's fingerprint, so the statement that rotated a key (which also keeps the
 * previous one as RSA_PUBLIC_KEY_2) and the one that sets the same key plainly record the same.
 */
function keyStatements(names: WarehouseNames, keys: PlannedKeys): WarehouseStatement[] {
  return TOOL_NAMES.map((tool, i) => {
    const { user, privateKeySecret } = names.users[tool];
    const key = keys[tool];
    const version = `R1.0${2 + i}`;
    if (!key) {
      const shown = `ALTER USER ${user} SET RSA_PUBLIC_KEY = '<the public key of secret ${privateKeySecret}>'`;
      return statement({
        version,
        kind: "repeatable",
        role: "USERADMIN",
        summary: `set the RSA public key of ${user} (private key kept as secret ${privateKeySecret})`,
        sql: shown,
        checksumText: `ALTER USER ${user} SET RSA_PUBLIC_KEY FP = <none>`,
        keyOf: tool,
        placeholder: true,
      });
    }
    const previous = key.previous;
    return statement({
      version,
      kind: "repeatable",
      role: "USERADMIN",
      summary: `set the RSA public key of ${user} to ${key.fingerprint}${
        previous ? ` (${previous.fingerprint} stays valid as RSA_PUBLIC_KEY_2)` : ""
      }`,
      sql: `ALTER USER ${user} SET RSA_PUBLIC_KEY = ${stringLiteral(key.publicKey)}${
        previous ? ` RSA_PUBLIC_KEY_2 = ${stringLiteral(previous.publicKey)}` : ""
      }`,
      displaySql: `ALTER USER ${user} SET RSA_PUBLIC_KEY = '<public key ${key.fingerprint}>'${
        previous ? ` RSA_PUBLIC_KEY_2 = '<public key ${previous.fingerprint}>'` : ""
      }`,
      checksumText: `ALTER USER ${user} SET RSA_PUBLIC_KEY FP = ${key.fingerprint}`,
      keyOf: tool,
    });
  });
}

/** 2.01-2.02 and R2.01: the resource monitor holding the warehouse to its monthly quota (ACCOUNTADMIN only). */
function resourceMonitorStatements(names: WarehouseNames, warehouse: WarehouseConfig): WarehouseStatement[] {
  const monitor = names.resourceMonitor;
  if (monitor === undefined || warehouse.monthlyCreditQuota === undefined) return [];
  return [
    statement({
      version: "2.01",
      role: "ACCOUNTADMIN",
      summary: `create resource monitor ${monitor} (monthly)`,
      sql: `CREATE RESOURCE MONITOR IF NOT EXISTS ${monitor} WITH FREQUENCY = MONTHLY START_TIMESTAMP = IMMEDIATELY`,
    }),
    statement({
      version: "R2.01",
      kind: "repeatable",
      role: "ACCOUNTADMIN",
      summary: `set resource monitor ${monitor} to ${warehouse.monthlyCreditQuota} credits a month (notify at 90%, suspend at 100%)`,
      sql: `ALTER RESOURCE MONITOR ${monitor} SET CREDIT_QUOTA = ${warehouse.monthlyCreditQuota} ${RESOURCE_MONITOR_TRIGGERS}`,
    }),
    statement({
      version: "2.02",
      role: "ACCOUNTADMIN",
      summary: `put warehouse ${names.warehouse} under resource monitor ${monitor}`,
      sql: `ALTER WAREHOUSE ${names.warehouse} SET RESOURCE_MONITOR = ${monitor}`,
    }),
  ];
}

/** 3.01-3.04 and R3.01: the network policy the service users sign in under (SECURITYADMIN). */
function networkPolicyStatements(names: WarehouseNames, warehouse: WarehouseConfig): WarehouseStatement[] {
  const policy = names.networkPolicy;
  const lists = warehouse.networkPolicy;
  if (policy === undefined || lists === undefined) return [];
  return [
    statement({
      version: "3.01",
      role: "SECURITYADMIN",
      summary: `create network policy ${policy}`,
      sql: `CREATE NETWORK POLICY IF NOT EXISTS ${policy} ${COMMENT("where the service users may sign in from")}`,
    }),
    statement({
      version: "R3.01",
      kind: "repeatable",
      role: "SECURITYADMIN",
      summary: `set network policy ${policy} to allow ${lists.allowedIpList.length} and block ${lists.blockedIpList.length} address range(s)`,
      sql: `ALTER NETWORK POLICY ${policy} SET ALLOWED_IP_LIST = ${literalList(lists.allowedIpList)} BLOCKED_IP_LIST = ${literalList(lists.blockedIpList)}`,
    }),
    ...TOOL_NAMES.map((tool, i) =>
      statement({
        version: `3.0${2 + i}`,
        role: "SECURITYADMIN",
        summary: `put user ${names.users[tool].user} under network policy ${policy}`,
        sql: `ALTER USER ${names.users[tool].user} SET NETWORK_POLICY = ${policy}`,
      }),
    ),
  ];
}
