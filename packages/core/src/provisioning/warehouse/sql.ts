import { createHash } from "node:crypto";

/**
 * A Snowflake string literal. Snowflake reads a backslash inside single quotes as an escape, so
 * both the quote and the backslash are doubled.
 */
export function stringLiteral(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

/** A list of string literals in parentheses, e.g. `('203.0.113.0/24', '198.51.100.7')`; `()` when empty. */
export function literalList(items: readonly string[]): string {
  return `(${items.map(stringLiteral).join(", ")})`;
}

/** The checksum recorded for a statement: SHA-256 of its text, hex. */
export function checksumOf(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
