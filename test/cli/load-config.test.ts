import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, runTapestryOnce } from "../support/tapestry-cli";

/**
 * Loading a config as a user meets it: `tapestry local --config <file>` in a child process on the
 * project's Node 24 (tsx compiles the file, as it does for a user). Whatever the file does, the
 * answer is one message naming the file, exit code 2 and no stack trace, unless --verbose.
 */

const SPAWN_LIMIT_MS = 30_000;
const STACK_LINE = /^\s+at /m;

/** A valid config with no imports (the temp folder has no node_modules), as text to bend. */
const VALID = `{
  tools: { "dbt-cloud": { tokenSecret: "DBT_CLOUD_TOKEN" } },
  pipelines: [
    {
      name: "nightly",
      schedule: { expression: "cron(0 6 * * ? *)" },
      stages: [{ name: "transform", steps: [{ name: "model", tool: "dbt-cloud", accountId: 1, jobId: 2, timeoutMinutes: 30 }] }],
    },
  ],
}`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tapestry-load-config-"));
  // an ESM project, as a user's would be
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function configFile(name: string, source: string): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

function tapestryLocal(config: string, ...extra: string[]): Promise<CliResult> {
  return runTapestryOnce(["--state-dir", join(dir, "state"), "--config", config, ...extra], {
    limitMs: SPAWN_LIMIT_MS,
    cwd: dir,
  });
}

/** Exit 2, nothing on stdout (nothing started), the message on stderr, and no stack trace. */
function expectConfigFailure(result: CliResult, message: string | RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe("");
  if (typeof message === "string") expect(result.stderr).toContain(message);
  else expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(STACK_LINE);
}

describe("tapestry local --config <file> that cannot be loaded or is not plain data", {
  timeout: 60_000,
}, () => {
  it("a syntax error: the file, line and column, and esbuild's words", async () => {
    const file = configFile("syntax.ts", "export default {\n  tools: {,\n};\n");
    // line 2, column 11 (1-based): the comma
    expectConfigFailure(
      await tapestryLocal(file),
      `${file}:2:11: syntax error: Expected identifier but found ","; fix it and run the command again\n`,
    );
  });

  it("a throw while the file is imported: the file, the line of the throw and its message", async () => {
    const file = configFile(
      "throws.ts",
      `const base = ${VALID};\nthrow new Error("no such profile");\nexport default base;\n`,
    );
    const result = await tapestryLocal(file);
    expectConfigFailure(
      result,
      /throws\.ts:\d+:\d+: the config threw while it was loaded: Error: no such profile\n$/,
    );
    // the line of the throw: the object literal of VALID takes its lines first
    expect(result.stderr).toContain(`throws.ts:${VALID.split("\n").length + 1}:7:`);
  });

  it("a getter: refused at its path, never called", async () => {
    const file = configFile(
      "getter.ts",
      `const config = ${VALID};\nObject.defineProperty(config.pipelines[0], "description", { enumerable: true, get() { throw new Error("GETTER WAS CALLED"); } });\nexport default config;\n`,
    );
    const result = await tapestryLocal(file);
    expectConfigFailure(result, `${file} is invalid (1 problem):\n  - pipelines[0].description: is a getter`);
    expect(result.stderr).not.toContain("GETTER WAS CALLED");
  });

  it("a BigInt: refused at its path (the error formatter no longer crashes on it)", async () => {
    const file = configFile("bigint.ts", `export default ${VALID.replace("jobId: 2", "jobId: 2n")};\n`);
    expectConfigFailure(
      await tapestryLocal(file),
      "pipelines[0].stages[0].steps[0].jobId: is the BigInt 2n: write the number 2 without the n",
    );
  });

  it("a cycle: refused where it points back", async () => {
    const file = configFile(
      "cycle.ts",
      `const config = ${VALID};\n(config.pipelines[0] as any).self = config;\nexport default config;\n`,
    );
    expectConfigFailure(await tapestryLocal(file), "pipelines[0].self: refers back to (root)");
  });

  it("a required field reached through the prototype is not a value", async () => {
    const file = configFile(
      "prototype.ts",
      `const config = ${VALID};\nconst step = config.pipelines[0].stages[0].steps[0] as Record<string, unknown>;\nconst { timeoutMinutes, ...rest } = step;\nconfig.pipelines[0].stages[0].steps[0] = Object.assign(Object.create({ timeoutMinutes }), rest);\nexport default config;\n`,
    );
    expectConfigFailure(
      await tapestryLocal(file),
      /pipelines\[0\]\.stages\[0\]\.steps\[0\]\.timeoutMinutes: is required: .* only inherits it through its prototype/,
    );
  });

  it.each([
    ["a number", "export default 42;\n", "(root): expected an object, got 42"],
    ["a function", `export default () => (${VALID});\n`, "(root): the default export is a function"],
    ["a Promise", `export default Promise.resolve(${VALID});\n`, "(root): is a Promise: await it first"],
  ])("a default export that is %s", async (_what, source, message) => {
    expectConfigFailure(await tapestryLocal(configFile("export.ts", source)), message);
  });

  it("no default export, and no file at all", async () => {
    const file = configFile("named.ts", `export const config = ${VALID};\n`);
    expectConfigFailure(await tapestryLocal(file), `${file} has no default export`);
    expectConfigFailure(
      await tapestryLocal(join(dir, "missing.ts")),
      `no config at ${join(dir, "missing.ts")}`,
    );
  });

  it("NaN, Infinity and a 600-character description are described as written, with the limit", async () => {
    const source = VALID.replace(
      "timeoutMinutes: 30",
      "timeoutMinutes: NaN, pollIntervalSeconds: Infinity",
    ).replace('name: "nightly",', `name: "nightly", description: "${"x".repeat(600)}",`);
    const result = await tapestryLocal(configFile("numbers.ts", `export default ${source};\n`));
    expectConfigFailure(
      result,
      "pipelines[0].description: expected text of at most 512 characters, got 600 characters",
    );
    expect(result.stderr).toContain(
      "timeoutMinutes: expected a whole number of minutes from 1 to 1440 (24 hours), got NaN",
    );
    expect(result.stderr).toContain(
      "pollIntervalSeconds: expected a whole number of seconds from 1 to 3600, got Infinity",
    );
  });

  it("a secret value where a secret name belongs is never echoed", async () => {
    const canary = "dbtc_Zq81CANARYv9x2Lk3Jw0";
    const result = await tapestryLocal(
      configFile("secret.ts", `export default ${VALID.replace("DBT_CLOUD_TOKEN", canary)};\n`),
    );
    expectConfigFailure(
      result,
      'tools["dbt-cloud"].tokenSecret: this looks like a secret value; put its NAME here and set the value with `tapestry secrets set`',
    );
    expect(`${result.stdout}${result.stderr}`).not.toContain("Zq81CANARY");
  });

  it("a cron that never fires is refused at its path", async () => {
    const file = configFile(
      "never.ts",
      `export default ${VALID.replace("cron(0 6 * * ? *)", "cron(0 6 30 FEB ? *)")};\n`,
    );
    expectConfigFailure(
      await tapestryLocal(file),
      'pipelines[0].schedule.expression: cron(0 6 30 FEB ? *): day-of-month "30" never occurs in month "FEB"',
    );
  });

  it("--verbose adds the stack of the error and of its cause", async () => {
    const file = configFile("verbose.ts", `throw new Error("no such profile");\nexport default {};\n`);
    const result = await tapestryLocal(file, "--verbose");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${file}:1:7: the config threw while it was loaded: Error: no such profile`,
    );
    expect(result.stderr).toMatch(STACK_LINE);
    expect(result.stderr).toMatch(/caused by: Error: no such profile\n\s+at .*verbose\.ts:1:7/);
  });
});
