import type { SnowflakeSession } from "@tapestry/core/provisioning/warehouse";
import { ScriptedSnowflake } from "@tapestry/local/warehouse";
import { describe, expect, it } from "vitest";

/** The scripted account is what the plan is checked against: these are the promises the checks rely on. */

async function session(account = new ScriptedSnowflake()): Promise<SnowflakeSession> {
  return account.connect(
    { account: "x", username: "ADMIN", signIn: { kind: "pat", token: "" } },
    { timeoutMs: 1000 },
  );
}

async function failure(run: Promise<unknown>): Promise<{ code?: string; message: string }> {
  return run.then(
    () => {
      throw new Error("expected Snowflake to refuse");
    },
    (error: { code?: string; message: string }) => error,
  );
}

describe("the scripted Snowflake account", () => {
  it("refuses a statement under a role Snowflake would refuse it to (a grant as SYSADMIN, a role as SYSADMIN)", async () => {
    const s = await session();
    await s.execute("USE ROLE USERADMIN", { timeoutMs: 1000 });
    await s.execute("CREATE ROLE IF NOT EXISTS LOADER", { timeoutMs: 1000 });
    await s.execute("USE ROLE SYSADMIN", { timeoutMs: 1000 });
    expect(await failure(s.execute("GRANT ROLE LOADER TO ROLE SYSADMIN", { timeoutMs: 1000 }))).toMatchObject(
      {
        code: "003001",
      },
    );
    expect(await failure(s.execute("CREATE ROLE IF NOT EXISTS OTHER", { timeoutMs: 1000 }))).toMatchObject({
      code: "003001",
    });
  });

  it("refuses a statement it does not know (it is strict: what it accepts is what the bootstrap sends)", async () => {
    const s = await session();
    expect(await failure(s.execute("CREATE OR REPLACE DATABASE RAW", { timeoutMs: 1000 }))).toMatchObject({
      code: "001003",
    });
    expect(await failure(s.execute("DROP DATABASE RAW", { timeoutMs: 1000 }))).toMatchObject({
      code: "001003",
    });
  });

  it("refuses a second CREATE without IF NOT EXISTS, and a role the admin was not granted", async () => {
    const account = new ScriptedSnowflake({ adminRoles: ["SYSADMIN"] });
    const s = await session(account);
    await s.execute("USE ROLE SYSADMIN", { timeoutMs: 1000 });
    await s.execute("CREATE DATABASE RAW", { timeoutMs: 1000 });
    expect(await failure(s.execute("CREATE DATABASE RAW", { timeoutMs: 1000 }))).toMatchObject({
      code: "002002",
    });
    expect(await failure(s.execute("USE ROLE SECURITYADMIN", { timeoutMs: 1000 }))).toMatchObject({
      code: "003013",
    });
  });

  it("strikes a scripted fault only as often as told", async () => {
    const account = new ScriptedSnowflake({
      faults: [{ on: "CREATE DATABASE", times: 1, error: { code: "000630", message: "busy" } }],
    });
    const s = await session(account);
    await s.execute("USE ROLE SYSADMIN", { timeoutMs: 1000 });
    expect(await failure(s.execute("CREATE DATABASE IF NOT EXISTS RAW", { timeoutMs: 1000 }))).toMatchObject({
      code: "000630",
    });
    await expect(s.execute("CREATE DATABASE IF NOT EXISTS RAW", { timeoutMs: 1000 })).resolves.toHaveLength(
      1,
    );
  });
});
