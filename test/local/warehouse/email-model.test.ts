import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KICKSTART_MODEL, Warehouse, type WarehouseRow } from "../../../packages/local/src/warehouse";
import {
  expectedWinners,
  MODEL_SQL,
  normaliseEmail,
  readCsv,
  SALESFORCE_CSV,
  sourceRows,
  ZOOM_CSV,
} from "./kickstart-data";

let warehouse: Warehouse;
let tmp: string;

beforeEach(async () => {
  warehouse = new Warehouse(":memory:");
  tmp = await mkdtemp(join(tmpdir(), "tapestry-model-"));
});
afterEach(async () => {
  await warehouse.close();
  await rm(tmp, { recursive: true, force: true });
});

async function buildModel(zoomCsv = ZOOM_CSV, salesforceCsv = SALESFORCE_CSV): Promise<WarehouseRow[]> {
  await warehouse.loadCsv("zoom.webinar_registrants", zoomCsv);
  await warehouse.loadCsv("salesforce.contacts", salesforceCsv);
  await warehouse.runModel(MODEL_SQL, { table: KICKSTART_MODEL.table, sources: KICKSTART_MODEL.sources });
  return warehouse.readTable(KICKSTART_MODEL.table, { orderBy: ["email"] });
}

describe("the kickstart data", () => {
  it("has the shape the README describes", () => {
    const zoom = readCsv(ZOOM_CSV);
    const salesforce = readCsv(SALESFORCE_CSV);
    expect([zoom.length, salesforce.length]).toEqual([40, 45]);
    const rows = sourceRows();
    const zoomEmails = new Set(rows.filter((r) => r.source === "zoom" && r.email).map((r) => r.email));
    const sfEmails = new Set(rows.filter((r) => r.source === "salesforce" && r.email).map((r) => r.email));
    expect([zoomEmails.size, sfEmails.size]).toEqual([32, 38]);
    expect([...zoomEmails].filter((e) => sfEmails.has(e))).toHaveLength(12);
    expect(rows.filter((r) => r.email === "")).toHaveLength(6);
    // mixed case and padding really are there
    expect(zoom.some((r) => r.email !== r.email?.trim())).toBe(true);
    expect(salesforce.some((r) => r.email !== r.email?.toLowerCase())).toBe(true);
  });
});

describe("email_model on the kickstart data", () => {
  it("has exactly the unique normalised e-mails of the two CSVs, each once", async () => {
    const rows = await buildModel();
    const expected = new Set(
      [...readCsv(ZOOM_CSV), ...readCsv(SALESFORCE_CSV)].map((r) => normaliseEmail(r.email)).filter(Boolean),
    );
    const emails = rows.map((r) => r.email);
    expect(emails).toHaveLength(58);
    expect(new Set(emails).size).toBe(emails.length);
    expect([...emails].sort()).toEqual([...expected].sort());
    for (const email of emails) {
      expect(typeof email).toBe("string");
      expect(email).toBe(normaliseEmail(String(email)));
      expect(email).not.toBe("");
    }
    expect(await warehouse.countRows(KICKSTART_MODEL.table)).toBe(58);
  });

  it("drops the rows without an e-mail (empty or blank)", async () => {
    const rows = await buildModel();
    const people = rows.map((r) => `${r.first_name} ${r.last_name}`);
    // Sam Patel and Chris Doyle (empty), Victor Lam (blank) in Zoom; Daniel Kim, Emily Tran, Zainab Yusuf in Salesforce
    for (const name of ["Sam Patel", "Chris Doyle", "Victor Lam", "Daniel Kim", "Emily Tran", "Zainab Yusuf"])
      expect(people).not.toContain(name);
    expect(rows.every((r) => r.email !== null)).toBe(true);
  });

  it("takes the names of the winning row: Salesforce, then the most recent, then the smallest id", async () => {
    const byEmail = new Map((await buildModel()).map((r) => [r.email, r]));
    const pick = (email: string) => {
      const row = byEmail.get(email);
      return row && { first_name: row.first_name, last_name: row.last_name, company: row.company };
    };
    // Susie registered for the webinar twice; Salesforce knows her as "Sue" (2020) and "Susan" (2021)
    expect(pick("susie.quinn@example.com")).toEqual({
      first_name: "Susan",
      last_name: "Quinn",
      company: "Puddle Jump Boutique",
    });
    // Salesforce beats Zoom even when the Zoom row is newer
    expect(pick("liam.oconnor@example.com")?.first_name).toBe("William");
    // "Kate" and "Katherine" were modified at the same second: the smaller Salesforce id wins
    expect(pick("kate.morrison@example.com")?.first_name).toBe("Kate");
    // only in Zoom, twice: the newer registration wins
    expect(pick("bob.okafor@example.com")).toEqual({
      first_name: "Robert",
      last_name: "Okafor",
      company: null,
    });
    expect(pick("tom.fairweather@example.com")?.first_name).toBe("Tomás");

    // every address follows the rule, as computed here in plain TypeScript
    const winners = expectedWinners();
    for (const [email, winner] of winners) {
      expect(pick(email), email).toEqual({
        first_name: winner.firstName,
        last_name: winner.lastName,
        company: winner.company,
      });
    }
  });

  it("says which sources know an address", async () => {
    const byEmail = new Map((await buildModel()).map((r) => [r.email, r]));
    expect(byEmail.get("susie.quinn@example.com")).toMatchObject({
      sources: "salesforce,zoom",
      registered_for_webinar: true,
      source_records: 4,
      last_seen_at: "2021-03-07 08:05:41",
    });
    expect(byEmail.get("henry.walsh@example.org")).toMatchObject({
      sources: "salesforce",
      registered_for_webinar: false,
      source_records: 2,
    });
    expect(byEmail.get("diego@alvarez.example")).toMatchObject({
      sources: "zoom",
      registered_for_webinar: true,
      lead_source: null,
    });
  });

  it("is deterministic: the same data in another order gives the same audience", async () => {
    const first = await buildModel();
    const reversed = async (path: string, name: string) => {
      const [header, ...lines] = (await readFile(path, "utf8")).trimEnd().split("\n");
      const target = join(tmp, name);
      await writeFile(target, `${[header, ...lines.reverse()].join("\n")}\n`);
      return target;
    };
    const second = await buildModel(
      await reversed(ZOOM_CSV, "zoom.csv"),
      await reversed(SALESFORCE_CSV, "salesforce.csv"),
    );
    expect(second).toEqual(first);
  });
});
