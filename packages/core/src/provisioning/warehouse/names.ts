import { resolvedNameFields, type WarehouseConfig } from "../../config/warehouse-schema";
import type { ToolName } from "../../names";

/** The three roles of the least-privilege pattern dbt documents, by what each does. */
export const WAREHOUSE_ROLES = ["loader", "transformer", "reporter"] as const;
export type WarehouseRole = (typeof WAREHOUSE_ROLES)[number];

/** The role each tool's service user works as: Airbyte loads, dbt transforms, Grouparoo reports. */
export const TOOL_ROLES: { readonly [T in ToolName]: WarehouseRole } = {
  airbyte: "loader",
  "dbt-cloud": "transformer",
  grouparoo: "reporter",
};

/** One tool's service user: its name, its role, and the secret that keeps its private key. */
export interface ServiceUserNames {
  readonly tool: ToolName;
  /** the Snowflake user (TYPE = SERVICE) */
  readonly user: string;
  /** the role it is granted and signs in with (its DEFAULT_ROLE) */
  readonly role: string;
  readonly roleKind: WarehouseRole;
  /** the NAME of the secret holding its private key (PEM, PKCS#8): SSM SecureString on AWS */
  readonly privateKeySecret: string;
}

/** Where the bootstrap records what it applied: `<adminDatabase>.BOOTSTRAP.APPLIED_STATEMENTS`. */
export interface HistoryTableNames {
  readonly database: string;
  readonly schema: string;
  readonly table: string;
  /** database.schema.table */
  readonly qualified: string;
}

/** Every name the warehouse section resolves to: what Tapestry creates, and the secrets it reads and writes. */
export interface WarehouseNames {
  readonly account: string;
  readonly adminUser: string;
  readonly warehouse: string;
  readonly databases: { readonly raw: string; readonly analytics: string; readonly admin: string };
  readonly history: HistoryTableNames;
  readonly roles: { readonly [R in WarehouseRole]: string };
  readonly users: { readonly [T in ToolName]: ServiceUserNames };
  /** only when `monthlyCreditQuota` is set */
  readonly resourceMonitor?: string;
  /** only when `networkPolicy` is set */
  readonly networkPolicy?: string;
  /** the secrets the admin signs in with (read only) */
  readonly adminSecrets: readonly string[];
  /** the secrets holding the service users' private keys (written by the bootstrap, read by the tools) */
  readonly privateKeySecrets: readonly string[];
}

/** What follows the prefix in the name of each service user's private-key secret. */
const KEY_SECRET_SUFFIXES: { readonly [T in ToolName]: string } = {
  airbyte: "AIRBYTE_PRIVATE_KEY",
  "dbt-cloud": "DBT_PRIVATE_KEY",
  grouparoo: "GROUPAROO_PRIVATE_KEY",
};

const HISTORY_SCHEMA = "BOOTSTRAP";
const HISTORY_TABLE = "APPLIED_STATEMENTS";

/**
 * Every name of a (parsed) warehouse section: the override where one is set, else the prefix plus
 * the object's part (TAPESTRY_RAW, TAPESTRY_LOADER, TAPESTRY_AIRBYTE ...). The private-key secrets
 * are named from the prefix and the tool (TAPESTRY_AIRBYTE_PRIVATE_KEY), whatever the user is called.
 */
export function warehouseNames(warehouse: WarehouseConfig): WarehouseNames {
  const names = resolvedNameFields(warehouse);
  const roles = {
    loader: names.loaderRole,
    transformer: names.transformerRole,
    reporter: names.reporterRole,
  };
  const user = (tool: ToolName, name: string): ServiceUserNames => ({
    tool,
    user: name,
    role: roles[TOOL_ROLES[tool]],
    roleKind: TOOL_ROLES[tool],
    privateKeySecret: `${warehouse.prefix}${KEY_SECRET_SUFFIXES[tool]}`,
  });
  const users = {
    airbyte: user("airbyte", names.airbyteUser),
    "dbt-cloud": user("dbt-cloud", names.dbtUser),
    grouparoo: user("grouparoo", names.grouparooUser),
  };
  const { auth } = warehouse.admin;
  const adminSecrets =
    auth.kind === "key-pair"
      ? [auth.privateKeySecret, ...(auth.passphraseSecret ? [auth.passphraseSecret] : [])]
      : [auth.tokenSecret];
  return {
    account: warehouse.account,
    adminUser: warehouse.admin.user,
    warehouse: names.warehouse,
    databases: { raw: names.rawDatabase, analytics: names.analyticsDatabase, admin: names.adminDatabase },
    history: {
      database: names.adminDatabase,
      schema: HISTORY_SCHEMA,
      table: HISTORY_TABLE,
      qualified: `${names.adminDatabase}.${HISTORY_SCHEMA}.${HISTORY_TABLE}`,
    },
    roles,
    users,
    ...(warehouse.monthlyCreditQuota === undefined ? {} : { resourceMonitor: names.resourceMonitor }),
    ...(warehouse.networkPolicy === undefined ? {} : { networkPolicy: names.networkPolicy }),
    adminSecrets,
    privateKeySecrets: Object.values(users).map((u) => u.privateKeySecret),
  };
}

/**
 * The secrets a warehouse bootstrap touches, by NAME (an SSM parameter /tapestry/<stage>/<NAME> on
 * AWS): the admin's, read only, and the service users' private keys, read and written. What its
 * function's role may do, exactly.
 */
export function warehouseSecretAccess(names: WarehouseNames): {
  readonly read: readonly string[];
  readonly readWrite: readonly string[];
} {
  return { read: names.adminSecrets, readWrite: names.privateKeySecrets };
}

/** A secret the warehouse section refers to, for `tapestry secrets list`: where, and who makes it. */
export interface WarehouseSecretReference {
  /** the config field naming it, or what it holds */
  readonly field: string;
  readonly name: string;
  /** true for a service user's private key: the bootstrap makes it, nobody sets it by hand */
  readonly madeByBootstrap: boolean;
}

/** The admin's secrets (set by hand) and the service users' private keys (made by the bootstrap). */
export function warehouseSecretReferences(warehouse: WarehouseConfig): readonly WarehouseSecretReference[] {
  const names = warehouseNames(warehouse);
  const { auth } = warehouse.admin;
  const admin =
    auth.kind === "key-pair"
      ? [
          { field: "warehouse.admin.auth.privateKeySecret", name: auth.privateKeySecret },
          ...(auth.passphraseSecret
            ? [{ field: "warehouse.admin.auth.passphraseSecret", name: auth.passphraseSecret }]
            : []),
        ]
      : [{ field: "warehouse.admin.auth.tokenSecret", name: auth.tokenSecret }];
  return [
    ...admin.map((reference) => ({ ...reference, madeByBootstrap: false })),
    ...Object.values(names.users).map(({ user, privateKeySecret }) => ({
      field: `the private key of Snowflake user ${user}`,
      name: privateKeySecret,
      madeByBootstrap: true,
    })),
  ];
}
