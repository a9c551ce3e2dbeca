import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { DEPLOYMENT_STAGE_NAME } from "@tapestry/core/names";
import { Command, InvalidArgumentError, Option } from "commander";
import { type CliIo, EXIT, withExamples } from "./cli-policy";
import { userSetSecrets } from "./config-secrets";
import {
  parseSetting,
  SETTING_QUESTIONS,
  type SettingQuestion,
  settingAt,
  settingsFileSchema,
  settingsWith,
} from "./kickstart-settings";
import { loadConfig } from "./load-config";
import type { Prompter } from "./prompts";
import { configSource, KICKSTART_ABOUT, kickstartConfig } from "./scaffold/templates";
import { collectSecrets, secretVariable } from "./secret-variables";
import { UsageError } from "./secrets-command";

/** What tests replace: the questions, the variables, the SSM client. */
export interface KickstartCommandDependencies {
  readonly prompter?: Prompter;
  readonly environment?: Readonly<Record<string, string | undefined>>;
  /** the stage's SSM client (region undefined: the SDK's default chain) */
  readonly createClient?: (options: { readonly region?: string }) => SSMClient;
}

interface KickstartOptions extends Record<string, unknown> {
  readonly config: string;
  readonly nonInteractive: boolean;
  readonly values?: string;
  readonly stage?: string;
  readonly region?: string;
  readonly force: boolean;
  readonly creditQuota?: number;
}

/** Commander's attribute of a flag: `--zoom-account-id` -> zoomAccountId. */
const attribute = (flag: string) => flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * `tapestry kickstart`: the Rain Shield pipeline with the user's own Zoom, Salesforce, Mailchimp,
 * Snowflake (and dbt Cloud) settings, written as tapestry.config.ts; with `--stage`, the secrets it
 * references stored as that stage's SSM SecureString parameters (`tapestry secrets`' store).
 */
export function createKickstartCommand(
  dependencies: KickstartCommandDependencies,
  io: CliIo,
  setExitCode: (code: number) => void,
): Command {
  const command = new Command("kickstart")
    .description(
      "write tapestry.config.ts for the Rain Shield pipeline with your Zoom, Salesforce, Mailchimp and Snowflake settings; with --stage, store its secrets",
    )
    .option("--config <file>", "the config file to write", "tapestry.config.ts")
    .option(
      "--non-interactive",
      "ask nothing: settings from flags or --values, secrets from TAPESTRY_SECRET_<NAME>",
      false,
    )
    .option(
      "--values <file.json>",
      'plain settings (never secrets), nested as in the README, e.g. { "zoom": { "accountId": "..." } }',
    )
    .option("--stage <stage>", "store the secrets for this deployed stage (SSM /tapestry/<stage>/<NAME>)")
    .option("--region <region>", "with --stage: AWS region (default: AWS_REGION or your profile's)")
    .option("--force", "overwrite the config file if it exists", false)
    .addOption(
      new Option(
        "--credit-quota <credits>",
        "Snowflake: the monthly credit quota of the resource monitor",
      ).argParser((value) => {
        if (!/^[1-9]\d*$/.test(value))
          throw new InvalidArgumentError(`expected a positive whole number, got "${value}"`);
        return Number(value);
      }),
    );
  for (const question of SETTING_QUESTIONS) {
    command.option(
      `${question.flag} <${question.kind === "boolean" ? "yes|no" : question.kind === "choice" ? (question.choices ?? []).join("|") : "value"}>`,
      question.message,
    );
  }
  command.action(async (options: KickstartOptions) => {
    setExitCode(await kickstart(options, dependencies, io));
  });
  return withExamples(
    command,
    [
      "npx tapestry kickstart                                  # asks, secrets hidden; writes tapestry.config.ts",
      "npx tapestry kickstart --stage prod                     # and stores the secrets in SSM for stage prod",
      "TAPESTRY_SECRET_ZOOM_CLIENT_SECRET=... npx tapestry kickstart --non-interactive --values kickstart.json --stage prod",
    ],
    `Secrets are asked for with hidden input, or read from TAPESTRY_SECRET_<NAME> (the secret's name
upper-cased, dashes as underscores); never from an argument or a file. Without --stage nothing
stores them: the command lists the names to set later. With --non-interactive a missing setting or
secret exits 2 listing each; nothing is written then.`,
  );
}

async function kickstart(
  options: KickstartOptions,
  deps: KickstartCommandDependencies,
  io: CliIo,
): Promise<number> {
  const environment = deps.environment ?? process.env;
  const prompter = options.nonInteractive ? undefined : deps.prompter;
  if (!options.nonInteractive && !prompter) {
    throw new UsageError(
      "there is no terminal to ask the questions on: run in a terminal, or pass --non-interactive with flags or --values",
    );
  }
  if (options.stage !== undefined && !DEPLOYMENT_STAGE_NAME.pattern.test(options.stage)) {
    throw new UsageError(
      `${JSON.stringify(options.stage)} is not a stage name: expected ${DEPLOYMENT_STAGE_NAME.rule}`,
    );
  }
  const file = resolve(options.config);
  if (existsSync(file) && !options.force) {
    throw new UsageError(`${options.config} exists; nothing was written (--force overwrites it)`);
  }

  const given = givenSettings(options);
  const values = new Map<string, unknown>();
  const missing: SettingQuestion[] = [];
  for (const question of SETTING_QUESTIONS) {
    if (given.has(question.key)) values.set(question.key, given.get(question.key));
    else if (prompter) values.set(question.key, await ask(prompter, question));
    else if (question.theirs) missing.push(question);
  }
  if (missing.length > 0) {
    throw new UsageError(
      `--non-interactive: ${missing.length} setting${missing.length === 1 ? " is" : "s are"} missing: ${missing
        .map((q) => `${q.flag} (or "${q.key}" in --values)`)
        .join(", ")}; nothing was written`,
    );
  }
  const fileQuota = given.get("snowflake.monthlyCreditQuota") as number | undefined;
  const settings = settingsWith(values, options.creditQuota ?? fileQuota);
  // a setting the schema refuses (e.g. a Snowflake account name) is named at its config path, before anything is written
  const config = parseConfig(kickstartConfig(settings), options.config);

  const secrets =
    options.stage === undefined
      ? undefined
      : await collectSecrets(userSetSecrets(config), environment, prompter, "tapestry kickstart");

  writeFileSync(file, configSource(kickstartConfig(settings), KICKSTART_ABOUT));
  // what every command reads must load: the same check as `tapestry validate`
  await loadConfig(file);
  io.out(
    `wrote ${options.config}: the Rain Shield pipeline for Snowflake account ${settings.snowflake.account}`,
  );

  if (options.stage === undefined || secrets === undefined) {
    printSecretsToSet(config, io);
    return EXIT.ok;
  }
  await storeSecrets(secrets, options.stage, options.region, deps, io);
  io.out(
    `Next: npx tapestry doctor --stage ${options.stage}, then npx tapestry deploy --stage ${options.stage}`,
  );
  return EXIT.ok;
}

/** The settings the flags and the --values file give (flags win). */
function givenSettings(options: KickstartOptions): Map<string, unknown> {
  const given = new Map<string, unknown>();
  if (options.values !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(resolve(options.values), "utf8"));
    } catch (error) {
      throw new UsageError(
        `--values ${options.values}: could not be read as JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    const parsed = settingsFileSchema.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (issue) => `${issue.path.join(".") || "(file)"}: ${issue.message}`,
      );
      throw new UsageError(
        `--values ${options.values}: ${problems.join("; ")} (the file holds plain settings only; secrets come from TAPESTRY_SECRET_<NAME> or a prompt)`,
      );
    }
    for (const question of SETTING_QUESTIONS) {
      const value = settingAt(parsed.data, question.key);
      if (value !== undefined) given.set(question.key, value);
    }
    const quota = parsed.data.snowflake?.monthlyCreditQuota;
    if (quota !== undefined) given.set("snowflake.monthlyCreditQuota", quota);
  }
  for (const question of SETTING_QUESTIONS) {
    const text = options[attribute(question.flag)];
    if (typeof text !== "string") continue;
    const parsed = parseSetting(question, text);
    if ("problem" in parsed) throw new UsageError(`${question.flag}: ${parsed.problem}`);
    given.set(question.key, parsed.value);
  }
  return given;
}

async function ask(prompter: Prompter, question: SettingQuestion): Promise<unknown> {
  const initial = question.theirs ? undefined : String(settingAt(settingsWith(new Map()), question.key));
  if (question.kind === "boolean") return prompter.confirm(question.message, initial === "true");
  const message =
    question.kind === "choice" ? `${question.message} (${question.choices?.join(" or ")})` : question.message;
  const answer = await prompter.text(message, {
    ...(initial === undefined ? {} : { initial }),
    validate: (value) => {
      const parsed = parseSetting(question, value);
      return "problem" in parsed ? parsed.problem : true;
    },
  });
  const parsed = parseSetting(question, answer);
  if ("problem" in parsed) throw new UsageError(`${question.message}: ${parsed.problem}`);
  return parsed.value;
}

function printSecretsToSet(config: TapestryConfig, io: CliIo): void {
  const names = [...new Set(userSetSecrets(config).map((s) => s.name))];
  io.out(
    `The config references ${names.length} secrets by name (no --stage: none were asked for or stored):`,
  );
  for (const name of names) io.out(`  ${name}`);
  io.out(
    "Deployed: npx tapestry kickstart --stage <stage> (or npx tapestry secrets set <NAME> --stage <stage>).",
  );
  io.out(
    `Embedded with real tools: npx tapestry local --real <tool> asks for them, or reads ${secretVariable("<NAME>")}.`,
  );
}

async function storeSecrets(
  secrets: ReadonlyMap<string, string>,
  stage: string,
  region: string | undefined,
  deps: KickstartCommandDependencies,
  io: CliIo,
): Promise<void> {
  const [{ SSMClient }, { SsmSecretStore, secretParameterName }] = await Promise.all([
    import("@aws-sdk/client-ssm"),
    import("@tapestry/core/adapters/aws"),
  ]);
  const client = deps.createClient?.({ region }) ?? new SSMClient(region ? { region } : {});
  try {
    const store = new SsmSecretStore({ client, stage });
    for (const [name, value] of secrets) {
      const { version } = await store.set(name, value);
      io.out(
        `set ${name} for stage ${stage}: ${secretParameterName(stage, name)} (SecureString${version === undefined ? "" : `, version ${version}`})`,
      );
    }
  } finally {
    client.destroy();
  }
}
