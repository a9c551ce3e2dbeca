import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  CANARY,
  invalidConfigs,
  invalidValues,
  kickstartWith,
  type Loose,
  neverFiringSchedules,
  scheduleAt,
  secretValuesAsNames,
  setAt,
} from "../support/invalid-configs";
import { CLASS_NAME_OR_STACK, spawnTapestry, tapestry } from "./harness";

/**
 * `tapestry validate`: every problem at its path, exit 2 when invalid (the CLI's rule for a config
 * error), 0 and one line when valid, nothing started. The invalid configs are the config tests' own
 * table (test/support/invalid-configs.ts), each given to the command as the default export of its
 * config file.
 */

const KICKSTART = resolve(import.meta.dirname, "../../tapestry.config.ts");

/** The documented shape of `tapestry validate --json`. */
const reportSchema = z.strictObject({
  valid: z.boolean(),
  problems: z.array(z.strictObject({ path: z.string(), message: z.string() })),
});

/** `tapestry validate --config tapestry.config.ts [--json]` whose file exports `config`. */
function validate(config: unknown, ...extra: string[]) {
  return tapestry(["validate", "--config", "tapestry.config.ts", ...extra], {
    validate: { importConfig: async () => ({ defaultExport: config }) },
  });
}

async function problemsOf(config: unknown) {
  const result = await validate(config, "--json");
  expect(result.code).toBe(2);
  expect(result.err).toEqual([]);
  const report = reportSchema.parse(JSON.parse(result.stdout));
  expect(report.valid).toBe(false);
  return report.problems;
}

describe("tapestry validate on the config tests' invalid configs", () => {
  it.each(invalidValues)("%s -> %s", async (_what, path, value, message) => {
    const problems = await problemsOf(kickstartWith((c: Loose) => setAt(c, path, value)));
    const atPath = problems.filter((p) => p.path === path);
    expect(atPath, JSON.stringify(problems)).toHaveLength(1);
    expect(atPath[0]?.message).toContain(message);
  });

  it.each(invalidConfigs)("$what -> $path", async ({ change, path, message }) => {
    const problems = await problemsOf(kickstartWith(change));
    const atPath = problems.filter((p) => p.path === path);
    expect(atPath, JSON.stringify(problems)).toHaveLength(1);
    expect(atPath[0]?.message).toContain(message);
  });

  it("prints every problem at its path on stderr, nothing on stdout, and exits 2", async () => {
    const result = await validate(
      kickstartWith((c) => {
        c.pipelines[0].stages[1].steps[0].jobId = "abc";
        c.pipelines[0].schedule.timezone = "Nowhere/Land";
        c.extra = true;
      }),
    );
    expect(result.code).toBe(2);
    expect(result.out).toEqual([]);
    expect(result.err[0]).toBe("tapestry.config.ts is invalid (3 problems):");
    expect(result.err.slice(1).map((line) => line.split(":")[0])).toEqual([
      "  - pipelines[0].schedule.timezone",
      "  - pipelines[0].stages[1].steps[0].jobId",
      "  - extra",
    ]);
    expect(result.stderr).not.toMatch(CLASS_NAME_OR_STACK);
  });

  it.each(neverFiringSchedules)("a schedule that never fires: %s", async (expression, message) => {
    const problems = await problemsOf(
      kickstartWith((c) => {
        c.pipelines[0].schedule.expression = expression;
      }),
    );
    expect(problems.find((p) => p.path === scheduleAt)?.message).toContain(message);
  });

  it.each(secretValuesAsNames)(
    "never echoes a secret value where its name belongs: %s",
    async (_what, value) => {
      const config = kickstartWith((c) => {
        c.tools["dbt-cloud"].tokenSecret = value;
      });
      const human = await validate(config);
      expect(human.code).toBe(2);
      expect(human.stderr).toContain('tools["dbt-cloud"].tokenSecret: this looks like a secret value');
      const problems = await problemsOf(config);
      expect(problems.find((p) => p.path === 'tools["dbt-cloud"].tokenSecret')?.message).toMatch(
        /^this looks like a secret value; put its NAME here/,
      );
      for (const output of [human.stdout, human.stderr, JSON.stringify(problems)]) {
        for (const part of [value, CANARY, CANARY.slice(0, 8), "ZQ81CANA", "4f9a8b7c"]) {
          expect(output).not.toContain(part);
        }
      }
    },
  );
});

describe("tapestry validate on a valid config", () => {
  it("exits 0 with a one-line summary, and { valid: true, problems: [] } with --json", async () => {
    const human = await tapestry(["validate", "--config", KICKSTART]);
    expect(human.code).toBe(0);
    expect(human.err).toEqual([]);
    expect(human.out).toEqual([
      `${KICKSTART} is valid: 1 pipeline: rain-shield-audience (4 steps, cron(0 6 * * ? *) America/New_York); tools: airbyte, dbt-cloud, grouparoo; a warehouse section`,
    ]);
    const json = await tapestry(["validate", "--config", KICKSTART, "--json"]);
    expect(json.code).toBe(0);
    expect(reportSchema.parse(JSON.parse(json.stdout))).toEqual({ valid: true, problems: [] });
  });
});

describe("tapestry validate as a user runs it (child process)", { timeout: 60_000 }, () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tapestry-validate-"));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the kickstart: exit 0, one line, and nothing started (no state folder made)", async () => {
    const result = await spawnTapestry(["validate", "--config", KICKSTART], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^\S+tapestry\.config\.ts is valid: 1 pipeline: rain-shield-audience .*\n$/,
    );
    expect(existsSync(join(dir, ".tapestry"))).toBe(false);
  });

  it("a file that does not compile: its problem at (file) with the line and column, exit 2", async () => {
    const file = join(dir, "syntax.ts");
    writeFileSync(file, "export default {\n  tools: {,\n};\n");
    const result = await spawnTapestry(["validate", "--config", file, "--json"], { cwd: dir });
    expect(result.code).toBe(2);
    expect(reportSchema.parse(JSON.parse(result.stdout))).toEqual({
      valid: false,
      problems: [
        {
          path: "(file)",
          message: `${file}:2:11: syntax error: Expected identifier but found ","; fix it and run the command again`,
        },
      ],
    });
    expect(result.stderr).toBe("");
  });
});
