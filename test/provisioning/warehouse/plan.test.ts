import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { WarehouseConfig } from "@tapestry/core/config";
import {
  reviewedPlanText,
  SNOWFLAKE_OBJECT_DOES_NOT_EXIST,
  type SnowflakeSession,
  type WarehouseStatement,
  warehousePlan,
} from "@tapestry/core/provisioning/warehouse";
import { REPO_ROOT } from "@tapestry/local";
import { ScriptedSnowflake } from "@tapestry/local/warehouse";
import { describe, expect, it } from "vitest";
import { warehouseConfig } from "./harness";

/** A key that parses as base64 DER for the model (the model does not check it is a real key). */
const KEY = Buffer.from("a stand-in public key").toString("base64");
const KEYS = {
  airbyte: { publicKey: KEY, fingerprint: "SHA256:a" },
  "dbt-cloud": { publicKey: KEY, fingerprint: "SHA256:b" },
  grouparoo: { publicKey: KEY, fingerprint: "SHA256:c" },
};

const CONFIGS: [string, WarehouseConfig][] = [
  ["the kickstart (credit quota)", warehouseConfig()],
  ["no quota, no policy", warehouseConfig((w) => delete w.monthlyCreditQuota)],
  [
    "everything, names set one by one",
    warehouseConfig((w) => {
      w.prefix = "ACME_";
      w.names = { rawDatabase: "LANDING", dbtUser: "DBT_CLOUD_SVC", reporterRole: "BI_READER" };
      w.networkPolicy = { allowedIpList: ["203.0.113.0/24", "198.51.100.7"], blockedIpList: ["203.0.113.9"] };
      w.size = "MEDIUM";
    }),
  ],
];

async function sessionOn(account: ScriptedSnowflake): Promise<SnowflakeSession> {
  return account.connect(
    { account: "x", username: "TAPESTRY_ADMIN", signIn: { kind: "pat", token: "" } },
    { timeoutMs: 1000 },
  );
}

/** Runs statements in order as their roles; answers the first failure (with the statement), if any. */
async function runOnModel(
  account: ScriptedSnowflake,
  statements: readonly WarehouseStatement[],
): Promise<{ statement: WarehouseStatement; error: Error & { code?: string } } | undefined> {
  const session = await sessionOn(account);
  try {
    for (const statement of statements) {
      try {
        await session.execute(`USE ROLE ${statement.role}`, { timeoutMs: 1000 });
        await session.execute(statement.sql, { timeoutMs: 1000 });
      } catch (error) {
        return { statement, error: error as Error & { code?: string } };
      }
    }
    return undefined;
  } finally {
    await session.close();
  }
}

/** The name a CREATE statement creates (the qualified name for schemas and tables). */
function createdName(statement: WarehouseStatement): string | undefined {
  return /^CREATE (?:DATABASE|SCHEMA|TABLE|ROLE|WAREHOUSE|USER|RESOURCE MONITOR|NETWORK POLICY) IF NOT EXISTS ([A-Z0-9_.]+)/.exec(
    statement.sql,
  )?.[1];
}

describe.each(CONFIGS)("the plan of %s, checked on a model of the account", (_what, config) => {
  const plan = warehousePlan(config, KEYS);

  it("uses no role, user, warehouse, database or schema before the statement that creates it", async () => {
    const account = new ScriptedSnowflake();
    expect(await runOnModel(account, plan)).toBeUndefined();
  });

  it("the model does catch a use before the creation: without each CREATE, a later statement fails naming it", async () => {
    const creations = plan.filter((s) => createdName(s) !== undefined && !s.createsHistory);
    expect(creations.length).toBeGreaterThanOrEqual(9);
    for (const creation of creations) {
      const name = createdName(creation) ?? "";
      const failed = await runOnModel(
        new ScriptedSnowflake(),
        plan.filter((s) => s !== creation),
      );
      expect(failed, `without "${creation.summary}"`).toBeDefined();
      expect(failed?.error.code, failed?.error.message).toBe(SNOWFLAKE_OBJECT_DOES_NOT_EXIST);
      expect(failed?.error.message).toContain(`'${name}'`);
      expect(plan.indexOf(failed?.statement as WarehouseStatement)).toBeGreaterThan(plan.indexOf(creation));
    }
  });

  it("every statement is re-runnable: the whole plan again, and each statement twice, change nothing and fail nowhere", async () => {
    const account = new ScriptedSnowflake();
    await runOnModel(account, plan);
    const after = account.snapshot();
    expect(await runOnModel(account, plan)).toBeUndefined();
    expect(account.snapshot()).toEqual(after);

    const twice = new ScriptedSnowflake();
    expect(
      await runOnModel(
        twice,
        plan.flatMap((s) => [s, s]),
      ),
    ).toBeUndefined();
    expect(twice.snapshot()).toEqual(after);
  });

  it("creates only IF NOT EXISTS, and never replaces, drops, revokes or unsets", () => {
    for (const { sql } of plan) {
      if (sql.startsWith("CREATE ")) expect(sql).toMatch(/^CREATE [A-Z ]+ IF NOT EXISTS /);
      expect(sql).not.toMatch(/\b(OR REPLACE|DROP|REVOKE|UNSET|TRUNCATE|DELETE)\b/);
    }
  });

  it("gives every statement its own version, stable across key changes for everything but the keys", () => {
    expect(new Set(plan.map((s) => s.version)).size).toBe(plan.length);
    const withoutKeys = warehousePlan(config);
    expect(withoutKeys.map((s) => s.version)).toEqual(plan.map((s) => s.version));
    const differing = withoutKeys.filter((s, i) => s.checksum !== plan[i]?.checksum).map((s) => s.version);
    expect(differing).toEqual(["R1.02", "R1.03", "R1.04"]);
  });
});

describe("the least-privilege pattern", () => {
  it("the reporter reads analytics only, the transformer reads raw and owns analytics, the loader owns raw", async () => {
    const account = new ScriptedSnowflake();
    await runOnModel(account, warehousePlan(warehouseConfig(), KEYS));
    const { databases, grants } = account.snapshot();
    expect(databases.TAPESTRY_RAW?.owner).toBe("TAPESTRY_LOADER");
    expect(databases.TAPESTRY_ANALYTICS?.owner).toBe("TAPESTRY_TRANSFORMER");
    const byRole = (role: string) => grants.filter((g) => g.endsWith(`TO ROLE ${role}`)).sort();
    expect(byRole("TAPESTRY_TRANSFORMER")).toEqual([
      "SELECT ON ALL TABLES IN DATABASE TAPESTRY_RAW TO ROLE TAPESTRY_TRANSFORMER",
      "SELECT ON ALL VIEWS IN DATABASE TAPESTRY_RAW TO ROLE TAPESTRY_TRANSFORMER",
      "SELECT ON FUTURE TABLES IN DATABASE TAPESTRY_RAW TO ROLE TAPESTRY_TRANSFORMER",
      "SELECT ON FUTURE VIEWS IN DATABASE TAPESTRY_RAW TO ROLE TAPESTRY_TRANSFORMER",
      "USAGE ON ALL SCHEMAS IN DATABASE TAPESTRY_RAW TO ROLE TAPESTRY_TRANSFORMER",
      "USAGE ON DATABASE TAPESTRY_RAW TO ROLE TAPESTRY_TRANSFORMER",
      "USAGE ON FUTURE SCHEMAS IN DATABASE TAPESTRY_RAW TO ROLE TAPESTRY_TRANSFORMER",
      "USAGE ON WAREHOUSE TAPESTRY_WAREHOUSE TO ROLE TAPESTRY_TRANSFORMER",
    ]);
    expect(
      byRole("TAPESTRY_REPORTER").every((g) => /TAPESTRY_ANALYTICS|WAREHOUSE TAPESTRY_WAREHOUSE/.test(g)),
    ).toBe(true);
    expect(byRole("TAPESTRY_LOADER")).toEqual([
      "USAGE ON WAREHOUSE TAPESTRY_WAREHOUSE TO ROLE TAPESTRY_LOADER",
    ]);
  });
});

describe("the reviewed plan file", () => {
  it("docs/warehouse/kickstart-plan.sql is the kickstart's plan as the generator writes it", () => {
    const file = join(REPO_ROOT, "docs", "warehouse", "kickstart-plan.sql");
    const expected = reviewedPlanText(warehouseConfig(), "tapestry.config.ts");
    expect(
      readFileSync(file, "utf8"),
      "the plan changed: review it, then run `npx tapestry warehouse plan > docs/warehouse/kickstart-plan.sql`",
    ).toBe(expected);
  });

  it("shows keys only as placeholders naming their secrets", () => {
    const text = reviewedPlanText(warehouseConfig(), "tapestry.config.ts");
    expect(text).toContain(
      "ALTER USER TAPESTRY_AIRBYTE SET RSA_PUBLIC_KEY = '<the public key of secret TAPESTRY_AIRBYTE_PRIVATE_KEY>';",
    );
    expect(text).not.toMatch(/MII[A-Za-z0-9+/]{20}/);
  });
});
