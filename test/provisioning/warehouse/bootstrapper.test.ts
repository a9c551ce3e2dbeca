import { SecretReadError } from "@tapestry/core/errors";
import {
  WarehouseBootstrapError,
  WarehouseHistoryChangedError,
  WarehouseUnavailableError,
  warehousePlan,
} from "@tapestry/core/provisioning/warehouse";
import { fingerprintOf } from "@tapestry/local/warehouse";
import { describe, expect, it } from "vitest";
import { adminKey, planStatementsExecuted, rig } from "./harness";

/** The error a promise rejects with (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("the warehouse bootstrap against a scripted Snowflake account", () => {
  it("runs every statement of the plan once, in the plan's order, each as its role, and records each", async () => {
    const { account, bootstrap, config } = rig();
    const result = await bootstrap({});

    const plan = warehousePlan(config);
    expect(
      planStatementsExecuted(account).map((sql) => sql.replace(/'[A-Za-z0-9+/=]{300,}'/g, "'<key>'")),
    ).toEqual(plan.map((s) => s.sql.replace(/'<the public key of secret \w+>'/, "'<key>'")));
    // each statement ran as the role the plan gives it
    const roles = new Map(plan.map((s) => [s.sql.slice(0, 60), s.role]));
    for (const { sql, role } of account.executed) {
      const planned = roles.get(sql.slice(0, 60));
      if (planned) expect(role, sql).toBe(planned);
    }
    expect(result.counts).toEqual({ applied: plan.length, skipped: 0, wouldApply: 0 });
    expect(result.statements.map((s) => [s.number, s.version, s.state])).toEqual(
      plan.map((s, i) => [i + 1, s.version, "applied"]),
    );
    const history = account.snapshot().databases.TAPESTRY_ADMIN?.schemas.BOOTSTRAP?.tables.APPLIED_STATEMENTS;
    expect(history?.rows.map((r) => r.VERSION)).toEqual(plan.map((s) => s.version));
    expect(account.sessions).toEqual({ opened: 1, closed: 1 });
  });

  it("leaves the account as the least-privilege pattern wants it", async () => {
    const { account, bootstrap, keys } = rig();
    await bootstrap({});
    const state = account.snapshot();
    expect(state.databases.TAPESTRY_RAW?.owner).toBe("TAPESTRY_LOADER");
    expect(state.databases.TAPESTRY_ANALYTICS?.owner).toBe("TAPESTRY_TRANSFORMER");
    expect(state.grants).toEqual(
      expect.arrayContaining([
        "SELECT ON FUTURE TABLES IN DATABASE TAPESTRY_RAW TO ROLE TAPESTRY_TRANSFORMER",
        "USAGE ON FUTURE SCHEMAS IN DATABASE TAPESTRY_RAW TO ROLE TAPESTRY_TRANSFORMER",
        "SELECT ON FUTURE VIEWS IN DATABASE TAPESTRY_ANALYTICS TO ROLE TAPESTRY_REPORTER",
      ]),
    );
    expect(state.grants.some((g) => g.includes("TAPESTRY_RAW TO ROLE TAPESTRY_REPORTER"))).toBe(false);
    expect(state.warehouses.TAPESTRY_WAREHOUSE).toMatchObject({
      size: "XSMALL",
      autoSuspend: 60,
      resourceMonitor: "TAPESTRY_MONITOR",
    });
    expect(state.resourceMonitors.TAPESTRY_MONITOR?.creditQuota).toBe(20);
    for (const [user, role, secret] of [
      ["TAPESTRY_AIRBYTE", "TAPESTRY_LOADER", "TAPESTRY_AIRBYTE_PRIVATE_KEY"],
      ["TAPESTRY_DBT", "TAPESTRY_TRANSFORMER", "TAPESTRY_DBT_PRIVATE_KEY"],
      ["TAPESTRY_GROUPAROO", "TAPESTRY_REPORTER", "TAPESTRY_GROUPAROO_PRIVATE_KEY"],
    ] as const) {
      const stored = keys.values.get(secret);
      expect(stored, secret).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(state.users[user]).toMatchObject({
        type: "SERVICE",
        defaultRole: role,
        defaultWarehouse: "TAPESTRY_WAREHOUSE",
        rsaPublicKeyFp: fingerprintOf(stored ?? ""),
      });
      expect(state.userRoleGrants).toContain(`${role}>${user}`);
    }
  });

  it("a second run applies nothing: it reads the history and skips every statement", async () => {
    const { account, bootstrap, keys } = rig();
    const first = await bootstrap({});
    const executedBefore = account.executed.length;
    const second = await bootstrap({});

    expect(account.executed.slice(executedBefore).map((e) => e.sql.split(" ").slice(0, 2).join(" "))).toEqual(
      ["USE ROLE", "SELECT VERSION,"],
    );
    expect(second.counts).toEqual({ applied: 0, skipped: first.statements.length, wouldApply: 0 });
    expect(second.keys.map((k) => k.state)).toEqual(["kept", "kept", "kept"]);
    expect(second.keys.map((k) => k.fingerprint)).toEqual(first.keys.map((k) => k.fingerprint));
    expect(keys.writes).toBe(3);
  });

  it("a new statement (a network policy added to the config) applies only itself", async () => {
    const { account, bootstrap, config, withConfig } = rig();
    await bootstrap({});
    const withPolicy = { ...config, networkPolicy: { allowedIpList: ["203.0.113.0/24"], blockedIpList: [] } };
    const executedBefore = account.executed.length;
    const result = await withConfig(withPolicy)({});

    expect(result.statements.filter((s) => s.state === "applied").map((s) => s.version)).toEqual([
      "3.01",
      "R3.01",
      "3.02",
      "3.03",
      "3.04",
    ]);
    const ran = planStatementsExecuted({ executed: account.executed.slice(executedBefore) } as never);
    expect(ran).toEqual([
      "CREATE NETWORK POLICY IF NOT EXISTS TAPESTRY_NETWORK_POLICY COMMENT = 'Tapestry: where the service users may sign in from'",
      "ALTER NETWORK POLICY TAPESTRY_NETWORK_POLICY SET ALLOWED_IP_LIST = ('203.0.113.0/24') BLOCKED_IP_LIST = ()",
      "ALTER USER TAPESTRY_AIRBYTE SET NETWORK_POLICY = TAPESTRY_NETWORK_POLICY",
      "ALTER USER TAPESTRY_DBT SET NETWORK_POLICY = TAPESTRY_NETWORK_POLICY",
      "ALTER USER TAPESTRY_GROUPAROO SET NETWORK_POLICY = TAPESTRY_NETWORK_POLICY",
    ]);
    expect(account.snapshot().users.TAPESTRY_DBT?.networkPolicy).toBe("TAPESTRY_NETWORK_POLICY");
  });

  it("a changed setting re-applies only its repeatable statement (the size goes up, the CREATE stays)", async () => {
    const { account, bootstrap, config, withConfig } = rig();
    await bootstrap({});
    const executedBefore = account.executed.length;
    const result = await withConfig({ ...config, size: "SMALL", autoSuspendSeconds: 300 })({});

    expect(result.statements.filter((s) => s.state === "applied").map((s) => [s.version, s.summary])).toEqual(
      [["R1.01", "set warehouse TAPESTRY_WAREHOUSE to SMALL, suspending after 300 s idle"]],
    );
    expect(planStatementsExecuted({ executed: account.executed.slice(executedBefore) } as never)).toEqual([
      "ALTER WAREHOUSE TAPESTRY_WAREHOUSE SET WAREHOUSE_SIZE = SMALL AUTO_SUSPEND = 300 AUTO_RESUME = TRUE",
    ]);
    expect(account.snapshot().warehouses.TAPESTRY_WAREHOUSE).toMatchObject({
      size: "SMALL",
      autoSuspend: 300,
    });
  });

  it("refuses, naming the versions, when an applied statement has changed (a renamed database), and runs nothing", async () => {
    const { account, bootstrap, config, withConfig } = rig();
    await bootstrap({});
    const executedBefore = account.executed.length;
    const renamed = { ...config, names: { ...config.names, rawDatabase: "LANDING" } };
    const error = await rejectionOf(withConfig(renamed)({}));

    expect(error).toBeInstanceOf(WarehouseHistoryChangedError);
    const changed = error as WarehouseHistoryChangedError;
    expect(changed.name).toBe("WarehouseHistoryChangedError");
    expect(changed.versions).toEqual([
      "1.14",
      "1.16",
      "1.18",
      "1.19",
      "1.20",
      "1.21",
      "1.22",
      "1.23",
      "1.24",
    ]);
    expect(changed.message).toContain("statements 1.14, 1.16, 1.18");
    expect(changed.message).toContain("create database LANDING (raw data, loaded by Airbyte)");
    expect(changed.message).toContain("Nothing was run.");
    expect(planStatementsExecuted({ executed: account.executed.slice(executedBefore) } as never)).toEqual([]);
    expect(account.snapshot().databases.LANDING).toBeUndefined();
  });

  it("stops at the first failing statement k, naming k and Snowflake's code and message; a re-run resumes at k", async () => {
    const { account, bootstrap, config } = rig();
    const plan = warehousePlan(config);
    const k = plan.findIndex((s) => s.version === "1.16") + 1;
    account.script({
      on: plan[k - 1]?.sql ?? "",
      times: 1,
      error: {
        code: "003001",
        message: "SQL access control error:\nInsufficient privileges to operate on database 'TAPESTRY_RAW'.",
        sqlState: "42501",
      },
    });

    const error = await rejectionOf(bootstrap({}));
    expect(error).toBeInstanceOf(WarehouseBootstrapError);
    const stopped = error as WarehouseBootstrapError;
    expect(stopped.name).toBe("WarehouseBootstrapError");
    expect(stopped.statement).toEqual({
      number: k,
      version: "1.16",
      summary: "hand database TAPESTRY_RAW to role TAPESTRY_LOADER",
    });
    expect(stopped.code).toBe("003001");
    expect(stopped.sqlState).toBe("42501");
    expect(stopped.message).toBe(
      `the warehouse bootstrap stopped at statement ${k} of ${plan.length} (1.16: hand database TAPESTRY_RAW to role TAPESTRY_LOADER): ` +
        "Snowflake 003001: SQL access control error:\nInsufficient privileges to operate on database 'TAPESTRY_RAW'.; " +
        `the ${k - 1} statements before it are applied and recorded, the ${plan.length - k} after it did not run: fix the cause and run again (applied statements are not run again)`,
    );
    // nothing after k ran, and k was not recorded
    const ran = planStatementsExecuted(account);
    expect(ran.at(-1)).toBe(plan[k - 1]?.sql);
    expect(ran).toHaveLength(k);
    const recorded =
      account.snapshot().databases.TAPESTRY_ADMIN?.schemas.BOOTSTRAP?.tables.APPLIED_STATEMENTS?.rows;
    expect(recorded?.map((r) => r.VERSION)).toEqual(plan.slice(0, k - 1).map((s) => s.version));
    expect(account.sessions).toEqual({ opened: 1, closed: 1 });

    const executedBefore = account.executed.length;
    const resumed = await bootstrap({});
    expect(resumed.counts).toEqual({ applied: plan.length - k + 1, skipped: k - 1, wouldApply: 0 });
    expect(planStatementsExecuted({ executed: account.executed.slice(executedBefore) } as never)[0]).toBe(
      plan[k - 1]?.sql,
    );
  });

  it("names the missing grant when the admin may not use a role a statement needs (no ACCOUNTADMIN for the monitor)", async () => {
    const { bootstrap, config } = rig({ account: { adminRoles: ["SYSADMIN", "SECURITYADMIN"] } });
    const plan = warehousePlan(config);
    const k = plan.findIndex((s) => s.version === "2.01") + 1;
    const error = (await rejectionOf(bootstrap({}))) as WarehouseBootstrapError;
    expect(error).toBeInstanceOf(WarehouseBootstrapError);
    expect(error.statement?.number).toBe(k);
    expect(error.code).toBe("003013");
    expect(error.message).toContain(
      `stopped at statement ${k} of ${plan.length} (2.01: create resource monitor TAPESTRY_MONITOR (monthly)) trying to use role ACCOUNTADMIN (grant it to TAPESTRY_ADMIN`,
    );
  });

  it("gives up a sign-in that does not answer within connectTimeoutSeconds, as a retryable error", async () => {
    const { bootstrap, account } = rig({
      change: (w) => (w.connectTimeoutSeconds = 1),
      account: { faults: [{ on: "connect", hang: true }] },
    });
    const error = await rejectionOf(bootstrap({}));
    expect(error).toBeInstanceOf(WarehouseUnavailableError);
    expect(error.name).toBe("WarehouseUnavailableError");
    expect(error.message).toBe(
      "could not sign in as TAPESTRY_ADMIN on Snowflake account rainshield-analytics within 1 s (warehouse.connectTimeoutSeconds): check the account identifier and the network, then run again",
    );
    expect(account.executed).toEqual([]);
  });

  it("gives up a statement that does not answer within statementTimeoutSeconds: the session is closed, the statement cancelled, k named", async () => {
    const { bootstrap, account, config } = rig({ change: (w) => (w.statementTimeoutSeconds = 1) });
    const plan = warehousePlan(config);
    const k = plan.findIndex((s) => s.version === "1.10") + 1;
    account.script({ on: plan[k - 1]?.sql ?? "", hang: true, times: 1 });

    const error = (await rejectionOf(bootstrap({}))) as WarehouseUnavailableError;
    expect(error).toBeInstanceOf(WarehouseUnavailableError);
    expect(error.statement?.number).toBe(k);
    expect(error.code).toBe("TIMEOUT");
    expect(error.message).toContain(
      `stopped at statement ${k} of ${plan.length} (1.10: create warehouse TAPESTRY_WAREHOUSE (XSMALL, suspended)): no answer within 1 s (warehouse.statementTimeoutSeconds); the session was closed`,
    );
    expect(account.sessions).toEqual({ opened: 1, closed: 1 });
    expect(planStatementsExecuted(account)).toHaveLength(k);

    const resumed = await bootstrap({});
    expect(resumed.counts.skipped).toBe(k - 1);
  });

  it("starts no statement it could not finish by the deadline (a Lambda's end): stops, named, retryable; a re-run resumes", async () => {
    const { bootstrap, account } = rig();
    // the rig's clock starts at 06:00:00 and moves a second each time it is read
    const deadline = Date.parse("2026-03-01T06:00:00.000Z") + 130_000;
    const error = (await rejectionOf(bootstrap({ deadline }))) as WarehouseUnavailableError;
    expect(error).toBeInstanceOf(WarehouseUnavailableError);
    expect(error.code).toBe("DEADLINE");
    const k = error.statement?.number ?? 0;
    expect(k).toBeGreaterThan(1);
    expect(error.message).toContain(`stopped before statement ${k} of`);
    expect(error.message).toContain(`the ${k - 1} before it are applied and recorded: run again to resume`);
    expect(planStatementsExecuted(account)).toHaveLength(k - 1);
    const resumed = await bootstrap({});
    expect(resumed.counts.skipped).toBe(k - 1);
  });

  it("retries nothing itself but marks a dropped connection as retryable (WarehouseUnavailableError)", async () => {
    const { bootstrap, account, config } = rig();
    const statement = warehousePlan(config)[5];
    account.script({
      on: statement?.sql ?? "",
      times: 1,
      error: { code: "401001", message: "Network error. Could not reach Snowflake.", transient: true },
    });
    const error = await rejectionOf(bootstrap({}));
    expect(error).toBeInstanceOf(WarehouseUnavailableError);
    expect((error as WarehouseUnavailableError).statement?.number).toBe(6);
  });
});

describe("dry runs", () => {
  it("on a fresh account: changes nothing, answers every statement as would-apply and each key as would-generate", async () => {
    const { bootstrap, account, keys, config } = rig();
    const result = await bootstrap({ dryRun: true });
    const plan = warehousePlan(config);
    expect(result.dryRun).toBe(true);
    expect(result.counts).toEqual({ applied: 0, skipped: 0, wouldApply: plan.length });
    expect(result.keys.map((k) => [k.user, k.state])).toEqual([
      ["TAPESTRY_AIRBYTE", "would-generate"],
      ["TAPESTRY_DBT", "would-generate"],
      ["TAPESTRY_GROUPAROO", "would-generate"],
    ]);
    expect(account.executed.map((e) => e.sql.split(" ")[0])).toEqual(["USE", "SELECT"]);
    expect(keys.writes).toBe(0);
    expect(account.snapshot().databases).toEqual({});
  });

  it("after a change: says what is applied and what would run", async () => {
    const { bootstrap, withConfig, config, keys } = rig();
    await bootstrap({});
    const result = await withConfig({ ...config, monthlyCreditQuota: 50 })({
      dryRun: true,
      rotateKeys: ["grouparoo"],
    });
    expect(result.statements.filter((s) => s.state === "would-apply").map((s) => s.version)).toEqual([
      "R1.04",
      "R2.01",
    ]);
    expect(result.counts.skipped).toBe(result.statements.length - 2);
    expect(result.statements.find((s) => s.version === "1.01")?.appliedAt).toBe("2026-03-01T06:00:01.000Z");
    expect(result.keys.map((k) => k.state)).toEqual(["kept", "kept", "would-rotate"]);
    expect(keys.writes).toBe(3);
  });
});

describe("the service users' keys", () => {
  it("a rotation gives the user a new key and keeps the previous one valid as RSA_PUBLIC_KEY_2; the next run keeps it", async () => {
    const { bootstrap, account, keys } = rig();
    await bootstrap({});
    const before = keys.values.get("TAPESTRY_AIRBYTE_PRIVATE_KEY") ?? "";
    const rotated = await bootstrap({ rotateKeys: ["airbyte"] });

    const after = keys.values.get("TAPESTRY_AIRBYTE_PRIVATE_KEY") ?? "";
    expect(after).not.toBe(before);
    expect(rotated.keys[0]).toMatchObject({
      tool: "airbyte",
      state: "rotated",
      fingerprint: fingerprintOf(after),
    });
    expect(rotated.statements.filter((s) => s.state === "applied").map((s) => s.version)).toEqual(["R1.02"]);
    expect(account.snapshot().users.TAPESTRY_AIRBYTE).toMatchObject({
      rsaPublicKeyFp: fingerprintOf(after),
      rsaPublicKey2Fp: fingerprintOf(before),
    });
    expect((await bootstrap({})).counts.applied).toBe(0);
  });

  it("a key secret removed by hand gets a new key pair, set again in Snowflake", async () => {
    const { bootstrap, account, keys } = rig();
    await bootstrap({});
    keys.values.delete("TAPESTRY_DBT_PRIVATE_KEY");
    const result = await bootstrap({});
    expect(result.statements.filter((s) => s.state === "applied").map((s) => s.version)).toEqual(["R1.03"]);
    expect(result.keys[1]).toMatchObject({ state: "generated" });
    expect(account.snapshot().users.TAPESTRY_DBT?.rsaPublicKeyFp).toBe(
      fingerprintOf(keys.values.get("TAPESTRY_DBT_PRIVATE_KEY") ?? ""),
    );
  });

  it("refuses a key secret that holds no private key, naming it and the way out, never its value", async () => {
    const { bootstrap, keys } = rig();
    keys.values.set("TAPESTRY_GROUPAROO_PRIVATE_KEY", "not-a-key-but-maybe-a-secret-0123456789");
    const error = await rejectionOf(bootstrap({}));
    expect(error).toBeInstanceOf(SecretReadError);
    expect(error.message).toBe(
      "secret TAPESTRY_GROUPAROO_PRIVATE_KEY does not hold an unencrypted PEM private key: remove it (`tapestry secrets remove TAPESTRY_GROUPAROO_PRIVATE_KEY`) and run the bootstrap again to have a new key pair made",
    );
  });
});

describe("no secret and no key in any log line, error or result (canary)", () => {
  /** Every piece of text that must never show: whole values, and each line of a PEM or a key. */
  function canaries(values: Iterable<string>): string[] {
    return [...values].flatMap((value) => [
      value,
      ...value.split("\n").filter((line) => line.length >= 16 && !line.startsWith("-----")),
    ]);
  }

  /** Everything a run left where a person or a system reads it. */
  function everythingShown(
    logLines: readonly string[],
    results: readonly unknown[],
    errors: readonly Error[],
  ): string {
    return [
      ...logLines,
      JSON.stringify(results),
      ...errors.map((e) => `${e.name}: ${e.message} ${JSON.stringify(e)} ${String(e.cause ?? "")}`),
    ].join("\n");
  }

  it("key-pair admin with a passphrase: the admin's key, the passphrase, the service users' private and public keys stay out", async () => {
    const passphrase = "canary-passphrase-7f3a9c2e";
    const admin = adminKey(passphrase);
    const { bootstrap, withConfig, secrets, keys, logger, account, config } = rig({
      admin,
      change: (w) => (w.admin.auth.passphraseSecret = "SNOWFLAKE_ADMIN_PASSPHRASE"),
    });
    secrets.set("SNOWFLAKE_ADMIN_PASSPHRASE", passphrase);
    const results = [
      await bootstrap({}),
      await bootstrap({ rotateKeys: ["dbt-cloud"] }),
      await bootstrap({ dryRun: true }),
    ];
    // a failure whose Snowflake message repeats what it was given
    const keyLine = (keys.values.get("TAPESTRY_AIRBYTE_PRIVATE_KEY") ?? "").split("\n")[1] ?? "";
    account.script({
      on: "SET WAREHOUSE_SIZE = MEDIUM",
      error: { code: "001003", message: `syntax error near '${passphrase}' and '${keyLine}'` },
    });
    const error = await rejectionOf(withConfig({ ...config, size: "MEDIUM" })({}));
    expect(error).toBeInstanceOf(WarehouseBootstrapError);
    expect(error.message).toContain("syntax error near '[REDACTED]' and '[REDACTED]'");

    const publicKeys = Object.values(account.snapshot().users).flatMap((u) =>
      [u.rsaPublicKey, u.rsaPublicKey2].filter((k): k is string => k !== undefined),
    );
    expect(publicKeys).toHaveLength(4);
    const shown = everythingShown(logger.lines, results, [error]);
    for (const canary of canaries([admin.pem, passphrase, ...keys.values.values(), ...publicKeys])) {
      expect(shown).not.toContain(canary);
    }
    // the log does show what ran, with keys as fingerprints
    expect(shown).toMatch(
      /ALTER USER TAPESTRY_DBT SET RSA_PUBLIC_KEY = '<public key SHA256:[A-Za-z0-9+/=]+>' RSA_PUBLIC_KEY_2 = '<public key SHA256:/,
    );
  });

  it("PAT admin: the token stays out, even when Snowflake's sign-in error repeats it", async () => {
    const token = "canary-pat-0123456789abcdefghij";
    const { bootstrap, secrets, logger, account } = rig({
      change: (w) => (w.admin.auth = { kind: "pat", tokenSecret: "SNOWFLAKE_ADMIN_PAT" }),
      account: {
        faults: [
          { on: "connect", times: 1, error: { code: "394400", message: `token ${token} is expired` } },
        ],
      },
    });
    secrets.set("SNOWFLAKE_ADMIN_PAT", token);
    const error = await rejectionOf(bootstrap({}));
    expect(error.message).toBe(
      "could not sign in as TAPESTRY_ADMIN on Snowflake account rainshield-analytics: Snowflake 394400: token [REDACTED] is expired",
    );
    const result = await bootstrap({});
    expect(account.executed.some((e) => e.sql.includes(token))).toBe(false);
    expect(everythingShown(logger.lines, [result], [error])).not.toContain(token);
  });
});

describe("the admin's sign-in", () => {
  it("decrypts an encrypted admin key with node:crypto and signs in with the PEM (real newlines), since the SDK ignores privateKeyPass inline", async () => {
    const admin = adminKey("correct horse battery staple");
    const { bootstrap, secrets, account } = rig({
      admin,
      change: (w) => (w.admin.auth.passphraseSecret = "SNOWFLAKE_ADMIN_PASSPHRASE"),
    });
    secrets.set("SNOWFLAKE_ADMIN_PASSPHRASE", "correct horse battery staple");
    expect(admin.pem).toContain("BEGIN ENCRYPTED PRIVATE KEY");
    await bootstrap({});
    expect(account.sessions.opened).toBe(1);
  });

  it("takes a key stored with \\n in place of its newlines", async () => {
    const { bootstrap, secrets, admin } = rig();
    secrets.set("SNOWFLAKE_ADMIN_PRIVATE_KEY", admin.pem.trim().replaceAll("\n", "\\n"));
    await expect(bootstrap({ dryRun: true })).resolves.toMatchObject({ dryRun: true });
  });

  it("says which passphrase does not open which key, and that an encrypted key needs one", async () => {
    const admin = adminKey("right");
    const wrong = rig({
      admin,
      change: (w) => (w.admin.auth.passphraseSecret = "SNOWFLAKE_ADMIN_PASSPHRASE"),
    });
    wrong.secrets.set("SNOWFLAKE_ADMIN_PASSPHRASE", "wrong");
    expect((await rejectionOf(wrong.bootstrap({}))).message).toBe(
      "the passphrase in secret SNOWFLAKE_ADMIN_PASSPHRASE does not open the private key in secret SNOWFLAKE_ADMIN_PRIVATE_KEY: set the right one with `tapestry secrets set`",
    );
    const none = rig({ admin });
    expect((await rejectionOf(none.bootstrap({}))).message).toContain(
      "secret SNOWFLAKE_ADMIN_PRIVATE_KEY holds an encrypted private key and the config names no passphrase",
    );
  });

  it("signs in with a programmatic access token", async () => {
    const { bootstrap, secrets, account } = rig({
      change: (w) => (w.admin.auth = { kind: "pat", tokenSecret: "SNOWFLAKE_ADMIN_PAT" }),
      account: { adminToken: "pat-token-value-0123456789abcdef" },
    });
    secrets.set("SNOWFLAKE_ADMIN_PAT", "pat-token-value-0123456789abcdef\n");
    await bootstrap({});
    expect(account.sessions.opened).toBe(1);
  });

  it("a refused sign-in is a WarehouseBootstrapError with Snowflake's code and message; nothing ran", async () => {
    const { bootstrap, account, secrets } = rig();
    secrets.set("SNOWFLAKE_ADMIN_PRIVATE_KEY", adminKey().pem); // not the key Snowflake knows
    const error = (await rejectionOf(bootstrap({}))) as WarehouseBootstrapError;
    expect(error).toBeInstanceOf(WarehouseBootstrapError);
    expect(error.name).toBe("WarehouseBootstrapError");
    expect(error.code).toBe("390144");
    expect(error.statement).toBeUndefined();
    expect(error.message).toBe(
      "could not sign in as TAPESTRY_ADMIN on Snowflake account rainshield-analytics: Snowflake 390144: JWT token is invalid.",
    );
    expect(account.executed).toEqual([]);
  });
});
