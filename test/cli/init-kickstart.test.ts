import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { parseConfig } from "@tapestry/core/config";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { type Prompter, terminalPrompter } from "../../packages/cli/src/prompts";
import { KICKSTART_DEFAULTS, kickstartConfig } from "../../packages/cli/src/scaffold/templates";
import kickstart from "../../tapestry.config";
import { CLASS_NAME_OR_STACK, tapestry } from "./harness";

/** `tapestry init` and `tapestry kickstart`: what they write validates; what exists is kept; secrets are never echoed. */

const temps: string[] = [];
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tapestry-init-"));
  temps.push(dir);
  return dir;
}

const reportSchema = z.strictObject({
  valid: z.boolean(),
  problems: z.array(z.strictObject({ path: z.string(), message: z.string() })),
});

async function validates(file: string): Promise<void> {
  const result = await tapestry(["validate", "--config", file, "--json"]);
  expect(reportSchema.parse(JSON.parse(result.stdout)), result.stdout).toEqual({ valid: true, problems: [] });
  expect(result.code).toBe(0);
}

describe("tapestry init", () => {
  it("the kickstart template: config, README, .gitignore, scenario examples; the config validates", async () => {
    const dir = join(tempDir(), "rain-shield");
    const result = await tapestry(["init", dir]);
    expect(result.code, result.stderr).toBe(0);
    for (const file of [
      "tapestry.config.ts",
      "README.md",
      ".gitignore",
      "scenarios/zero-rows.yaml",
      "scenarios/dbt-run-failed.yaml",
    ]) {
      expect(existsSync(join(dir, file)), file).toBe(true);
      expect(result.stdout).toContain(`created ${join(dir, file)}`); // outside the working folder: the whole path
    }
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toMatch(/^\.tapestry\/$/m);
    await validates(join(dir, "tapestry.config.ts"));
    const summary = await tapestry(["validate", "--config", join(dir, "tapestry.config.ts")]);
    expect(summary.stdout).toMatch(/is valid: 1 pipeline: rain-shield-audience \(4 steps/);
  });

  it("the blank template validates", async () => {
    const dir = tempDir();
    expect((await tapestry(["init", dir, "--template", "blank"])).code).toBe(0);
    await validates(join(dir, "tapestry.config.ts"));
  });

  it("refuses to overwrite: exit 2 naming each file, nothing written; --force overwrites", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "tapestry.config.ts"), "// mine\n");
    writeFileSync(join(dir, "README.md"), "# mine\n");
    const refused = await tapestry(["init", dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^these files exist: \S*tapestry\.config\.ts, \S*README\.md; nothing was written \(--force overwrites them\)$/,
    );
    expect(refused.stderr).not.toMatch(CLASS_NAME_OR_STACK);
    expect(readFileSync(join(dir, "tapestry.config.ts"), "utf8")).toBe("// mine\n");
    expect(existsSync(join(dir, ".gitignore"))).toBe(false);

    const forced = await tapestry(["init", dir, "--force"]);
    expect(forced.code).toBe(0);
    await validates(join(dir, "tapestry.config.ts"));
  });

  it("an unknown template is a usage error", async () => {
    const result = await tapestry(["init", tempDir(), "--template", "fancy"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Allowed choices are kickstart, blank/);
  });

  it("the kickstart template with Rain Shield's settings is the repository's kickstart config", () => {
    expect(parseConfig(kickstartConfig(KICKSTART_DEFAULTS))).toEqual(parseConfig(kickstart));
  });
});

/** The secrets the Rain Shield config references that a user sets (not the webhooks', not the bootstrap's keys). */
const SECRETS: Record<string, string> = {
  AIRBYTE_CLIENT_ID: "ab-id-7Q2",
  AIRBYTE_CLIENT_SECRET: "ab-secret-Zx81Kq",
  DBT_CLOUD_TOKEN: "dbtc_Kick-9f8e7d",
  GROUPAROO_API_KEY: "grp-key-51e0aa",
  ZOOM_CLIENT_SECRET: "zoom-s2s-Sec-4410",
  SALESFORCE_CLIENT_SECRET: "sf-secret-88aa11",
  SALESFORCE_REFRESH_TOKEN: "sf-refresh-5c5c5c",
  MAILCHIMP_API_KEY: "mc-key-0f0f0f-us21",
  SNOWFLAKE_ADMIN_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\\nMIIEvQ-kick\\n-----END PRIVATE KEY-----",
};

const VALUES = {
  zoom: { accountId: "acme-zoom-acct", clientId: "acme-s2s" },
  salesforce: { clientId: "3MVG9acme.app" },
  mailchimp: { listId: "f00dcafe12" },
  snowflake: { account: "acme-analytics" },
  dbtCloud: { accountId: 4242, jobId: 777 },
};

function ssm() {
  const client = new SSMClient({
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-a-real-key" },
  });
  const mock = mockClient(client);
  mock.on(PutParameterCommand).resolves({ Version: 1 });
  return { mock, createClient: () => client };
}

function variables(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [`TAPESTRY_SECRET_${name}`, SECRETS[name] ?? ""]));
}

describe("tapestry kickstart --non-interactive", () => {
  it("settings from --values and flags, secrets from TAPESTRY_SECRET_*, stored for the stage; the config validates", async () => {
    const dir = tempDir();
    const values = join(dir, "kickstart.json");
    writeFileSync(values, JSON.stringify(VALUES));
    const config = join(dir, "tapestry.config.ts");
    const { mock, createClient } = ssm();
    const result = await tapestry(
      [
        "kickstart",
        "--non-interactive",
        "--values",
        values,
        "--mailchimp-list-id",
        "beefbeef99",
        "--config",
        config,
        "--stage",
        "prod",
      ],
      { environment: variables(Object.keys(SECRETS)), kickstart: { createClient } },
    );
    expect(result.code, result.stderr).toBe(0);
    await validates(config);
    const { default: written } = (await import(config)) as { default: unknown };
    const parsed = parseConfig(written);
    expect(parsed.airbyte?.sources[0]?.settings).toEqual({
      account_id: "acme-zoom-acct",
      client_id: "acme-s2s",
    });
    expect(parsed.warehouse?.account).toBe("acme-analytics");
    // the flag wins over the file
    expect(parsed.grouparoo?.destination.listId).toBe("beefbeef99");
    expect(parsed.pipelines[0]?.stages[1]?.steps[0]).toMatchObject({ accountId: 4242, jobId: 777 });

    const puts = mock.commandCalls(PutParameterCommand).map((call) => call.args[0].input);
    expect(puts.map((p) => [p.Name, p.Value, p.Type])).toEqual(
      Object.entries(SECRETS).map(([name, value]) => [`/tapestry/prod/${name}`, value, "SecureString"]),
    );
    const everything = `${result.stdout}\n${result.stderr}\n${readFileSync(config, "utf8")}`;
    for (const value of Object.values(SECRETS)) expect(everything).not.toContain(value);
  });

  it("secrets missing: exit 2 listing each variable; nothing written, nothing stored", async () => {
    const dir = tempDir();
    const config = join(dir, "tapestry.config.ts");
    const values = join(dir, "kickstart.json");
    writeFileSync(values, JSON.stringify(VALUES));
    const { mock, createClient } = ssm();
    const given = Object.keys(SECRETS).filter(
      (name) => name !== "ZOOM_CLIENT_SECRET" && name !== "MAILCHIMP_API_KEY",
    );
    const result = await tapestry(
      ["kickstart", "--non-interactive", "--values", values, "--config", config, "--stage", "prod"],
      { environment: variables(given), kickstart: { createClient } },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "set TAPESTRY_SECRET_ZOOM_CLIENT_SECRET (airbyte.sources[0].secrets.client_secret), TAPESTRY_SECRET_MAILCHIMP_API_KEY (grouparoo.destination.apiKeySecret) in the environment",
    );
    expect(existsSync(config)).toBe(false);
    expect(mock.calls()).toHaveLength(0);
  });

  it("settings missing: exit 2 naming each flag; a secret in the --values file is refused", async () => {
    const dir = tempDir();
    const config = join(dir, "tapestry.config.ts");
    const missing = await tapestry([
      "kickstart",
      "--non-interactive",
      "--config",
      config,
      "--zoom-account-id",
      "z",
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^--non-interactive: 6 settings are missing: --zoom-client-id \(or "zoom\.clientId" in --values\), /,
    );
    expect(existsSync(config)).toBe(false);

    const values = join(dir, "secret.json");
    writeFileSync(
      values,
      JSON.stringify({ ...VALUES, zoom: { ...VALUES.zoom, clientSecret: SECRETS.ZOOM_CLIENT_SECRET } }),
    );
    const refused = await tapestry([
      "kickstart",
      "--non-interactive",
      "--values",
      values,
      "--config",
      config,
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('zoom: Unrecognized key: "clientSecret"');
    expect(refused.stderr).toContain("secrets come from TAPESTRY_SECRET_<NAME> or a prompt");
    expect(refused.stderr).not.toContain(SECRETS.ZOOM_CLIENT_SECRET);
    expect(existsSync(config)).toBe(false);
  });

  it("an existing config is kept unless --force", async () => {
    const dir = tempDir();
    const config = join(dir, "tapestry.config.ts");
    writeFileSync(config, "// mine\n");
    const result = await tapestry(["kickstart", "--non-interactive", "--config", config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`${config} exists; nothing was written (--force overwrites it)`);
    expect(readFileSync(config, "utf8")).toBe("// mine\n");
  });
});

describe("tapestry kickstart, asking", () => {
  it("asks each setting and, with --stage, each secret hidden; stores them; never prints a value", async () => {
    const dir = tempDir();
    const config = join(dir, "tapestry.config.ts");
    const texts: string[] = [];
    const secretsAsked: string[] = [];
    const answers: Record<string, string> = {
      "Zoom Server-to-Server OAuth app: account ID": "acme-zoom-acct",
      "Zoom Server-to-Server OAuth app: client ID": "acme-s2s",
      "Salesforce connected app: consumer key (client ID)": "3MVG9acme.app",
      "Mailchimp: the audience (list) ID to sync to": "f00dcafe12",
      "Snowflake: account identifier (orgname-accountname)": "acme-analytics",
      "dbt Cloud: account ID": "4242",
      "dbt Cloud: the job that builds the e-mail model": "777",
    };
    const prompter: Prompter = {
      text: async (message, options) => {
        texts.push(message);
        return answers[message] ?? options?.initial ?? "";
      },
      secret: async (message) => {
        secretsAsked.push(message);
        return SECRETS[message.split(" ")[0] ?? ""] ?? "";
      },
      confirm: async (_message, initial) => initial,
    };
    const { mock, createClient } = ssm();
    const result = await tapestry(["kickstart", "--config", config, "--stage", "dev"], {
      prompter,
      environment: {},
      kickstart: { createClient },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(texts).toEqual(expect.arrayContaining(Object.keys(answers)));
    expect(secretsAsked.map((m) => m.split(" ")[0])).toEqual(Object.keys(SECRETS));
    await validates(config);
    expect(mock.commandCalls(PutParameterCommand)).toHaveLength(Object.keys(SECRETS).length);
    for (const value of Object.values(SECRETS))
      expect(`${result.stdout}${result.stderr}`).not.toContain(value);
  });

  it("the terminal's secret prompt echoes nothing of what is typed", async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
    let shown = "";
    const output = new PassThrough();
    output.on("data", (chunk: Buffer) => {
      shown += chunk.toString("utf8");
    });
    const answer = terminalPrompter(input, output).secret(
      "ZOOM_CLIENT_SECRET (airbyte.sources[0].secrets.client_secret)",
    );
    // type once the question is on the screen
    while (!shown.includes("ZOOM_CLIENT_SECRET")) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const key of SECRETS.ZOOM_CLIENT_SECRET ?? "") input.write(key);
    input.write("\r");
    expect(await answer).toBe(SECRETS.ZOOM_CLIENT_SECRET);
    expect(shown).toContain("ZOOM_CLIENT_SECRET");
    for (const part of [SECRETS.ZOOM_CLIENT_SECRET, "Sec-4410", "*".repeat(4)])
      expect(shown).not.toContain(part);
  });
});
