import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ProvisioningStoreUnavailableError } from "@tapestry/core/provisioning";
import {
  type StackTool,
  type ToolStackRecord,
  type ToolStackRecords,
  toolStackRecordSchema,
} from "@tapestry/core/provisioning/stacks";

/**
 * The tool stacks' records, embedded: a table of its own in ledger.sqlite, created on open (the run
 * ledger's migrations own PRAGMA user_version; this never touches it).
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tool_stacks (
  tool TEXT PRIMARY KEY,
  body TEXT NOT NULL
) STRICT;
`;

export class SqliteToolStackRecords implements ToolStackRecords {
  private constructor(private readonly db: DatabaseSync) {}

  static open(path: string | ":memory:"): SqliteToolStackRecords {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path, { timeout: 5_000 });
    try {
      db.exec(SCHEMA);
      return new SqliteToolStackRecords(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  async get(tool: StackTool): Promise<ToolStackRecord | undefined> {
    const row = this.run(() => this.db.prepare("SELECT body FROM tool_stacks WHERE tool = ?").get(tool));
    return row === undefined ? undefined : toolStackRecordSchema.parse(JSON.parse(String(row.body)));
  }

  async put(record: ToolStackRecord): Promise<void> {
    this.run(() =>
      this.db
        .prepare(
          "INSERT INTO tool_stacks (tool, body) VALUES (?, ?) ON CONFLICT (tool) DO UPDATE SET body = excluded.body",
        )
        .run(record.tool, JSON.stringify(record)),
    );
  }

  async list(): Promise<readonly ToolStackRecord[]> {
    const rows = this.run(() => this.db.prepare("SELECT body FROM tool_stacks ORDER BY tool").all());
    return rows.map((row) => toolStackRecordSchema.parse(JSON.parse(String(row.body))));
  }

  private run<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      const code = (error as { errcode?: number }).errcode;
      if (code === 5 || code === 6) {
        throw new ProvisioningStoreUnavailableError("the tool stacks' SQLite table is busy", {
          cause: error,
        });
      }
      throw error;
    }
  }
}
