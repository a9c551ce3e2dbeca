import type { WarehouseStatement } from "./plan";

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
