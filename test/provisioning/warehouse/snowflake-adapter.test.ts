import { createPrivateKey, createPublicKey } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createSnowflakeConnect,
  snowflakeConnectionOptions,
  toSnowflakeError,
} from "@tapestry/core/adapters/snowflake";
import {
  createWarehouseBootstrapper,
  WarehouseBootstrapError,
  WarehouseUnavailableError,
  warehousePlan,
} from "@tapestry/core/provisioning/warehouse";
import { ScriptedSnowflake, type SnowflakeWire, startSnowflakeWire } from "@tapestry/local/warehouse";
import { afterEach, describe, expect, it } from "vitest";
import { adminKey, memoryKeyStore, warehouseConfig } from "./harness";

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

async function wired(account = new ScriptedSnowflake()): Promise<SnowflakeWire> {
  const wire = await startSnowflakeWire(account);
  open.push(() => wire.close());
  return wire;
}

function bootstrapperOver(
  url: string,
  admin: { pem: string },
  change?: Parameters<typeof warehouseConfig>[0],
  passphrase?: string,
) {
  const config = warehouseConfig((w) => {
    change?.(w);
    if (passphrase) w.admin.auth.passphraseSecret = "SNOWFLAKE_ADMIN_PASSPHRASE";
  });
  const secrets = new Map([
    ["SNOWFLAKE_ADMIN_PRIVATE_KEY", admin.pem],
    ["SNOWFLAKE_ADMIN_PASSPHRASE", passphrase ?? ""],
  ]);
  const keys = memoryKeyStore();
  const bootstrap = createWarehouseBootstrapper(config, {
    connect: createSnowflakeConnect({ accessUrl: url }),
    secrets: async (name) => secrets.get(name) ?? "",
    keys,
  });
  return { config, bootstrap, keys };
}

describe("the bootstrap through snowflake-promise and snowflake-sdk, against a scripted account on loopback", () => {
  it("signs in with the admin's decrypted key (JWT verified), applies the plan, and applies nothing the second time", async () => {
    const account = new ScriptedSnowflake();
    const wire = await wired(account);
    const admin = adminKey("wire passphrase");
    wire.adminPublicKey = createPublicKey(createPrivateKey({ key: admin.pem, passphrase: "wire passphrase" }))
      .export({ type: "spki", format: "pem" })
      .toString();
    const { bootstrap, config } = bootstrapperOver(wire.url, admin, undefined, "wire passphrase");

    const first = await bootstrap({});
    expect(first.counts.applied).toBe(warehousePlan(config).length);
    const second = await bootstrap({});
    expect(second.counts).toEqual({ applied: 0, skipped: first.counts.applied, wouldApply: 0 });
    // what went over the wire: the bound history rows, never the private keys
    const sent = wire.requests.map((r) => r.body).join("\n");
    expect(sent).toContain('"sqlText":"INSERT INTO TAPESTRY_ADMIN.BOOTSTRAP.APPLIED_STATEMENTS');
    expect(sent).not.toContain("PRIVATE KEY");
    expect(account.sessions).toEqual({ opened: 2, closed: 2 });
    expect(existsSync("snowflake.log")).toBe(false);
  });

  it("a key the account does not know is refused with Snowflake's 390144", async () => {
    const wire = await wired();
    wire.adminPublicKey = createPublicKey(adminKey().pem).export({ type: "spki", format: "pem" }).toString();
    const { bootstrap } = bootstrapperOver(wire.url, adminKey());
    const error = await bootstrap({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WarehouseBootstrapError);
    expect(error).toMatchObject({ code: "390144", snowflakeMessage: "JWT token is invalid." });
  });

  it("a statement that does not answer is cancelled by the SDK and named, as a retryable error", async () => {
    const account = new ScriptedSnowflake();
    const wire = await wired(account);
    const { bootstrap, config } = bootstrapperOver(
      wire.url,
      adminKey(),
      (w) => (w.statementTimeoutSeconds = 1),
    );
    const target = warehousePlan(config).find((s) => s.version === "1.04");
    account.script({ on: target?.sql ?? "", hang: true, times: 1 });
    const error = await bootstrap({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WarehouseUnavailableError);
    expect(error).toMatchObject({ code: "TIMEOUT", statement: { version: "1.04" } });
    expect(wire.aborted).toEqual([target?.sql]);
    expect(account.sessions.closed).toBe(account.sessions.opened);
  });

  it("a sign-in that gets no answer ends at connectTimeoutSeconds", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    open.push(async () => {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const { bootstrap } = bootstrapperOver(url, adminKey(), (w) => (w.connectTimeoutSeconds = 1));
    const error = await bootstrap({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WarehouseUnavailableError);
    expect((error as Error).message).toContain("within 1 s (warehouse.connectTimeoutSeconds)");
  });
});

describe("the SDK's options and errors", () => {
  const base = { account: "myorg-myaccount", username: "TAPESTRY_ADMIN" };

  it("key pair: SNOWFLAKE_JWT with the PEM inline and no privateKeyPass (the SDK ignores it inline)", () => {
    const options = snowflakeConnectionOptions(
      { ...base, signIn: { kind: "key-pair", privateKeyPem: "PEM" } },
      30_000,
    );
    expect(options).toMatchObject({
      ...base,
      authenticator: "SNOWFLAKE_JWT",
      privateKey: "PEM",
      timeout: 30_000,
    });
    expect(options).not.toHaveProperty("privateKeyPass");
    expect(options).not.toHaveProperty("password");
  });

  it("programmatic access token: PROGRAMMATIC_ACCESS_TOKEN with the token", () => {
    expect(snowflakeConnectionOptions({ ...base, signIn: { kind: "pat", token: "T" } }, 5000)).toMatchObject({
      authenticator: "PROGRAMMATIC_ACCESS_TOKEN",
      token: "T",
    });
  });

  it("maps the driver's network codes to retryable errors and keeps Snowflake's codes as text", () => {
    expect(toSnowflakeError(Object.assign(new Error("Network error"), { code: 401001 }))).toMatchObject({
      code: "401001",
      transient: true,
    });
    expect(
      toSnowflakeError(Object.assign(new Error("denied"), { code: "003001", sqlState: "42501" })),
    ).toMatchObject({
      code: "003001",
      sqlState: "42501",
      transient: false,
    });
    expect(toSnowflakeError(Object.assign(new Error("reset"), { code: "ECONNRESET" })).transient).toBe(true);
  });
});
