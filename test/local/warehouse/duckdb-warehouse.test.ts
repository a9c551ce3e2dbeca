import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Warehouse } from "../../../packages/local/src/warehouse";
import { readCsv, ZOOM_CSV } from "./kickstart-data";

let tmp: string;
const opened: Warehouse[] = [];
const open = (path: string) => {
  const warehouse = new Warehouse(path);
  opened.push(warehouse);
  return warehouse;
};

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tapestry-warehouse-"));
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((w) => w.close()));
  await rm(tmp, { recursive: true, force: true });
});

describe("Warehouse", () => {
  it("keeps a database file, creating its folder, and loads a CSV into a schema table", async () => {
    const path = join(tmp, "nested", "deeper", "tapestry.duckdb");
    const warehouse = open(path);
    const loaded = await warehouse.loadCsv("zoom.webinar_registrants", ZOOM_CSV);
    expect(loaded).toEqual({
      table: "zoom.webinar_registrants",
      rows: readCsv(ZOOM_CSV).length,
      bytes: (await stat(ZOOM_CSV)).size,
    });
    await warehouse.close();
    expect((await stat(path)).isFile()).toBe(true);

    const again = open(path);
    expect(await again.countRows("zoom.webinar_registrants")).toBe(40);
  });

  it("replaces the table on every load", async () => {
    const warehouse = open(":memory:");
    const csv = join(tmp, "people.csv");
    await writeFile(csv, "id,email\n1,a@example.com\n2,b@example.com\n3,c@example.com\n");
    expect((await warehouse.loadCsv("raw.people", csv)).rows).toBe(3);
    await writeFile(csv, "id,email,extra\n9,z@example.com,x\n");
    expect((await warehouse.loadCsv("raw.people", csv)).rows).toBe(1);
    expect(await warehouse.readTable("raw.people")).toEqual([{ id: 9, email: "z@example.com", extra: "x" }]);
  });

  it("builds a model and reads it back as JSON values, sorted when asked", async () => {
    const warehouse = open(":memory:");
    const csv = join(tmp, "people.csv");
    await writeFile(
      csv,
      "id,email,seen\n2,B@example.com,2021-03-01 10:00:00\n1,a@example.com,2021-03-02 11:30:00\n",
    );
    await warehouse.loadCsv("raw.people", csv);
    const model = join(tmp, "people_model.sql");
    await writeFile(
      model,
      "{{ config(materialized='table') }}\nselect lower(email) as email, count(*) over () as total, seen\nfrom {{ source('crm', 'people') }};\n",
    );
    const built = await warehouse.runModel(model, { sources: { "crm.people": "raw.people" } });
    expect(built).toEqual({ table: "main.people_model", rows: 2, materialized: "table" });
    expect(await warehouse.readTable("main.people_model", { orderBy: ["email"] })).toEqual([
      { email: "a@example.com", total: 2, seen: "2021-03-02 11:30:00" },
      { email: "b@example.com", total: 2, seen: "2021-03-01 10:00:00" },
    ]);

    // a view may replace the table, and a table the view
    await writeFile(model, "{{ config(materialized='view') }} select 1 as one");
    expect(await warehouse.runModel(model, { sources: {} })).toMatchObject({ rows: 1, materialized: "view" });
    await writeFile(model, "select 1 as one union all select 2");
    expect(await warehouse.runModel(model, { sources: {} })).toMatchObject({
      rows: 2,
      materialized: "table",
    });
  });

  it("keeps the previous model when a build fails, and says which model failed", async () => {
    const warehouse = open(":memory:");
    const model = join(tmp, "m.sql");
    await writeFile(model, "select 1 as one");
    await warehouse.runModel(model, { table: "analytics.m", sources: {} });
    await writeFile(model, "select * from no_such_table");
    await expect(warehouse.runModel(model, { table: "analytics.m", sources: {} })).rejects.toThrow(
      /the model .*m\.sql failed to build analytics\.m: .*no_such_table/,
    );
    expect(await warehouse.readTable("analytics.m")).toEqual([{ one: 1 }]);
  });

  it("runs concurrent operations one at a time", async () => {
    const warehouse = open(":memory:");
    const csvs = await Promise.all(
      [1, 2, 3, 4, 5].map(async (n) => {
        const csv = join(tmp, `t${n}.csv`);
        await writeFile(csv, `n\n${Array.from({ length: n }, (_, i) => i).join("\n")}\n`);
        return csv;
      }),
    );
    const results = await Promise.all(csvs.map((csv, i) => warehouse.loadCsv(`raw.t${i + 1}`, csv)));
    expect(results.map((r) => r.rows)).toEqual([1, 2, 3, 4, 5]);
    const counts = await Promise.all(csvs.map((_, i) => warehouse.countRows(`raw.t${i + 1}`)));
    expect(counts).toEqual([1, 2, 3, 4, 5]);
  });

  it("answers clear errors: missing CSV, bad table name, aborted, closed", async () => {
    const warehouse = open(":memory:");
    await expect(warehouse.loadCsv("raw.x", join(tmp, "missing.csv"))).rejects.toThrow(
      /cannot load raw\.x: .*missing\.csv is not readable \(ENOENT\)/,
    );
    await expect(warehouse.loadCsv("raw x", ZOOM_CSV)).rejects.toThrow(/"raw x" is not a table name/);
    await expect(warehouse.loadCsv("raw.x", ZOOM_CSV, { signal: AbortSignal.abort() })).rejects.toThrow(
      /abort/i,
    );
    await warehouse.close();
    await expect(warehouse.countRows("raw.x")).rejects.toThrow(/the warehouse :memory: is closed/);
  });
});
