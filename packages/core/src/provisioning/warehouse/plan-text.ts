import type { WarehouseConfig } from "../../config/warehouse-schema";
import { warehouseNames } from "./names";
import { type WarehouseStatement, warehousePlan } from "./plan";

/**
 * The plan as a SQL script a person reviews: each statement under a comment giving its number,
 * version, kind and what it does, with a USE ROLE wherever the role changes, exactly as the
 * bootstrapper runs it (keys shown as placeholders or fingerprints, never as keys).
 */
export function planAsSql(plan: readonly WarehouseStatement[], heading: readonly string[] = []): string {
  const lines = heading.map((line) => (line === "" ? "--" : `-- ${line}`));
  let role: string | undefined;
  for (const [index, statement] of plan.entries()) {
    lines.push("");
    lines.push(`-- ${index + 1} · ${statement.version} · ${statement.kind} · ${statement.summary}`);
    if (statement.role !== role) {
      lines.push(`USE ROLE ${statement.role};`);
      role = statement.role;
    }
    lines.push(`${statement.displaySql};`);
  }
  return `${lines.join("\n").trimStart()}\n`;
}

/**
 * The plan of a config as the reviewed file `docs/warehouse/kickstart-plan.sql` keeps it (and
 * `tapestry warehouse plan` prints it): every statement, keys as placeholders naming their secrets.
 */
export function reviewedPlanText(warehouse: WarehouseConfig, source: string): string {
  const names = warehouseNames(warehouse);
  return planAsSql(warehousePlan(warehouse), [
    `Tapestry's warehouse bootstrap: the plan for ${source} (Snowflake account ${names.account}).`,
    `Printed by \`tapestry warehouse plan --config ${source}\`; a test keeps docs/warehouse/kickstart-plan.sql in step.`,
    "",
    "The statements run one at a time, in this order, each as the role of the USE ROLE above it, and",
    `each is recorded in ${names.history.qualified} (version, checksum, applied_at).`,
    "A versioned statement runs once and may never change; a repeatable one runs again when what it sets",
    "changes. A re-run runs only what is not recorded. Each key statement sets the public half of a key",
    "pair Tapestry makes; the private half is kept only as the secret it names.",
  ]);
}
