import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  AddTagsToResourceCommand,
  GetParameterCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { SsmPrivateKeyStore } from "@tapestry/core/adapters/aws";
import { parseConfig } from "@tapestry/core/config";
import { SecretNotSetError, SecretUnavailableError } from "@tapestry/core/errors";
import { warehousePlan } from "@tapestry/core/provisioning/warehouse";
import { REPO_ROOT } from "@tapestry/local";
import { ScriptedSnowflake } from "@tapestry/local/warehouse";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../../../packages/cli/src/main";
import kickstart from "../../../tapestry.config";
import { adminKey, memoryKeyStore } from "./harness";

const CONFIG = resolve(REPO_ROOT, "tapestry.config.ts");
const PLAN_LENGTH = warehousePlan(parseConfig(kickstart).warehouse ?? (undefined as never)).length;

/** `tapestry warehouse ...` in process, on a scripted account, with the stage's stores in memory. */
function harness() {
  const admin = adminKey();
  const account = new ScriptedSnowflake({ adminKeyFingerprint: admin.fingerprint });
  const keys = memoryKeyStore();
  const secrets = new Map([["SNOWFLAKE_ADMIN_PRIVATE_KEY", admin.pem]]);
  const out: string[] = [];
  const err: string[] = [];
  const stages: { stage: string; region?: string }[] = [];
  const run = (...argv: string[]) => {
    out.length = 0;
    err.length = 0;
    return main(argv, {
      warehouse: {
        connect: account.connect,
        stores: async (options) => {
          stages.push(options);
          return {
            secrets: async (name) => {
              const value = secrets.get(name);
              if (value === undefined) throw new SecretNotSetError(name, options.stage);
              return value;
            },
            keys,
            close: () => undefined,
          };
        },
        out: (line) => out.push(line),
        err: (line) => err.push(line),
      },
    });
  };
  return { account, keys, secrets, out, err, stages, run, admin };
}

describe("tapestry warehouse plan", () => {
  it("prints the plan as the reviewed file holds it, asking nothing of Snowflake", async () => {
    const h = harness();
    expect(await h.run("warehouse", "plan", "--config", CONFIG)).toBe(0);
    expect(`${h.out.join("\n")}\n`).toBe(
      readFileSync(join(REPO_ROOT, "docs", "warehouse", "kickstart-plan.sql"), "utf8"),
    );
    expect(h.account.executed).toEqual([]);
  });

  it("--help shows an example", async () => {
    const h = harness();
    expect(await h.run("warehouse", "plan", "--help")).toBe(0);
    expect(h.out.join("\n")).toContain("npx tapestry warehouse plan > docs/warehouse/kickstart-plan.sql");
  });

  it("a config without a warehouse section exits 2, saying what to add", async () => {
    const h = harness();
    const code = await main(["warehouse", "plan", "--config", CONFIG], {
      warehouse: {
        loadConfig: async () => {
          const { warehouse: _, ...rest } = parseConfig(kickstart);
          return rest;
        },
        out: (line) => h.out.push(line),
        err: (line) => h.err.push(line),
      },
    });
    expect(code).toBe(2);
    expect(h.err).toEqual([
      `${CONFIG} has no warehouse section: add one (see the README, "Provision your warehouse and tools")`,
    ]);
  });
});

describe("tapestry warehouse bootstrap", () => {
  it("--dry-run prints every statement as would apply and each key as would be made; nothing changes", async () => {
    const h = harness();
    expect(await h.run("warehouse", "bootstrap", "--stage", "prod", "--dry-run", "--config", CONFIG)).toBe(0);
    const text = h.out.join("\n");
    expect(h.out[0]).toBe(
      "Snowflake account rainshield-analytics as TAPESTRY_ADMIN (dry run: nothing was changed):",
    );
    expect(text).toMatch(/ {2}1 {3}1\.01 {5}versioned {3}would apply +create database TAPESTRY_ADMIN/);
    expect(text).toContain("TAPESTRY_AIRBYTE    TAPESTRY_AIRBYTE_PRIVATE_KEY    would-generate  -");
    expect(h.out.at(-1)).toBe(`${PLAN_LENGTH} statements: ${PLAN_LENGTH} would run, 0 applied before.`);
    expect(h.keys.writes).toBe(0);
    expect(h.stages).toEqual([{ stage: "prod", region: undefined }]);
  });

  it("applies the plan, printing each statement as it goes; a second run applies nothing", async () => {
    const h = harness();
    expect(await h.run("warehouse", "bootstrap", "--stage", "prod", "--config", CONFIG)).toBe(0);
    expect(h.out[0]).toBe("  applied 1 · 1.01 · create database TAPESTRY_ADMIN (the bootstrap's history)");
    expect(h.out.at(-1)).toBe(`${PLAN_LENGTH} statements: ${PLAN_LENGTH} applied now, 0 applied before.`);

    expect(await h.run("warehouse", "bootstrap", "--stage", "prod", "--config", CONFIG)).toBe(0);
    expect(h.out.at(-1)).toBe(`${PLAN_LENGTH} statements: 0 applied now, ${PLAN_LENGTH} applied before.`);
    expect(h.out.join("\n")).toMatch(/TAPESTRY_DBT +TAPESTRY_DBT_PRIVATE_KEY +kept +SHA256:/);
  });

  it("--rotate-key gives that tool's user a new key", async () => {
    const h = harness();
    await h.run("warehouse", "bootstrap", "--stage", "prod", "--config", CONFIG);
    const before = h.keys.values.get("TAPESTRY_GROUPAROO_PRIVATE_KEY");
    expect(
      await h.run(
        "warehouse",
        "bootstrap",
        "--stage",
        "prod",
        "--rotate-key",
        "grouparoo",
        "--config",
        CONFIG,
      ),
    ).toBe(0);
    expect(h.keys.values.get("TAPESTRY_GROUPAROO_PRIVATE_KEY")).not.toBe(before);
    expect(h.out.join("\n")).toContain("1 applied now");
  });

  it("exits 1 naming the statement and Snowflake's error when the bootstrap stops", async () => {
    const h = harness();
    h.account.script({
      on: "CREATE ROLE IF NOT EXISTS TAPESTRY_REPORTER",
      error: { code: "003001", message: "Insufficient privileges." },
    });
    expect(await h.run("warehouse", "bootstrap", "--stage", "prod", "--config", CONFIG)).toBe(1);
    expect(h.err).toEqual([
      `the warehouse bootstrap stopped at statement 6 of ${PLAN_LENGTH} (1.06: create role TAPESTRY_REPORTER (reporter)): Snowflake 003001: Insufficient privileges.; the 5 statements before it are applied and recorded, the ${PLAN_LENGTH - 6} after it did not run: fix the cause and run again (applied statements are not run again)`,
    ]);
  });

  it("exits 1 naming the command when the admin's secret is not set", async () => {
    const h = harness();
    h.secrets.clear();
    expect(await h.run("warehouse", "bootstrap", "--stage", "prod", "--config", CONFIG)).toBe(1);
    expect(h.err).toEqual([
      "secret SNOWFLAKE_ADMIN_PRIVATE_KEY is not set for stage prod: run `tapestry secrets set SNOWFLAKE_ADMIN_PRIVATE_KEY --stage prod`",
    ]);
  });

  it.each([
    [["warehouse", "bootstrap", "--config", CONFIG], "required option '--stage <stage>' not specified"],
    [
      ["warehouse", "bootstrap", "--stage", "prod", "--rotate-key", "fivetran"],
      "Allowed choices are airbyte, dbt-cloud, grouparoo",
    ],
  ])("a usage problem exits 2 and changes nothing: %j", async (argv, message) => {
    const h = harness();
    expect(await h.run(...argv)).toBe(2);
    expect(h.err.join("\n")).toContain(message);
    expect(h.account.executed).toEqual([]);
  });

  it("--help shows the exit codes and examples", async () => {
    const h = harness();
    expect(await h.run("warehouse", "bootstrap", "--help")).toBe(0);
    expect(h.out.join("\n")).toContain("npx tapestry warehouse bootstrap --stage prod --dry-run");
    expect(h.out.join("\n")).toContain("Exit codes: 0 done (or planned), 1 the bootstrap stopped");
  });
});

describe("the stage's secrets on SSM (the default stores)", () => {
  const ssm = mockClient(SSMClient);
  afterEach(() => ssm.reset());

  it("reads the admin's key and stores each new private key as a tagged SecureString under /tapestry/<stage>/", async () => {
    const admin = adminKey();
    const account = new ScriptedSnowflake({ adminKeyFingerprint: admin.fingerprint });
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: "not found", $metadata: {} }));
    ssm.on(GetParameterCommand, { Name: "/tapestry/prod/SNOWFLAKE_ADMIN_PRIVATE_KEY" }).resolves({
      Parameter: { Value: admin.pem },
    });
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    ssm.on(AddTagsToResourceCommand).resolves({});
    const out: string[] = [];
    const code = await main(
      ["warehouse", "bootstrap", "--stage", "prod", "--region", "eu-west-1", "--config", CONFIG],
      {
        warehouse: { connect: account.connect, out: (line) => out.push(line), err: (line) => out.push(line) },
      },
    );
    expect(code, out.join("\n")).toBe(0);
    const puts = ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => [p.Name, p.Type, p.Overwrite])).toEqual([
      ["/tapestry/prod/TAPESTRY_AIRBYTE_PRIVATE_KEY", "SecureString", true],
      ["/tapestry/prod/TAPESTRY_DBT_PRIVATE_KEY", "SecureString", true],
      ["/tapestry/prod/TAPESTRY_GROUPAROO_PRIVATE_KEY", "SecureString", true],
    ]);
    expect(puts.every((p) => p.Value?.startsWith("-----BEGIN PRIVATE KEY-----\n"))).toBe(true);
    expect(ssm.commandCalls(GetParameterCommand).every((c) => c.args[0].input.WithDecryption === true)).toBe(
      true,
    );
    expect(out.join("\n")).not.toContain("PRIVATE KEY-----");
  });

  it("a throttled read is SecretUnavailableError (worth retrying); a missing required one SecretNotSetError", async () => {
    const store = new SsmPrivateKeyStore({ client: new SSMClient({ region: "eu-west-1" }), stage: "prod" });
    ssm.on(GetParameterCommand).rejectsOnce(
      Object.assign(new Error("Rate exceeded"), {
        name: "ThrottlingException",
        $metadata: { httpStatusCode: 400 },
      }),
    );
    await expect(store.read("TAPESTRY_DBT_PRIVATE_KEY")).rejects.toBeInstanceOf(SecretUnavailableError);
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: "not found", $metadata: {} }));
    await expect(store.read("TAPESTRY_DBT_PRIVATE_KEY")).resolves.toBeUndefined();
    await expect(store.readRequired("SNOWFLAKE_ADMIN_PAT")).rejects.toBeInstanceOf(SecretNotSetError);
  });
});
