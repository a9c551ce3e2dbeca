import { parseConfig } from "@tapestry/core/config";
import {
  warehouseBootstrapRequestSchema,
  warehouseNames,
  warehouseSecretAccess,
} from "@tapestry/core/provisioning/warehouse";
import { describe, expect, it } from "vitest";
import kickstart from "../../../tapestry.config";
import { issueAt, issuesOf } from "../../support/config-issues";

// biome-ignore lint/suspicious/noExplicitAny: the tests bend configs into invalid shapes on purpose
type Loose = Record<string, any>;

function withWarehouse(change: (warehouse: Loose) => void): unknown {
  const copy = structuredClone(kickstart) as Loose;
  change(copy.warehouse);
  return copy;
}

describe("the warehouse section of the kickstart", () => {
  it("parses with the defaults a user would pick: XSMALL, 60 s auto-suspend, names from TAPESTRY_", () => {
    const { warehouse } = parseConfig(kickstart);
    expect(warehouse).toMatchObject({
      account: "rainshield-analytics",
      prefix: "TAPESTRY_",
      size: "XSMALL",
      autoSuspendSeconds: 60,
      monthlyCreditQuota: 20,
      connectTimeoutSeconds: 30,
      statementTimeoutSeconds: 120,
    });
    expect(warehouse?.networkPolicy).toBeUndefined();
  });

  it("resolves every name from the prefix, and each private key's secret name", () => {
    const { warehouse } = parseConfig(kickstart);
    if (!warehouse) throw new Error("the kickstart declares a warehouse");
    const names = warehouseNames(warehouse);
    expect(names).toEqual({
      account: "rainshield-analytics",
      adminUser: "TAPESTRY_ADMIN",
      warehouse: "TAPESTRY_WAREHOUSE",
      databases: { raw: "TAPESTRY_RAW", analytics: "TAPESTRY_ANALYTICS", admin: "TAPESTRY_ADMIN" },
      history: {
        database: "TAPESTRY_ADMIN",
        schema: "BOOTSTRAP",
        table: "APPLIED_STATEMENTS",
        qualified: "TAPESTRY_ADMIN.BOOTSTRAP.APPLIED_STATEMENTS",
      },
      roles: {
        loader: "TAPESTRY_LOADER",
        transformer: "TAPESTRY_TRANSFORMER",
        reporter: "TAPESTRY_REPORTER",
      },
      users: {
        airbyte: {
          tool: "airbyte",
          user: "TAPESTRY_AIRBYTE",
          role: "TAPESTRY_LOADER",
          roleKind: "loader",
          privateKeySecret: "TAPESTRY_AIRBYTE_PRIVATE_KEY",
        },
        "dbt-cloud": {
          tool: "dbt-cloud",
          user: "TAPESTRY_DBT",
          role: "TAPESTRY_TRANSFORMER",
          roleKind: "transformer",
          privateKeySecret: "TAPESTRY_DBT_PRIVATE_KEY",
        },
        grouparoo: {
          tool: "grouparoo",
          user: "TAPESTRY_GROUPAROO",
          role: "TAPESTRY_REPORTER",
          roleKind: "reporter",
          privateKeySecret: "TAPESTRY_GROUPAROO_PRIVATE_KEY",
        },
      },
      resourceMonitor: "TAPESTRY_MONITOR",
      adminSecrets: ["SNOWFLAKE_ADMIN_PRIVATE_KEY"],
      privateKeySecrets: [
        "TAPESTRY_AIRBYTE_PRIVATE_KEY",
        "TAPESTRY_DBT_PRIVATE_KEY",
        "TAPESTRY_GROUPAROO_PRIVATE_KEY",
      ],
    });
  });

  it("takes a name set one by one over the prefix, and names the network policy only when there is one", () => {
    const { warehouse } = parseConfig(
      withWarehouse((w) => {
        w.prefix = "ACME_";
        w.names = { rawDatabase: "LANDING", dbtUser: "DBT_CLOUD_SVC" };
        w.networkPolicy = { allowedIpList: ["203.0.113.0/24"] };
        w.admin.auth = { kind: "pat", tokenSecret: "SNOWFLAKE_ADMIN_PAT" };
        delete w.monthlyCreditQuota;
      }),
    );
    if (!warehouse) throw new Error("declared above");
    const names = warehouseNames(warehouse);
    expect(names.databases).toEqual({ raw: "LANDING", analytics: "ACME_ANALYTICS", admin: "ACME_ADMIN" });
    expect(names.users["dbt-cloud"]).toMatchObject({
      user: "DBT_CLOUD_SVC",
      privateKeySecret: "ACME_DBT_PRIVATE_KEY",
    });
    expect(names.networkPolicy).toBe("ACME_NETWORK_POLICY");
    expect(names.resourceMonitor).toBeUndefined();
    expect(names.adminSecrets).toEqual(["SNOWFLAKE_ADMIN_PAT"]);
    expect(warehouse.networkPolicy?.blockedIpList).toEqual([]);
  });

  it("is optional: a config without it (Tapestry on a warehouse set up by hand) parses", () => {
    const copy = structuredClone(kickstart) as Loose;
    delete copy.warehouse;
    // what provisioning configures in Airbyte and Grouparoo is built from the warehouse: it goes too
    for (const section of ["airbyte", "grouparoo"]) delete copy[section];
    for (const step of copy.pipelines[0].stages[0].steps)
      step.connectionId = "5f0c8a52-7d3e-4b0e-9a57-2b4c1e0d9a11";
    for (const step of copy.pipelines[0].stages[0].steps) delete step.connection;
    expect(parseConfig(copy).warehouse).toBeUndefined();
  });
});

/** [what, the path changed (relative to warehouse) and reported, the value put there, the message]. */
const invalidValues: [string, string, unknown, string][] = [
  ["a missing account", "account", undefined, "is required: expected a Snowflake account identifier"],
  [
    "an account URL pasted from the browser",
    "account",
    "https://myorg-myaccount.snowflakecomputing.com/console",
    'expected the account identifier, not a URL: for "https://myorg-myaccount.snowflakecomputing.com/console" write "myorg-myaccount"',
  ],
  [
    "an account with spaces",
    "account",
    "my account",
    'expected a Snowflake account identifier, e.g. "myorg-myaccount"',
  ],
  ["an admin without a user", "admin.user", "", "expected the admin's user name"],
  ["a password where the admin's auth goes", "admin.auth.kind", "password", 'expected kind "key-pair"'],
  [
    "a lower-case prefix",
    "prefix",
    "tapestry_",
    "expected a prefix: an upper-case letter, then upper-case letters, digits and underscores",
  ],
  ["a lower-case name", "names.rawDatabase", "raw", 'did you mean "RAW"?'],
  ["a quoted name", "names.warehouse", '"My Warehouse"', "expected a Snowflake name"],
  ["an unknown name", "names.stageDatabase", "STAGE", "unknown key: remove it or check its spelling"],
  ["an unknown size", "size", "TINY", "expected a warehouse size: one of XSMALL, SMALL, MEDIUM"],
  [
    "a warehouse that never suspends",
    "autoSuspendSeconds",
    0,
    "from 60 to 86400 (a warehouse that never suspends bills every hour it exists), got 0",
  ],
  ["a fractional credit quota", "monthlyCreditQuota", 2.5, "expected a whole number of credits a month"],
  [
    "a connect timeout of zero",
    "connectTimeoutSeconds",
    0,
    "expected a whole number of seconds from 1 to 300",
  ],
  [
    "an IPv6 address in the network policy",
    "networkPolicy.allowedIpList[0]",
    "2001:db8::/32",
    "Snowflake network policies take IPv4 only",
  ],
  [
    "an empty allowed list",
    "networkPolicy.allowedIpList",
    [],
    "a network policy needs at least one allowed address",
  ],
];

describe("invalid warehouse sections are refused at their path, with the fix", () => {
  it.each(invalidValues)("%s -> warehouse.%s", (_what, path, value, message) => {
    const input = withWarehouse((w) => {
      const keys = path.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== "");
      const last = keys.pop() ?? "";
      let node: Loose = w;
      for (const key of keys) {
        node[key] ??= key === "allowedIpList" ? [] : {};
        node = node[key];
      }
      if (value === undefined) delete node[last];
      else node[last] = value;
    });
    expect(issueAt(input, `warehouse.${path}`)).toContain(message);
  });

  it("never repeats a private key pasted where its secret's NAME goes", () => {
    const pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
    const input = withWarehouse((w) => {
      w.admin.auth.privateKeySecret = pem;
    });
    const message = issueAt(input, "warehouse.admin.auth.privateKeySecret");
    expect(message).toContain("this looks like a secret value; put its NAME here");
    expect(JSON.stringify(issuesOf(input))).not.toContain("MIIEvQ");
  });

  it("refuses two roles, users or databases with one name, at the field that repeats it", () => {
    const input = withWarehouse((w) => {
      w.names = { transformerRole: "TAPESTRY_LOADER" };
    });
    expect(issueAt(input, "warehouse.names.transformerRole")).toBe(
      'names transformerRole and loaderRole are both "TAPESTRY_LOADER": each needs its own name',
    );
  });

  it("refuses a role Snowflake defines", () => {
    const input = withWarehouse((w) => {
      w.names = { reporterRole: "PUBLIC" };
    });
    expect(issueAt(input, "warehouse.names.reporterRole")).toContain('"PUBLIC" is a role Snowflake defines');
  });

  it("refuses a service user that is the admin (the bootstrap would replace the admin's key)", () => {
    const input = withWarehouse((w) => {
      w.admin.user = "tapestry_airbyte";
    });
    expect(issueAt(input, "warehouse.prefix")).toContain(
      '"TAPESTRY_AIRBYTE" is the admin user (warehouse.admin.user)',
    );
  });
});

describe("what a bootstrap task takes and touches", () => {
  it("parses its input, refusing an unknown tool to rotate", () => {
    expect(warehouseBootstrapRequestSchema.parse({ dryRun: true, rotateKeys: ["airbyte"] })).toEqual({
      dryRun: true,
      rotateKeys: ["airbyte"],
    });
    expect(warehouseBootstrapRequestSchema.safeParse({ rotateKeys: ["fivetran"] }).success).toBe(false);
    expect(warehouseBootstrapRequestSchema.safeParse({ dryrun: true }).success).toBe(false);
  });

  it("reads exactly the admin's secrets and reads and writes exactly the three private keys", () => {
    const { warehouse } = parseConfig(kickstart);
    if (!warehouse) throw new Error("the kickstart declares a warehouse");
    expect(warehouseSecretAccess(warehouseNames(warehouse))).toEqual({
      read: ["SNOWFLAKE_ADMIN_PRIVATE_KEY"],
      readWrite: [
        "TAPESTRY_AIRBYTE_PRIVATE_KEY",
        "TAPESTRY_DBT_PRIVATE_KEY",
        "TAPESTRY_GROUPAROO_PRIVATE_KEY",
      ],
    });
  });
});
