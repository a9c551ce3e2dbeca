import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { warehousePlan } from "@tapestry/core/provisioning/warehouse";
import { REPO_ROOT } from "@tapestry/local";
import {
  bootstrapEmbeddedWarehouse,
  embeddedWarehouseStatements,
  Warehouse,
} from "@tapestry/local/warehouse";
import { afterEach, describe, expect, it } from "vitest";
import { capturingLogger, memoryKeyStore, warehouseConfig } from "./harness";

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

async function embedded() {
  const warehouse = await Warehouse.open(":memory:");
  const dir = await mkdtemp(join(tmpdir(), "tapestry-embedded-warehouse-"));
  cleanup.push(
    () => warehouse.close(),
    () => rm(dir, { recursive: true, force: true }),
  );
  return { warehouse, accountFile: join(dir, "snowflake-account.json") };
}

describe("the embedded warehouse bootstrap", () => {
  it("creates on DuckDB the kickstart's schemas and raw tables (columns from its CSVs), re-runnably", async () => {
    expect(await embeddedWarehouseStatements(REPO_ROOT)).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "zoom"',
      'CREATE SCHEMA IF NOT EXISTS "salesforce"',
      'CREATE SCHEMA IF NOT EXISTS "analytics"',
      'CREATE TABLE IF NOT EXISTS "zoom"."webinar_registrants" ("id" VARCHAR, "webinar_id" VARCHAR, "topic" VARCHAR, "first_name" VARCHAR, "last_name" VARCHAR, "email" VARCHAR, "registered_at" VARCHAR)',
      'CREATE TABLE IF NOT EXISTS "salesforce"."contacts" ("id" VARCHAR, "first_name" VARCHAR, "last_name" VARCHAR, "email" VARCHAR, "account_name" VARCHAR, "lead_source" VARCHAR, "last_modified_at" VARCHAR)',
    ]);
    const { warehouse } = await embedded();
    const config = warehouseConfig();
    await bootstrapEmbeddedWarehouse({ config, warehouse, repoRoot: REPO_ROOT });
    await bootstrapEmbeddedWarehouse({ config, warehouse, repoRoot: REPO_ROOT });
    expect(await warehouse.countRows("zoom.webinar_registrants")).toBe(0);
    expect(await warehouse.countRows("salesforce.contacts")).toBe(0);
    // a sync still replaces the raw table with its rows
    const loaded = await warehouse.loadCsv(
      "zoom.webinar_registrants",
      join(REPO_ROOT, "templates/kickstart/data/zoom_webinar_registrants.csv"),
    );
    expect(loaded.rows).toBeGreaterThan(0);
  });

  it("runs the whole Snowflake plan on the scripted account, which records what would run", async () => {
    const { warehouse } = await embedded();
    const config = warehouseConfig();
    const result = await bootstrapEmbeddedWarehouse({
      config,
      warehouse,
      repoRoot: REPO_ROOT,
      logger: capturingLogger(),
    });
    expect(result.snowflake.counts).toEqual({
      applied: warehousePlan(config).length,
      skipped: 0,
      wouldApply: 0,
    });
    expect(
      result.account.executed.some((e) =>
        e.sql.startsWith("CREATE USER IF NOT EXISTS TAPESTRY_AIRBYTE TYPE = SERVICE"),
      ),
    ).toBe(true);
  });

  it("kept in the state folder, the account makes a second start apply nothing (with the keys kept too)", async () => {
    const { warehouse, accountFile } = await embedded();
    const config = warehouseConfig();
    const keys = memoryKeyStore();
    await bootstrapEmbeddedWarehouse({ config, warehouse, repoRoot: REPO_ROOT, accountFile, keys });
    const second = await bootstrapEmbeddedWarehouse({
      config,
      warehouse,
      repoRoot: REPO_ROOT,
      accountFile,
      keys,
    });
    expect(second.snowflake.counts.applied).toBe(0);

    // the file holds names, grants and public keys: no private key
    const kept = await readFile(accountFile, "utf8");
    expect(kept).not.toContain("PRIVATE KEY");
    for (const pem of keys.values.values()) {
      for (const line of pem.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----"))) {
        expect(kept).not.toContain(line);
      }
    }
  });

  it("with keys kept in memory only, a new start gives the service users new keys and changes nothing else", async () => {
    const { warehouse, accountFile } = await embedded();
    const config = warehouseConfig();
    await bootstrapEmbeddedWarehouse({ config, warehouse, repoRoot: REPO_ROOT, accountFile });
    const second = await bootstrapEmbeddedWarehouse({ config, warehouse, repoRoot: REPO_ROOT, accountFile });
    expect(second.snowflake.statements.filter((s) => s.state === "applied").map((s) => s.version)).toEqual([
      "R1.02",
      "R1.03",
      "R1.04",
    ]);
  });

  it("an unreadable kept account is set aside with a warning, and the plan replays on a fresh one", async () => {
    const { warehouse, accountFile } = await embedded();
    await writeFile(accountFile, "{ not json");
    const logger = capturingLogger();
    const result = await bootstrapEmbeddedWarehouse({
      config: warehouseConfig(),
      warehouse,
      repoRoot: REPO_ROOT,
      accountFile,
      logger,
    });
    expect(result.snowflake.counts.skipped).toBe(0);
    expect(logger.lines.some((l) => l.includes("is not readable; starting a fresh one"))).toBe(true);
  });
});
