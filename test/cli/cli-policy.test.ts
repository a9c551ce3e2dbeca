import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { colorEnabled } from "../../packages/cli/src/cli-policy";
import { CLASS_NAME_OR_STACK, tapestry } from "./harness";

/**
 * One CLI policy for every command: exit codes 0 / 1 / 2, commander's usage errors included;
 * --version; --help with an example on every command; no error class name or stack shown; NO_COLOR.
 */

const CLI_PACKAGE = resolve(import.meta.dirname, "../../packages/cli/package.json");

/** The commands a help page lists under "Commands:" (commander's own `help` aside). */
function listedCommands(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1]?.split(/^\S/m)[0] ?? "";
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)]
    .map((m) => m[1] ?? "")
    .filter((name) => name !== "help");
}

/** Every command path of the tree, found through the help pages as a user would. */
async function everyCommandPath(prefix: readonly string[] = []): Promise<string[][]> {
  const { out } = await tapestry([...prefix, "--help"]);
  const paths: string[][] = [];
  for (const name of listedCommands(out.join("\n"))) {
    paths.push([...prefix, name], ...(await everyCommandPath([...prefix, name])));
  }
  return paths;
}

describe("tapestry --version and --help", () => {
  it("--version prints the version of packages/cli/package.json and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(CLI_PACKAGE, "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const result = await tapestry([flag]);
      expect(result.code).toBe(0);
      expect(result.out).toEqual([version]);
    }
  });

  it("the root help documents the exit codes", async () => {
    const result = await tapestry(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /Exit codes \(every command\):\n {2}0 {2}success\n {2}1 {2}failure.*\n {2}2 {2}usage or config error/,
    );
  });

  it("every command has --help with at least one example and the exit codes, and exits 0", async () => {
    const paths = await everyCommandPath();
    // the commands of this brief, and the ones before it
    for (const expected of [
      "local",
      "validate",
      "status",
      "runs",
      "logs",
      "run",
      "cancel",
      "secrets",
      "warehouse",
    ]) {
      expect(paths.map((p) => p.join(" "))).toContain(expected);
    }
    expect(paths.map((p) => p.join(" "))).toEqual(
      expect.arrayContaining([
        "secrets set",
        "secrets list",
        "secrets remove",
        "warehouse plan",
        "warehouse bootstrap",
      ]),
    );
    for (const path of paths) {
      const result = await tapestry([...path, "--help"]);
      expect(result.code, path.join(" ")).toBe(0);
      expect(result.stdout, path.join(" ")).toMatch(/^Examples?:\n {2}\S/m);
      expect(result.stdout, path.join(" ")).toMatch(/Exit codes/);
    }
  });
});

describe("usage errors exit 2 with a message, commander's own included", () => {
  it.each([
    ["no command at all", [], /Usage: tapestry/],
    [
      "an unknown command (with a suggestion)",
      ["stauts"],
      /unknown command 'stauts'[\s\S]*Did you mean status\?/,
    ],
    ["an unknown option of local", ["local", "--onse"], /unknown option '--onse'/],
    [
      "a bad port for local (exited 1 before)",
      ["local", "--port", "http"],
      /expected a port number from 0 to 65535, got "http"/,
    ],
    [
      "a bad --real choice",
      ["local", "--real", "fivetran"],
      /argument 'fivetran' is invalid\. Allowed choices are airbyte, dbt-cloud, grouparoo/,
    ],
    ["a missing argument", ["runs"], /missing required argument 'pipeline'/],
    [
      "a bad --limit",
      ["runs", "rain-shield-audience", "--limit", "500"],
      /expected a whole number from 1 to 100, got "500"/,
    ],
    [
      "--local with --stage",
      ["status", "--local", "--stage", "prod"],
      /option '--local \[url\]' cannot be used with option '--stage <stage>'/,
    ],
    [
      "--api-url without --stage",
      ["status", "--api-url", "https://abc123.execute-api.eu-west-1.amazonaws.com"],
      /--api-url and --region go with --stage <stage>/,
    ],
    [
      "a stage name SST cannot use",
      ["status", "--stage", "prod/../dev"],
      /"prod\/\.\.\/dev" is not a stage name/,
    ],
    ["an unknown subcommand of secrets", ["secrets", "get"], /unknown command 'get'/],
    ["an unknown subcommand of warehouse", ["warehouse", "drop"], /unknown command 'drop'/],
    [
      "a bad pipeline name",
      ["run", "Rain Shield", "--local", "http://127.0.0.1:9"],
      /"Rain Shield" is not a pipeline name: expected lower-case letters/,
    ],
    ["a bad run id", ["logs", "not-a-run", "--local", "http://127.0.0.1:9"], /"not-a-run" is not a run id/],
    // named before any control plane is looked for (there is none in this test's state folder)
    [
      "a bad run id, no control plane",
      ["cancel", "nope", "--state-dir", "/nonexistent"],
      /"nope" is not a run id/,
    ],
    [
      "a --local that is not a URL",
      ["status", "--local", "localhost 4000"],
      /--local expects an http\(s\) URL/,
    ],
  ])("%s", async (_what, argv, message) => {
    const result = await tapestry(argv);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(CLASS_NAME_OR_STACK);
  });
});

describe("errors are shown as their message and fix, never their class name", () => {
  it("a config that is not there: the message only (ConfigLoadError is not shown)", async () => {
    const result = await tapestry(["validate", "--config", "/nonexistent/tapestry.config.ts"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no config at /nonexistent/tapestry.config.ts");
    expect(result.stderr).not.toMatch(CLASS_NAME_OR_STACK);
  });

  it("a failure that is not Tapestry's own: its message, exit 1, no class name or stack", async () => {
    const broken = {
      importConfig: async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'pipelines')");
      },
    };
    const result = await tapestry(["validate"], { validate: broken });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "tapestry failed unexpectedly: Cannot read properties of undefined (reading 'pipelines') (a fault in tapestry itself: please report it)",
    );
    expect(result.stderr).not.toMatch(CLASS_NAME_OR_STACK);
  });
});

describe("colours", () => {
  it("follow NO_COLOR (any non-empty value), then FORCE_COLOR, then the terminal", () => {
    expect(colorEnabled({}, true)).toBe(true);
    expect(colorEnabled({}, false)).toBe(false);
    // on a terminal too: `tapestry local` coloured a terminal's output whatever NO_COLOR said
    expect(colorEnabled({ NO_COLOR: "1" }, true)).toBe(false);
    expect(colorEnabled({ NO_COLOR: "1", FORCE_COLOR: "1" }, true)).toBe(false);
    expect(colorEnabled({ NO_COLOR: "" }, true)).toBe(true);
    expect(colorEnabled({ FORCE_COLOR: "1" }, false)).toBe(true);
    expect(colorEnabled({ FORCE_COLOR: "0" }, true)).toBe(true);
    expect(colorEnabled({ TERM: "dumb" }, true)).toBe(false);
  });
});
