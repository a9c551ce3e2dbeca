import { basename } from "node:path";
import { SSMClient } from "@aws-sdk/client-ssm";
import { createSnowflakeConnect } from "@tapestry/core/adapters/snowflake";
import { type TapestryConfig, TOOL_NAMES, type WarehouseConfig } from "@tapestry/core/config";
import { TapestryError } from "@tapestry/core/errors";
import type { Logger } from "@tapestry/core/logging";
import type { ToolName } from "@tapestry/core/names";
import {
  createWarehouseBootstrapper,
  type PrivateKeyStore,
  reviewedPlanText,
  type SnowflakeConnect,
  type WarehouseBootstrapResult,
  type WarehouseStatement,
  warehouseNames,
  warehousePlan,
} from "@tapestry/core/provisioning/warehouse";
import { Command, Option } from "commander";
import { applyCliPolicy, EXIT, withExamples } from "./cli-policy";
import { loadConfig } from "./load-config";
import { UsageError } from "./secrets-command";
import { table } from "./table";

/** What `tapestry warehouse` needs from the outside world; tests inject a scripted account and stores. */
export interface WarehouseCommandDependencies {
  readonly loadConfig?: (file: string) => Promise<TapestryConfig>;
  /** opens the admin's Snowflake session (default: snowflake-promise over snowflake-sdk) */
  readonly connect?: SnowflakeConnect;
  /** the stage's secret reader and key store (default: SSM SecureString parameters /tapestry/<stage>/<NAME>) */
  readonly stores?: (options: { readonly stage: string; readonly region?: string }) => Promise<{
    readonly secrets: (name: string) => Promise<string>;
    readonly keys: PrivateKeyStore;
    readonly close: () => void;
  }>;
  readonly out?: (line: string) => void;
  readonly err?: (line: string) => void;
}

/** The shape `tapestry warehouse plan --json` prints (README): the statements in order, keys as placeholders. */
export interface WarehousePlanReport {
  readonly account: string;
  readonly statements: readonly (Pick<WarehouseStatement, "version" | "kind" | "role" | "summary"> & {
    readonly number: number;
    /** the statement as printed: public keys as their fingerprints or placeholders, never a secret */
    readonly sql: string;
  })[];
}

/** Exit codes: 0 done, 1 the bootstrap failed (Snowflake or a secret store said no), 2 usage or config. */
const USAGE = EXIT.usage;
const FAILED = EXIT.failed;

const TOOLS_HELP = TOOL_NAMES.join(", ");

/**
 * `tapestry warehouse plan` prints the SQL the bootstrap runs for the config, offline;
 * `tapestry warehouse bootstrap --stage <stage> [--dry-run] [--rotate-key <tool...>]` runs it
 * against the account as the admin, reading the admin's secret and keeping the service users'
 * private keys in the stage's SSM SecureString parameters.
 */
export function createWarehouseCommand(
  dependencies: WarehouseCommandDependencies,
  setExitCode: (code: number) => void,
): Command {
  const deps = {
    loadConfig: dependencies.loadConfig ?? loadConfig,
    connect: dependencies.connect ?? createSnowflakeConnect(),
    stores: dependencies.stores ?? ssmStores,
    out: dependencies.out ?? ((line: string) => process.stdout.write(`${line}\n`)),
    err: dependencies.err ?? ((line: string) => process.stderr.write(`${line}\n`)),
  };

  const warehouse = new Command("warehouse").description(
    "bootstrap the Snowflake account of the config's warehouse section (roles, users, warehouse, databases, grants)",
  );
  withExamples(warehouse, [
    "npx tapestry warehouse plan",
    "npx tapestry warehouse bootstrap --stage prod --dry-run",
  ]);

  /** The config's warehouse section; a config without one is a usage problem. */
  const section = async (file: string): Promise<WarehouseConfig> => {
    const config = await deps.loadConfig(file);
    if (!config.warehouse) {
      throw new UsageError(
        `${file} has no warehouse section: add one (see the README, "Provision your warehouse and tools")`,
      );
    }
    return config.warehouse;
  };

  /** Runs a subcommand: problems found before Snowflake is asked exit 2, failures after it 1. */
  const run = async (work: () => Promise<number>, beforeSnowflake: { done: boolean }): Promise<void> => {
    try {
      setExitCode(await work());
    } catch (error) {
      if (!(error instanceof TapestryError)) throw error;
      deps.err(error.message);
      setExitCode(beforeSnowflake.done ? FAILED : USAGE);
    }
  };

  warehouse
    .command("plan")
    .description(
      "print the SQL the bootstrap runs for the config, in order, each statement under its number, version and role (offline)",
    )
    .option("--config <file>", "the pipelines, tools and warehouse", "tapestry.config.ts")
    .option(
      "--json",
      "print { account, statements: [{ number, version, kind, role, summary, sql }] } on stdout",
      false,
    )
    .addHelpText(
      "after",
      `
Nothing is asked of Snowflake. Keys show as placeholders naming the secrets that will hold them.
Examples:
  npx tapestry warehouse plan > docs/warehouse/kickstart-plan.sql
  npx tapestry warehouse plan --json | jq '.statements[] | select(.role == "ACCOUNTADMIN")'`,
    )
    .action((options: { config: string; json: boolean }) =>
      run(
        async () => {
          const warehouse = await section(options.config);
          if (options.json) {
            const report: WarehousePlanReport = {
              account: warehouseNames(warehouse).account,
              statements: warehousePlan(warehouse).map((statement, i) => ({
                number: i + 1,
                version: statement.version,
                kind: statement.kind,
                role: statement.role,
                summary: statement.summary,
                sql: statement.displaySql,
              })),
            };
            deps.out(JSON.stringify(report, null, 2));
            return 0;
          }
          const text = reviewedPlanText(warehouse, basename(options.config));
          for (const line of text.replace(/\n$/, "").split("\n")) deps.out(line);
          return 0;
        },
        { done: false },
      ),
    );

  warehouse
    .command("bootstrap")
    .description(
      "run the plan against the Snowflake account as the config's admin: only what is not applied yet, one statement at a time",
    )
    .requiredOption(
      "--stage <stage>",
      "the stage whose secrets hold the admin's key and the service users' keys, e.g. prod",
    )
    .option(
      "--region <region>",
      "AWS region of the secrets (default: AWS_REGION or your AWS profile's region)",
    )
    .option("--config <file>", "the pipelines, tools and warehouse", "tapestry.config.ts")
    .option("--dry-run", "change nothing: print what would run and what is already applied", false)
    .addOption(
      new Option(
        "--rotate-key <tool...>",
        `give these tools' service users a new key pair (${TOOLS_HELP})`,
      ).choices(TOOL_NAMES),
    )
    .addHelpText(
      "after",
      `
Exit codes: 0 done (or planned), 1 the bootstrap stopped (the statement and Snowflake's error are
printed; what was applied stays recorded, a re-run resumes), 2 a usage or config problem.
Examples:
  npx tapestry warehouse bootstrap --stage prod --dry-run
  npx tapestry warehouse bootstrap --stage prod
  npx tapestry warehouse bootstrap --stage prod --rotate-key airbyte`,
    )
    .action(
      (options: {
        stage: string;
        region?: string;
        config: string;
        dryRun: boolean;
        rotateKey?: ToolName[];
      }) => {
        const progress = { done: false };
        return run(async () => {
          const config = await section(options.config);
          const stores = await deps.stores({ stage: options.stage, region: options.region });
          progress.done = true;
          try {
            const bootstrap = createWarehouseBootstrapper(config, {
              connect: deps.connect,
              secrets: stores.secrets,
              keys: stores.keys,
              logger: progressLogger(deps.out),
            });
            const result = await bootstrap({ dryRun: options.dryRun, rotateKeys: options.rotateKey ?? [] });
            for (const line of report(result, config)) deps.out(line);
            return 0;
          } finally {
            stores.close();
          }
        }, progress);
      },
    );

  return applyCliPolicy(warehouse, deps);
}

/** Prints each statement as it is applied (the SQL as logged: keys as fingerprints). */
function progressLogger(out: (line: string) => void): Logger {
  return {
    debug() {},
    info(message, attributes) {
      if (message !== "warehouse statement applied" || !attributes) return;
      out(
        `  applied ${String(attributes.number)} · ${String(attributes.version)} · ${String(attributes.summary)}`,
      );
    },
    warn(message) {
      out(`warning: ${message}`);
    },
    error(message) {
      out(`error: ${message}`);
    },
  };
}

/** The result as a table: every statement with its state, the keys, and the counts. */
export function report(result: WarehouseBootstrapResult, config: WarehouseConfig): string[] {
  const lines = [
    `Snowflake account ${result.account} as ${config.admin.user}${result.dryRun ? " (dry run: nothing was changed)" : ""}:`,
  ];
  const rows = [["#", "VERSION", "KIND", "STATE", "WHAT"]];
  for (const s of result.statements) {
    const state =
      s.state === "skipped"
        ? `applied ${s.appliedAt ?? ""}`.trim()
        : s.state === "applied"
          ? "applied now"
          : "would apply";
    rows.push([String(s.number), s.version, s.kind, state, s.summary]);
  }
  lines.push(...table(rows).map((line) => `  ${line}`));
  lines.push("Service users' keys:");
  const keyRows = [["USER", "PRIVATE KEY SECRET", "STATE", "FINGERPRINT"]];
  for (const key of result.keys)
    keyRows.push([key.user, key.privateKeySecret, key.state, key.fingerprint ?? "-"]);
  lines.push(...table(keyRows).map((line) => `  ${line}`));
  for (const gone of result.notPlanned) {
    lines.push(
      `note: statement ${gone.version} (applied ${gone.appliedAt}) is no longer in the plan; Tapestry drops nothing: remove what it made by hand if you mean to`,
    );
  }
  const { applied, skipped, wouldApply } = result.counts;
  lines.push(
    result.dryRun
      ? `${result.statements.length} statements: ${wouldApply} would run, ${skipped} applied before.`
      : `${result.statements.length} statements: ${applied} applied now, ${skipped} applied before.`,
  );
  return lines;
}

/** The stage's SSM parameters: the admin's secrets read, the service users' keys read and written. */
async function ssmStores(options: { readonly stage: string; readonly region?: string }) {
  const client = new SSMClient(options.region ? { region: options.region } : {});
  try {
    await client.config.region();
  } catch (error) {
    client.destroy();
    throw new UsageError(
      "no AWS region: pass --region <region>, or set AWS_REGION (or a region in your AWS profile)",
      {
        cause: error,
      },
    );
  }
  // loaded here: the AWS adapters take half a second to load, and `plan` needs none
  const { SsmPrivateKeyStore } = await import("@tapestry/core/adapters/aws");
  const keys = new SsmPrivateKeyStore({ client, stage: options.stage });
  return {
    secrets: (name: string) => keys.readRequired(name),
    keys,
    close: () => client.destroy(),
  };
}
