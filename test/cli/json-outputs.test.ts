import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { tapestry } from "./harness";

/**
 * `--json` on every read command (issue 12): each documents its shape in its help and the README.
 * The shapes of validate, status, runs, logs, run, cancel, secrets list and doctor are checked by
 * their commands' own tests; warehouse plan's here.
 */

const KICKSTART = resolve(import.meta.dirname, "../../tapestry.config.ts");

const READ_COMMANDS: readonly (readonly string[])[] = [
  ["validate"],
  ["status"],
  ["runs"],
  ["logs"],
  ["doctor"],
  ["secrets", "list"],
  ["warehouse", "plan"],
];

describe("--json on every read command", () => {
  it.each(READ_COMMANDS.map((path) => [path.join(" "), path] as const))(
    "%s offers --json",
    async (_name, path) => {
      const help = await tapestry([...path, "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/^ {2}--json\s+print/m);
    },
  );

  it("warehouse plan --json: the statements in order, as documented, no key material", async () => {
    const schema = z.strictObject({
      account: z.string(),
      statements: z.array(
        z.strictObject({
          number: z.number().int().positive(),
          version: z.string().regex(/^R?\d+\.\d+$/),
          kind: z.enum(["versioned", "repeatable"]),
          role: z.enum(["SYSADMIN", "SECURITYADMIN", "USERADMIN", "ACCOUNTADMIN"]),
          summary: z.string(),
          sql: z.string(),
        }),
      ),
    });
    const json = await tapestry(["warehouse", "plan", "--config", KICKSTART, "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const plan = schema.parse(JSON.parse(json.stdout));
    expect(plan.account).toBe("rainshield-analytics");
    expect(plan.statements.map((s) => s.number)).toEqual(plan.statements.map((_, i) => i + 1));
    // the same statements the SQL text prints, in the same order
    const text = await tapestry(["warehouse", "plan", "--config", KICKSTART]);
    let at = 0;
    for (const statement of plan.statements) {
      const found = text.stdout.indexOf(statement.sql, at);
      expect(found, statement.summary).toBeGreaterThanOrEqual(at);
      at = found;
    }
    expect(json.stdout).not.toMatch(/BEGIN (RSA )?PRIVATE KEY|MII[A-Za-z0-9+/]{40}/);
  });
});
