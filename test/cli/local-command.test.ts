import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteRunLedger } from "@tapestry/local/ledger";
import { type SandboxSet, startSandboxes } from "@tapestry/local/sandboxes";
import { afterEach, describe, expect, it } from "vitest";
import type { Prompter } from "../../packages/cli/src/prompts";
import { PromptAbortedError } from "../../packages/cli/src/prompts";
import { secretVariable } from "../../packages/cli/src/secret-variables";
import { kickstartWith, type Loose } from "../support/invalid-configs";
import { CLASS_NAME_OR_STACK, spawnTapestry, tapestry } from "./harness";

/**
 * `tapestry local`'s flags: `--pipeline` runs one pipeline, `--real` has every secret before
 * anything starts (variables or hidden prompts, never argv or a file), `--verbose` shows the HTTP
 * client's attempts and retries, and the start-up run is labelled as such.
 */

const TOKEN = "dbtc_local-flags_Zq81x9";
const TEST_TIMEOUT_MS = 60_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tapestry-local-flags-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A plain-data config file (the kickstart with `change`) in a folder of its own. */
function configFile(change: (config: Loose) => void = () => undefined): { file: string; dir: string } {
  const dir = tempDir();
  const file = join(dir, "tapestry.config.mjs");
  writeFileSync(file, `export default ${JSON.stringify(kickstartWith(change), null, 2)};\n`);
  return { file, dir };
}

/** A prompter that answers from a script and records what it was asked. */
function scriptedPrompter(
  answers: Record<string, string>,
  onAsk: (message: string) => void = () => undefined,
) {
  const asked: string[] = [];
  const prompter: Prompter = {
    text: async (message) => {
      throw new Error(`unexpected question: ${message}`);
    },
    secret: async (message) => {
      asked.push(message);
      onAsk(message);
      const name = message.split(" ")[0] ?? "";
      const answer = answers[name];
      if (answer === undefined)
        throw new PromptAbortedError("stopped at a question (Ctrl-C): nothing was written or started");
      return answer;
    },
    confirm: async () => true,
  };
  return { prompter, asked };
}

/** A dbt Cloud sandbox on loopback playing the real dbt Cloud, accepting only TOKEN. */
async function realDbtCloud(): Promise<SandboxSet> {
  const sandboxes = await startSandboxes({
    "dbt-cloud": { defaults: { queuedMs: 20, durationMs: 100 }, auth: { kind: "token", token: TOKEN } },
  });
  cleanups.push(() => sandboxes.close());
  return sandboxes;
}

/**
 * The kickstart with dbt Cloud at `baseUrl`, its step polled each second (a real tool is polled),
 * and no sync stage: the loopback dbt Cloud builds no model for Grouparoo to read.
 */
function pointDbtAt(baseUrl: string) {
  return (c: Loose) => {
    c.tools["dbt-cloud"].baseUrl = baseUrl;
    c.pipelines[0].stages[1].steps[0].pollIntervalSeconds = 1;
    c.pipelines[0].stages = c.pipelines[0].stages.slice(0, 2);
  };
}

describe("tapestry local --pipeline", () => {
  it("an unknown pipeline: exit 2 naming the config's pipelines, nothing started", async () => {
    const { file, dir } = configFile();
    const stateDir = join(dir, "state");
    const result = await tapestry([
      "local",
      "--once",
      "--config",
      file,
      "--state-dir",
      stateDir,
      "--pipeline",
      "rain-shield",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `--pipeline rain-shield: ${file} has no pipeline of that name; its pipelines: rain-shield-audience`,
    );
    expect(result.stderr).not.toMatch(CLASS_NAME_OR_STACK);
    expect(existsSync(stateDir)).toBe(false);
  });

  it("with --no-initial-run: a usage error (one says run it, the other run none)", async () => {
    const result = await tapestry(["local", "--pipeline", "rain-shield-audience", "--no-initial-run"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--pipeline runs a pipeline at start, --no-initial-run runs none/);
  });

  it("runs only the named pipeline, labelled as the start-up run, and exits with its outcome", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const { file, dir } = configFile((c) => {
      c.pipelines.push({ ...structuredClone(c.pipelines[0]), name: "second-audience" });
    });
    const result = await spawnTapestry(
      ["local", "--once", "--port", "0", "--config", file, "--state-dir", join(dir, "state")],
      { limitMs: 40_000 },
    );
    // without --pipeline both run
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.match(/▶ run \S+ started \(at start-up\)$/gm)).toHaveLength(2);

    const one = await spawnTapestry(
      [
        "local",
        "--once",
        "--port",
        "0",
        "--config",
        file,
        "--state-dir",
        join(dir, "state"),
        "--pipeline",
        "second-audience",
      ],
      { limitMs: 40_000 },
    );
    expect(one.code, one.stderr).toBe(0);
    const started = one.stdout.match(/^\S+ (\S+) ▶ run (\S+) started \((.+)\)$/gm) ?? [];
    expect(started).toHaveLength(1);
    expect(started[0]).toMatch(/ second-audience ▶ run second-audience-m\S+ started \(at start-up\)$/);
    expect(one.stdout).not.toMatch(/rain-shield-audience ▶ run/);
    // the summary lists the one run
    expect(one.stdout).toMatch(/^second-audience\s+second-audience-m\S+\s+succeeded/m);
    expect(one.stdout).not.toMatch(/^rain-shield-audience\s+rain-shield-audience-/m);
    // the ledger (and so the status API) records the trigger as startup, not manual
    const ledger = SqliteRunLedger.open(join(dir, "state", "ledger.sqlite"));
    try {
      const [run] = (await ledger.listRuns("second-audience", { limit: 1 })).runs;
      expect(run?.trigger).toEqual({ kind: "startup" });
    } finally {
      ledger.close();
    }
  });
});

describe("tapestry local --real: every secret before anything starts", () => {
  it("no terminal and a secret missing: exit 2 naming its variable; nothing started, nothing sent", async () => {
    const dbt = await realDbtCloud();
    const { file, dir } = configFile(pointDbtAt(dbt.dbtCloud.baseUrl));
    const stateDir = join(dir, "state");
    const result = await tapestry(
      ["local", "--once", "--real", "dbt-cloud", "--config", file, "--state-dir", stateDir],
      { environment: {}, prompter: undefined },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'tapestry local --real dbt-cloud needs 1 secret that is not set, and there is no terminal to ask: set TAPESTRY_SECRET_DBT_CLOUD_TOKEN (tools["dbt-cloud"].tokenSecret) in the environment (never an argument or a file), or run in a terminal to be asked',
    );
    expect(existsSync(stateDir)).toBe(false);
    expect(dbt.dbtCloud.traffic.length).toBe(0);
  });

  it("on a terminal: asks for each secret, hidden, before the state folder exists; a stopped prompt starts nothing", async () => {
    const { file, dir } = configFile((c) => {
      c.tools.airbyte.baseUrl = "http://127.0.0.1:9";
    });
    const stateDir = join(dir, "state");
    const existedWhenAsked: boolean[] = [];
    // the first two answered, then Ctrl-C at the third
    const { prompter, asked } = scriptedPrompter(
      { AIRBYTE_CLIENT_ID: "id-1", AIRBYTE_CLIENT_SECRET: "secret-2" },
      () => existedWhenAsked.push(existsSync(stateDir)),
    );
    const result = await tapestry(
      ["local", "--once", "--real", "airbyte", "--config", file, "--state-dir", stateDir],
      { environment: { [secretVariable("AIRBYTE_CLIENT_ID")]: "" }, prompter },
    );
    // the tool's credentials, then the secrets provisioning writes into its sources; never its webhook's
    expect(asked).toEqual([
      "AIRBYTE_CLIENT_ID (tools.airbyte.auth.clientIdSecret)",
      "AIRBYTE_CLIENT_SECRET (tools.airbyte.auth.clientSecretSecret)",
      "ZOOM_CLIENT_SECRET (airbyte.sources[0].secrets.client_secret)",
    ]);
    expect(existedWhenAsked).toEqual([false, false, false]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("stopped at a question (Ctrl-C): nothing was written or started");
    expect(existsSync(stateDir)).toBe(false);
  });

  it("reads TAPESTRY_SECRET_<NAME> (no prompt), drives the real tool with it, and never prints it", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const dbt = await realDbtCloud();
    const { file, dir } = configFile(pointDbtAt(dbt.dbtCloud.baseUrl));
    const result = await spawnTapestry(
      [
        "local",
        "--once",
        "--port",
        "0",
        "--real",
        "dbt-cloud",
        "--config",
        file,
        "--state-dir",
        join(dir, "state"),
      ],
      { env: { [secretVariable("DBT_CLOUD_TOKEN")]: TOKEN }, limitMs: 40_000 },
    );
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/dbt-cloud: configured endpoint/);
    expect(result.stdout).toMatch(/✓ transform\/email-model dbt-cloud/);
    // the run reached the loopback dbt Cloud with the token from the variable
    const trigger = dbt.dbtCloud.traffic.find((t) => t.operation === "triggerRun");
    expect(trigger?.request.headers.authorization).toContain(TOKEN);
    expect(trigger?.response?.status).toBe(200);
    expect(`${result.stdout}${result.stderr}`).not.toContain(TOKEN);
  });
});

describe("tapestry local --verbose", () => {
  it("prints the HTTP client's attempts and its retries on stderr (and nothing of them without it)", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const dir = tempDir();
    const args = [
      "local",
      "--once",
      "--port",
      "0",
      "--scenario",
      "docs/scenarios/throttled-with-retry-after.yaml",
    ];
    const verbose = await spawnTapestry([...args, "--state-dir", join(dir, "a"), "--verbose"], {
      limitMs: 40_000,
    });
    expect(verbose.code, verbose.stderr).toBe(0);
    expect(verbose.stderr).toMatch(/^\S+ warn {2}airbyte trigger sync: retrying after .*429/m);
    expect(verbose.stderr).toMatch(/^\S+ debug airbyte trigger sync \{.*"status":429.*"attempt":1/m);
    const quiet = await spawnTapestry([...args, "--state-dir", join(dir, "b")], { limitMs: 40_000 });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toMatch(/retrying after/);
  });
});

describe("the secrets' variables", () => {
  it("are TAPESTRY_SECRET_ and the name upper-cased, dashes as underscores", () => {
    expect(secretVariable("DBT_CLOUD_TOKEN")).toBe("TAPESTRY_SECRET_DBT_CLOUD_TOKEN");
    expect(secretVariable("zoom-client-secret")).toBe("TAPESTRY_SECRET_ZOOM_CLIENT_SECRET");
  });
});
