import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The kickstart CSVs read with plain TypeScript (no SQL), so the tests can compute what the
 * email model must give independently of the model.
 */

export const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));
export const DATA_DIR = join(REPO_ROOT, "templates", "kickstart", "data");
export const ZOOM_CSV = join(DATA_DIR, "zoom_webinar_registrants.csv");
export const SALESFORCE_CSV = join(DATA_DIR, "salesforce_contacts.csv");
export const MODEL_SQL = join(REPO_ROOT, "templates", "kickstart", "dbt", "models", "email_model.sql");

export const ZOOM_CONNECTION = "5f0c8a52-7d3e-4b0e-9a57-2b4c1e0d9a11";
export const SALESFORCE_CONNECTION = "c2a91e7b-3f64-4d8a-8e21-6a9d0b7f4c32";
export const DBT_ACCOUNT = 70403;
export const DBT_JOB = 112233;
export const SCHEDULE = "sch_mailchimp_audience";

/** RFC 4180: commas, double quotes ("" inside quotes), CRLF or LF; the first record is the header. */
export function parseCsv(text: string): Array<Record<string, string>> {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  const [header, ...rows] = records;
  if (!header) return [];
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i] ?? ""])));
}

export const readCsv = (path: string) => parseCsv(readFileSync(path, "utf8"));

export const normaliseEmail = (email: string | undefined) => (email ?? "").trim().toLowerCase();

export interface SourceRow {
  source: "salesforce" | "zoom";
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  company: string | null;
  seenAt: string;
}

/** Both CSVs as one list of rows with a normalised e-mail (rows without one included, email ""). */
export function sourceRows(): SourceRow[] {
  // a person's fields are read the same way from both: only the company and the time differ
  const row = (
    source: SourceRow["source"],
    r: Record<string, string | undefined>,
    company: string | null,
    seenAt: string | undefined,
  ): SourceRow => ({
    source,
    id: r.id ?? "",
    email: normaliseEmail(r.email),
    firstName: (r.first_name ?? "").trim(),
    lastName: (r.last_name ?? "").trim(),
    company,
    seenAt: seenAt ?? "",
  });
  const salesforce = readCsv(SALESFORCE_CSV).map((r) =>
    row("salesforce", r, (r.account_name ?? "").trim() || null, r.last_modified_at),
  );
  const zoom = readCsv(ZOOM_CSV).map((r) => row("zoom", r, null, r.registered_at));
  return [...salesforce, ...zoom];
}

/** The documented rule: Salesforce beats Zoom, then the most recent, then the smallest source id. */
export function expectedWinners(): Map<string, SourceRow> {
  const winners = new Map<string, SourceRow>();
  const better = (a: SourceRow, b: SourceRow) => {
    if (a.source !== b.source) return a.source === "salesforce";
    if (a.seenAt !== b.seenAt) return a.seenAt > b.seenAt; // "YYYY-MM-DD HH:MM:SS" sorts as text
    return a.id < b.id;
  };
  for (const row of sourceRows()) {
    if (row.email === "") continue;
    const current = winners.get(row.email);
    if (!current || better(row, current)) winners.set(row.email, row);
  }
  return winners;
}
