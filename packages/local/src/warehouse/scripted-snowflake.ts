import { createHash, createPublicKey } from "node:crypto";
import {
  SNOWFLAKE_OBJECT_DOES_NOT_EXIST,
  type SnowflakeBind,
  type SnowflakeConnect,
  type SnowflakeCredentials,
  SnowflakeError,
  type SnowflakeRow,
  type SnowflakeSession,
} from "@tapestry/core/provisioning/warehouse";
import { z } from "zod";

/**
 * A scripted Snowflake account: a small model of the objects the warehouse bootstrap names
 * (roles and their hierarchy, users, warehouses, databases, schemas, tables, grants, resource
 * monitors, network policies) that answers the bootstrap's statements as a real account would:
 * - a role, user, warehouse, database or schema used before it exists fails with 002003
 *   ("does not exist or not authorized"); a CREATE without IF NOT EXISTS of an existing object
 *   with 002002;
 * - each statement needs the system role Snowflake requires for it (USERADMIN creates roles and
 *   users, SYSADMIN warehouses and databases, MANAGE GRANTS (SECURITYADMIN) grants, ACCOUNTADMIN
 *   resource monitors), checked through the role hierarchy; else 003001;
 * - a statement it does not know is a syntax error (001003): it is strict, so what it accepts is
 *   what the bootstrap sends.
 * It records every statement executed (with the role it ran as), can be scripted to fail or hang
 * at chosen statements or at sign-in, and its state is plain JSON (`snapshot`) so it can be kept.
 * Tests and the embedded control plane use it in place of snowflake-promise.
 */

const SYSTEM_ROLES = [
  "ACCOUNTADMIN",
  "ORGADMIN",
  "SECURITYADMIN",
  "SYSADMIN",
  "USERADMIN",
  "PUBLIC",
] as const;

/** Snowflake's built-in hierarchy: [role, the role that inherits it]. */
const SYSTEM_HIERARCHY: readonly [string, string][] = [
  ["USERADMIN", "SECURITYADMIN"],
  ["SECURITYADMIN", "ACCOUNTADMIN"],
  ["SYSADMIN", "ACCOUNTADMIN"],
  ["PUBLIC", "USERADMIN"],
  ["PUBLIC", "SYSADMIN"],
];

const userSchema = z.object({
  type: z.string(),
  owner: z.string(),
  defaultRole: z.string().optional(),
  defaultWarehouse: z.string().optional(),
  rsaPublicKey: z.string().optional(),
  rsaPublicKeyFp: z.string().optional(),
  rsaPublicKey2: z.string().optional(),
  rsaPublicKey2Fp: z.string().optional(),
  networkPolicy: z.string().optional(),
});

const tableSchema = z.object({
  owner: z.string(),
  columns: z.array(z.string()),
  rows: z.array(z.record(z.string(), z.string())),
});

const databaseSchema = z.object({
  owner: z.string(),
  schemas: z.record(z.string(), z.object({ owner: z.string(), tables: z.record(z.string(), tableSchema) })),
});

/** The whole account as plain JSON (what `snapshot` answers and a kept account is read back with). */
export const scriptedAccountStateSchema = z.object({
  roles: z.record(z.string(), z.object({ owner: z.string() })),
  /** "A>B": role A is granted to role B (B inherits A) */
  roleGrants: z.array(z.string()),
  /** "ROLE>USER" */
  userRoleGrants: z.array(z.string()),
  users: z.record(z.string(), userSchema),
  warehouses: z.record(
    z.string(),
    z.object({
      owner: z.string(),
      size: z.string(),
      autoSuspend: z.number(),
      autoResume: z.boolean(),
      resourceMonitor: z.string().optional(),
    }),
  ),
  databases: z.record(z.string(), databaseSchema),
  /** privilege grants as Snowflake would list them, e.g. "USAGE ON WAREHOUSE W TO ROLE R" */
  grants: z.array(z.string()),
  resourceMonitors: z.record(
    z.string(),
    z.object({ creditQuota: z.number().optional(), frequency: z.string(), triggers: z.string().optional() }),
  ),
  networkPolicies: z.record(
    z.string(),
    z.object({ allowed: z.array(z.string()), blocked: z.array(z.string()) }),
  ),
});

export type ScriptedAccountState = z.infer<typeof scriptedAccountStateSchema>;
export type ScriptedUser = z.infer<typeof userSchema>;
export type ScriptedTable = z.infer<typeof tableSchema>;
export type ScriptedDatabase = z.infer<typeof databaseSchema>;

/** A scripted misbehaviour: at sign-in, or at each statement `on` matches (a text it contains, or a pattern). */
export interface ScriptedFault {
  readonly on: "connect" | string | RegExp;
  /** fail with this Snowflake error */
  readonly error?: {
    readonly code: string;
    readonly message: string;
    readonly sqlState?: string;
    readonly transient?: boolean;
  };
  /** never answer (until the session is closed) */
  readonly hang?: boolean;
  /** how many times it strikes (default: every time) */
  readonly times?: number;
}

export interface ScriptedSnowflakeOptions {
  /** the account identifier it answers to (default: any) */
  readonly account?: string;
  /** the admin user it knows (default: any name signs in) */
  readonly adminUser?: string;
  /** the roles granted to the admin (default: ACCOUNTADMIN, which inherits every system role) */
  readonly adminRoles?: readonly string[];
  /** sign-in checks the admin's key against this fingerprint ("SHA256:...") when set */
  readonly adminKeyFingerprint?: string;
  /** sign-in checks a programmatic access token against this when set */
  readonly adminToken?: string;
  readonly faults?: readonly ScriptedFault[];
  /** the account as a snapshot left it */
  readonly state?: ScriptedAccountState;
}

export interface ExecutedStatement {
  readonly sql: string;
  readonly role: string;
  readonly binds: readonly SnowflakeBind[];
}

function emptyAccount(): ScriptedAccountState {
  return {
    roles: Object.fromEntries(SYSTEM_ROLES.map((role) => [role, { owner: "SNOWFLAKE" }])),
    roleGrants: SYSTEM_HIERARCHY.map(([role, to]) => `${role}>${to}`),
    userRoleGrants: [],
    users: {},
    warehouses: {},
    databases: {},
    grants: [],
    resourceMonitors: {},
    networkPolicies: {},
  };
}

/** Snowflake's error for a statement that names what does not exist (or what the role may not see). */
function doesNotExist(kind: string, name: string): SnowflakeError {
  return new SnowflakeError(
    `SQL compilation error:\n${kind} '${name}' does not exist or not authorized.`,
    SNOWFLAKE_OBJECT_DOES_NOT_EXIST,
    "02000",
  );
}

function alreadyExists(name: string): SnowflakeError {
  return new SnowflakeError(`SQL compilation error:\nObject '${name}' already exists.`, "002002", "42710");
}

function insufficientPrivileges(what: string): SnowflakeError {
  return new SnowflakeError(
    `SQL access control error:\nInsufficient privileges to operate on ${what}.`,
    "003001",
    "42501",
  );
}

const ID = "([A-Z][A-Z0-9_]*)";
const COMMENT = "(?: COMMENT = '(?:[^']|'')*')?";

type Handler = (match: RegExpExecArray, binds: readonly SnowflakeBind[]) => SnowflakeRow[];

export class ScriptedSnowflake {
  private state: ScriptedAccountState;
  private readonly faults: { fault: ScriptedFault; left: number }[];
  private readonly options: ScriptedSnowflakeOptions;
  /** every statement executed, in order, with the role it ran as */
  readonly executed: ExecutedStatement[] = [];
  /** sessions opened and closed */
  readonly sessions = { opened: 0, closed: 0 };
  private readonly handlers: readonly [RegExp, (role: string) => Handler][];

  constructor(options: ScriptedSnowflakeOptions = {}) {
    this.options = options;
    this.state = options.state ? structuredClone(options.state) : emptyAccount();
    this.faults = (options.faults ?? []).map((fault) => ({
      fault,
      left: fault.times ?? Number.POSITIVE_INFINITY,
    }));
    this.handlers = this.statementForms();
  }

  /** The account's state, a deep copy (plain JSON: keep it to start an account where this one left off). */
  snapshot(): ScriptedAccountState {
    return structuredClone(this.state);
  }

  /** Adds faults after construction (e.g. fail the next run at one statement). */
  script(...faults: ScriptedFault[]): void {
    for (const fault of faults) this.faults.push({ fault, left: fault.times ?? Number.POSITIVE_INFINITY });
  }

  /** The SnowflakeConnect of this account. */
  readonly connect: SnowflakeConnect = async (credentials) => {
    const fault = this.strike("connect", "connect");
    if (fault?.hang) return new Promise<never>(() => undefined);
    if (fault?.error) throw this.errorOf(fault.error);
    this.signIn(credentials);
    this.sessions.opened++;
    return this.session();
  };

  private signIn(credentials: SnowflakeCredentials): void {
    const { account, adminUser, adminKeyFingerprint, adminToken } = this.options;
    if (account !== undefined && credentials.account !== account) {
      throw new SnowflakeError(`Incorrect account identifier ${credentials.account}`, "390100", "08004");
    }
    if (adminUser !== undefined && credentials.username.toUpperCase() !== adminUser.toUpperCase()) {
      throw new SnowflakeError("Incorrect username or password was specified.", "390100", "08004");
    }
    if (credentials.signIn.kind === "key-pair") {
      // the SDK signs a JWT with the key; Snowflake checks it against the user's fingerprint
      const pem = credentials.signIn.privateKeyPem;
      if (!pem.includes("\n") || /ENCRYPTED/.test(pem)) {
        throw new SnowflakeError("JWT token is invalid.", "390144", "08004");
      }
      if (adminKeyFingerprint !== undefined && fingerprintOf(pem) !== adminKeyFingerprint) {
        throw new SnowflakeError("JWT token is invalid.", "390144", "08004");
      }
    } else if (adminToken !== undefined && credentials.signIn.token !== adminToken) {
      throw new SnowflakeError("Programmatic access token is invalid.", "394400", "08004");
    }
  }

  private session(): SnowflakeSession {
    let role = "PUBLIC";
    let open = true;
    const hanging = new Set<(error: Error) => void>();
    return {
      execute: async (sql, { binds = [] }) => {
        if (!open) throw new SnowflakeError("The session is closed.", "390111", "08003", { transient: true });
        this.executed.push({ sql, role, binds });
        const fault = this.strike(sql, "statement");
        if (fault?.hang) {
          return new Promise<never>((_, reject) => {
            hanging.add(reject);
          });
        }
        if (fault?.error) throw this.errorOf(fault.error);
        const use = /^USE ROLE ([A-Z][A-Z0-9_]*)$/.exec(sql);
        if (use?.[1]) {
          this.useRole(use[1]);
          role = use[1];
          return [{ status: "Statement executed successfully." }];
        }
        return this.run(sql, binds, role);
      },
      close: async () => {
        if (!open) return;
        open = false;
        this.sessions.closed++;
        for (const reject of hanging)
          reject(new SnowflakeError("The statement was cancelled.", "000604", "57014"));
        hanging.clear();
      },
    };
  }

  private strike(sql: string, at: "connect" | "statement"): ScriptedFault | undefined {
    for (const entry of this.faults) {
      if (entry.left <= 0) continue;
      const { on } = entry.fault;
      const hit =
        at === "connect"
          ? on === "connect"
          : on !== "connect" && (typeof on === "string" ? sql.includes(on) : on.test(sql));
      if (!hit) continue;
      entry.left--;
      return entry.fault;
    }
    return undefined;
  }

  private errorOf(error: NonNullable<ScriptedFault["error"]>): SnowflakeError {
    return new SnowflakeError(error.message, error.code, error.sqlState, {
      transient: error.transient ?? false,
    });
  }

  private useRole(role: string): void {
    if (!this.state.roles[role]) throw doesNotExist("Role", role);
    const granted = this.options.adminRoles ?? ["ACCOUNTADMIN"];
    if (!granted.some((g) => this.inherits(g, role))) {
      throw new SnowflakeError(
        `Requested role '${role}' is not assigned to the executing user.`,
        "003013",
        "42501",
      );
    }
  }

  /** Whether `holder` is `role` or inherits it through role grants. */
  private inherits(holder: string, role: string, seen = new Set<string>()): boolean {
    if (holder === role) return true;
    if (seen.has(role)) return false;
    seen.add(role);
    return this.state.roleGrants.some((grant) => {
      const [granted, to] = grant.split(">");
      return granted === role && to !== undefined && this.inherits(holder, to, seen);
    });
  }

  private require(role: string, needed: string, what: string): void {
    if (!this.inherits(role, needed)) throw insufficientPrivileges(what);
  }

  private run(sql: string, binds: readonly SnowflakeBind[], role: string): SnowflakeRow[] {
    for (const [pattern, handler] of this.handlers) {
      const match = pattern.exec(sql);
      if (match) return handler(role)(match, binds);
    }
    throw new SnowflakeError(
      `SQL compilation error:\nsyntax error line 1 at position 0 unexpected '${sql.split(" ")[0] ?? ""}'.`,
      "001003",
      "42000",
    );
  }

  private role(name: string): void {
    if (!this.state.roles[name]) throw doesNotExist("Role", name);
  }

  private user(name: string): ScriptedUser {
    const user = this.state.users[name];
    if (!user) throw doesNotExist("User", name);
    return user;
  }

  private warehouse(name: string) {
    const warehouse = this.state.warehouses[name];
    if (!warehouse) throw doesNotExist("Object", name);
    return warehouse;
  }

  private database(name: string): ScriptedDatabase {
    const database = this.state.databases[name];
    if (!database) throw doesNotExist("Database", name);
    return database;
  }

  private table(qualified: string): ScriptedTable {
    const [db = "", schema = "", name = ""] = qualified.split(".");
    const found = this.state.databases[db]?.schemas[schema]?.tables[name];
    if (!found) throw doesNotExist("Object", qualified);
    return found;
  }

  private grant(text: string): SnowflakeRow[] {
    if (!this.state.grants.includes(text)) this.state.grants.push(text);
    return [{ status: "Statement executed successfully." }];
  }

  private statementForms(): readonly [RegExp, (role: string) => Handler][] {
    const ok: SnowflakeRow[] = [{ status: "Statement executed successfully." }];
    const s = this.state;
    const form = (
      source: string,
      handler: (role: string) => Handler,
    ): [RegExp, (role: string) => Handler] => [new RegExp(`^${source}$`), handler];
    const creating = (
      exists: boolean,
      ifNotExists: boolean,
      name: string,
      create: () => void,
    ): SnowflakeRow[] => {
      if (exists) {
        if (!ifNotExists) throw alreadyExists(name);
        return [{ status: `${name} already exists, statement succeeded.` }];
      }
      create();
      return [{ status: `${name} successfully created.` }];
    };
    return [
      form(`CREATE DATABASE( IF NOT EXISTS)? ${ID}${COMMENT}`, (role) => ([, ine, name = ""]) => {
        this.require(role, "SYSADMIN", `account (CREATE DATABASE ${name})`);
        return creating(Boolean(s.databases[name]), Boolean(ine), name, () => {
          s.databases[name] = {
            owner: role,
            schemas: {
              PUBLIC: { owner: role, tables: {} },
              INFORMATION_SCHEMA: { owner: "SNOWFLAKE", tables: {} },
            },
          };
        });
      }),
      form(`CREATE SCHEMA( IF NOT EXISTS)? ${ID}\\.${ID}`, (role) => ([, ine, db = "", name = ""]) => {
        const database = this.database(db);
        this.require(role, database.owner, `database ${db}`);
        return creating(Boolean(database.schemas[name]), Boolean(ine), name, () => {
          database.schemas[name] = { owner: role, tables: {} };
        });
      }),
      form(
        `CREATE TABLE( IF NOT EXISTS)? ${ID}\\.${ID}\\.${ID} \\((.+)\\)`,
        (role) =>
          ([, ine, db = "", sc = "", name = "", cols = ""]) => {
            const schema = this.database(db).schemas[sc];
            if (!schema) throw doesNotExist("Schema", `${db}.${sc}`);
            this.require(role, schema.owner, `schema ${db}.${sc}`);
            return creating(Boolean(schema.tables[name]), Boolean(ine), name, () => {
              schema.tables[name] = {
                owner: role,
                columns: cols.split(",").map((c) => c.trim().split(" ")[0] ?? ""),
                rows: [],
              };
            });
          },
      ),
      form(`CREATE ROLE( IF NOT EXISTS)? ${ID}${COMMENT}`, (role) => ([, ine, name = ""]) => {
        this.require(role, "USERADMIN", `account (CREATE ROLE ${name})`);
        return creating(Boolean(s.roles[name]), Boolean(ine), name, () => {
          s.roles[name] = { owner: role };
        });
      }),
      form(`GRANT ROLE ${ID} TO ROLE ${ID}`, (role) => ([, granted = "", to = ""]) => {
        this.require(role, "SECURITYADMIN", `role ${granted}`);
        this.role(granted);
        this.role(to);
        if (!s.roleGrants.includes(`${granted}>${to}`)) s.roleGrants.push(`${granted}>${to}`);
        return ok;
      }),
      form(`GRANT ROLE ${ID} TO USER ${ID}`, (role) => ([, granted = "", user = ""]) => {
        this.require(role, "SECURITYADMIN", `role ${granted}`);
        this.role(granted);
        this.user(user);
        if (!s.userRoleGrants.includes(`${granted}>${user}`)) s.userRoleGrants.push(`${granted}>${user}`);
        return ok;
      }),
      form(
        `CREATE WAREHOUSE( IF NOT EXISTS)? ${ID} WITH WAREHOUSE_SIZE = ([A-Z0-9]+) AUTO_SUSPEND = (\\d+) AUTO_RESUME = (TRUE|FALSE) INITIALLY_SUSPENDED = (TRUE|FALSE)${COMMENT}`,
        (role) =>
          ([, ine, name = "", size = "", suspend = "", resume]) => {
            this.require(role, "SYSADMIN", `account (CREATE WAREHOUSE ${name})`);
            return creating(Boolean(s.warehouses[name]), Boolean(ine), name, () => {
              s.warehouses[name] = {
                owner: role,
                size,
                autoSuspend: Number(suspend),
                autoResume: resume === "TRUE",
              };
            });
          },
      ),
      form(
        `ALTER WAREHOUSE ${ID} SET WAREHOUSE_SIZE = ([A-Z0-9]+) AUTO_SUSPEND = (\\d+) AUTO_RESUME = (TRUE|FALSE)`,
        (role) =>
          ([, name = "", size = "", suspend = "", resume]) => {
            const warehouse = this.warehouse(name);
            this.require(role, warehouse.owner, `warehouse ${name}`);
            Object.assign(warehouse, { size, autoSuspend: Number(suspend), autoResume: resume === "TRUE" });
            return ok;
          },
      ),
      form(`ALTER WAREHOUSE ${ID} SET RESOURCE_MONITOR = ${ID}`, (role) => ([, name = "", monitor = ""]) => {
        this.require(
          role,
          "ACCOUNTADMIN",
          `warehouse ${name} (only account administrators assign resource monitors)`,
        );
        const warehouse = this.warehouse(name);
        if (!s.resourceMonitors[monitor]) throw doesNotExist("Resource monitor", monitor);
        warehouse.resourceMonitor = monitor;
        return ok;
      }),
      form(`GRANT USAGE ON WAREHOUSE ${ID} TO ROLE ${ID}`, (role) => ([text, name = "", to = ""]) => {
        this.require(role, "SECURITYADMIN", `warehouse ${name}`);
        this.warehouse(name);
        this.role(to);
        return this.grant(text.replace("GRANT ", ""));
      }),
      form(
        `GRANT OWNERSHIP ON DATABASE ${ID} TO ROLE ${ID} COPY CURRENT GRANTS`,
        (role) =>
          ([, name = "", to = ""]) => {
            this.require(role, "SECURITYADMIN", `database ${name}`);
            const database = this.database(name);
            this.role(to);
            database.owner = to;
            return ok;
          },
      ),
      form(`GRANT USAGE ON DATABASE ${ID} TO ROLE ${ID}`, (role) => ([text, name = "", to = ""]) => {
        this.require(role, "SECURITYADMIN", `database ${name}`);
        this.database(name);
        this.role(to);
        return this.grant(text.replace("GRANT ", ""));
      }),
      form(
        `GRANT (USAGE|SELECT) ON (ALL|FUTURE) (SCHEMAS|TABLES|VIEWS) IN DATABASE ${ID} TO ROLE ${ID}`,
        (role) =>
          ([text, privilege, , kind, name = "", to = ""]) => {
            this.require(
              role,
              "SECURITYADMIN",
              `database ${name} (grants on all or future objects need MANAGE GRANTS)`,
            );
            if ((kind === "SCHEMAS") !== (privilege === "USAGE")) {
              throw new SnowflakeError(
                `SQL compilation error:\nInvalid privilege ${privilege} for ${kind}.`,
                "003011",
                "42501",
              );
            }
            this.database(name);
            this.role(to);
            return this.grant(text.replace("GRANT ", ""));
          },
      ),
      form(
        `CREATE USER( IF NOT EXISTS)? ${ID} TYPE = (SERVICE|PERSON|LEGACY_SERVICE) DEFAULT_ROLE = ${ID} DEFAULT_WAREHOUSE = ${ID}${COMMENT}`,
        (role) =>
          ([, ine, name = "", type = "", defaultRole, defaultWarehouse]) => {
            this.require(role, "USERADMIN", `account (CREATE USER ${name})`);
            return creating(Boolean(s.users[name]), Boolean(ine), name, () => {
              // like Snowflake, the defaults are names only: they need not exist yet
              s.users[name] = { type, owner: role, defaultRole, defaultWarehouse };
            });
          },
      ),
      form(
        `ALTER USER ${ID} SET RSA_PUBLIC_KEY = '([A-Za-z0-9+/=]+)'(?: RSA_PUBLIC_KEY_2 = '([A-Za-z0-9+/=]+)')?`,
        (role) =>
          ([, name = "", key = "", key2]) => {
            const user = this.user(name);
            this.require(role, user.owner, `user ${name}`);
            user.rsaPublicKey = key;
            user.rsaPublicKeyFp = publicKeyFingerprint(key);
            if (key2 !== undefined) {
              user.rsaPublicKey2 = key2;
              user.rsaPublicKey2Fp = publicKeyFingerprint(key2);
            }
            return ok;
          },
      ),
      form(`ALTER USER ${ID} SET NETWORK_POLICY = ${ID}`, (role) => ([, name = "", policy = ""]) => {
        this.require(role, "SECURITYADMIN", `user ${name}`);
        const user = this.user(name);
        if (!s.networkPolicies[policy]) throw doesNotExist("Network policy", policy);
        user.networkPolicy = policy;
        return ok;
      }),
      form(
        `CREATE RESOURCE MONITOR( IF NOT EXISTS)? ${ID} WITH FREQUENCY = (MONTHLY|DAILY|WEEKLY|YEARLY|NEVER) START_TIMESTAMP = IMMEDIATELY`,
        (role) =>
          ([, ine, name = "", frequency = ""]) => {
            this.require(
              role,
              "ACCOUNTADMIN",
              "account (only account administrators create resource monitors)",
            );
            return creating(Boolean(s.resourceMonitors[name]), Boolean(ine), name, () => {
              s.resourceMonitors[name] = { frequency };
            });
          },
      ),
      form(
        `ALTER RESOURCE MONITOR ${ID} SET CREDIT_QUOTA = (\\d+) (TRIGGERS(?: ON \\d+ PERCENT DO (?:NOTIFY|SUSPEND|SUSPEND_IMMEDIATE))+)`,
        (role) =>
          ([, name = "", quota = "", triggers]) => {
            this.require(role, "ACCOUNTADMIN", `resource monitor ${name}`);
            const monitor = s.resourceMonitors[name];
            if (!monitor) throw doesNotExist("Resource monitor", name);
            Object.assign(monitor, { creditQuota: Number(quota), triggers });
            return ok;
          },
      ),
      form(`CREATE NETWORK POLICY( IF NOT EXISTS)? ${ID}${COMMENT}`, (role) => ([, ine, name = ""]) => {
        this.require(role, "SECURITYADMIN", "account (CREATE NETWORK POLICY)");
        return creating(Boolean(s.networkPolicies[name]), Boolean(ine), name, () => {
          s.networkPolicies[name] = { allowed: [], blocked: [] };
        });
      }),
      form(
        `ALTER NETWORK POLICY ${ID} SET ALLOWED_IP_LIST = \\(((?:'[0-9./]+'(?:, )?)*)\\) BLOCKED_IP_LIST = \\(((?:'[0-9./]+'(?:, )?)*)\\)`,
        (role) =>
          ([, name = "", allowed = "", blocked = ""]) => {
            this.require(role, "SECURITYADMIN", `network policy ${name}`);
            const policy = s.networkPolicies[name];
            if (!policy) throw doesNotExist("Network policy", name);
            const list = (text: string) => [...text.matchAll(/'([^']+)'/g)].map((m) => m[1] ?? "");
            Object.assign(policy, { allowed: list(allowed), blocked: list(blocked) });
            return ok;
          },
      ),
      form(
        `SELECT VERSION, CHECKSUM, TO_VARCHAR\\(APPLIED_AT, 'YYYY-MM-DD"T"HH24:MI:SS\\.FF3TZH:TZM'\\) AS APPLIED_AT FROM ${ID}\\.${ID}\\.${ID} ORDER BY APPLIED_AT, VERSION`,
        (role) =>
          ([, db = "", sc = "", name = ""]) => {
            const table = this.table(`${db}.${sc}.${name}`);
            this.require(role, table.owner, `table ${db}.${sc}.${name}`);
            return [...table.rows]
              .sort(
                (a, b) =>
                  (a.APPLIED_AT ?? "").localeCompare(b.APPLIED_AT ?? "") ||
                  (a.VERSION ?? "").localeCompare(b.VERSION ?? ""),
              )
              .map((row) => ({ VERSION: row.VERSION, CHECKSUM: row.CHECKSUM, APPLIED_AT: row.APPLIED_AT }));
          },
      ),
      form(
        `INSERT INTO ${ID}\\.${ID}\\.${ID} \\(VERSION, CHECKSUM, SUMMARY, APPLIED_AT\\) SELECT \\?, \\?, \\?, TO_TIMESTAMP_TZ\\(\\?\\)`,
        (role) =>
          ([, db = "", sc = "", name = ""], binds) => {
            const table = this.table(`${db}.${sc}.${name}`);
            this.require(role, table.owner, `table ${db}.${sc}.${name}`);
            const [version, checksum, summary, appliedAt] = binds.map(String);
            if (binds.length !== 4 || !appliedAt || Number.isNaN(Date.parse(appliedAt))) {
              throw new SnowflakeError("Numeric value or timestamp is not recognized", "100035", "22007");
            }
            table.rows.push({
              VERSION: version ?? "",
              CHECKSUM: checksum ?? "",
              SUMMARY: summary ?? "",
              APPLIED_AT: appliedAt,
            });
            return [{ "number of rows inserted": 1 }];
          },
      ),
    ];
  }
}

/** Snowflake's RSA_PUBLIC_KEY_FP of a base64 DER public key. */
export function publicKeyFingerprint(base64Der: string): string {
  return `SHA256:${createHash("sha256").update(Buffer.from(base64Der, "base64")).digest("base64")}`;
}

/** The fingerprint of the public half of a PEM private key. */
export function fingerprintOf(privateKeyPem: string): string {
  const der = createPublicKey(privateKeyPem).export({ type: "spki", format: "der" });
  return `SHA256:${createHash("sha256").update(der).digest("base64")}`;
}
