import { TapestryError } from "@tapestry/core/errors";
import { TOOL_NAMES, type ToolName } from "@tapestry/core/names";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { type ApiCommandDependencies, createApiCommands } from "./api-commands";
import {
  allCommands,
  applyCliPolicy,
  type CliIo,
  cliVersion,
  EXIT,
  EXIT_CODES_HELP,
  processIo,
  withExamples,
} from "./cli-policy";
import { createDashboardCommand, type DashboardCommandDependencies } from "./dashboard/command";
import { createSecretsCommand, type SecretsCommandDependencies } from "./secrets-command";
import { createValidateCommand, type ValidateCommandDependencies } from "./validate-command";
import { createWarehouseCommand, type WarehouseCommandDependencies } from "./warehouse-command";

/** What tests replace: the output, the SSM client and streams of `tapestry secrets`, the stores and Snowflake of `tapestry warehouse`, the status API's transports. */
export interface MainDependencies {
  readonly io?: CliIo;
  readonly secrets?: SecretsCommandDependencies;
  readonly warehouse?: WarehouseCommandDependencies;
  readonly validate?: ValidateCommandDependencies;
  readonly api?: ApiCommandDependencies;
  readonly dashboard?: DashboardCommandDependencies;
}

/** Runs the tapestry command; answers the process exit code (0 success, 1 failure, 2 usage or config). */
export async function main(argv: readonly string[], dependencies: MainDependencies = {}): Promise<number> {
  const io = dependencies.io ?? processIo();
  let exitCode: number = EXIT.ok;
  const setExitCode = (code: number) => {
    exitCode = code;
  };
  const program = new Command("tapestry")
    .description(
      "Control plane for warehouse-centric user-data pipelines (Airbyte -> dbt Cloud -> Grouparoo)",
    )
    .version(cliVersion(), "-V, --version", "print the version of the tapestry command")
    .helpOption("-h, --help", "show help for the command");
  withExamples(
    program,
    [
      "npx tapestry local                      # the embedded control plane (npm start)",
      "npx tapestry validate                   # check tapestry.config.ts, start nothing",
      "npx tapestry status                     # every pipeline's health, last and next run",
      "npx tapestry run rain-shield-audience --wait",
      "npx tapestry <command> --help",
    ],
    EXIT_CODES_HELP.trim(),
  );

  const local = program
    .command("local")
    .description(
      "run the embedded control plane on this machine: the pipelines' state machine against sandboxes of the tools",
    )
    .option("--config <file>", "the pipelines and tools", "tapestry.config.ts")
    .option(
      "--once",
      "run each pipeline once, print a summary and exit (0 if all succeeded, 1 otherwise)",
      false,
    )
    .option("--no-initial-run", "do not run each pipeline at start; wait for the schedules")
    .addOption(
      new Option("--port <port>", "port of the status API on 127.0.0.1")
        .env("TAPESTRY_PORT")
        .default(4000)
        .argParser(parsePort),
    )
    .addOption(
      new Option("--scenario <file>", "a sandbox scenario (docs/sandbox-scenarios.md)").env(
        "TAPESTRY_SANDBOX_SCENARIO",
      ),
    )
    .addOption(
      new Option(
        "--real <tool...>",
        "drive these tools at their configured endpoints instead of a sandbox",
      ).choices(TOOL_NAMES),
    )
    .option("--state-dir <dir>", "where the ledger, warehouse and exports live", ".tapestry")
    .option("--verbose", "print the handlers' Powertools logs (JSON)", false)
    .action(async (opts) => {
      // the embedded control plane (DuckDB, the sandboxes) loads only for `tapestry local`
      const { runLocal } = await import("./local-command");
      exitCode = await runLocal(
        {
          config: opts.config,
          once: opts.once,
          initialRun: opts.initialRun,
          port: opts.port,
          scenario: opts.scenario,
          real: (opts.real ?? []) as ToolName[],
          stateDir: opts.stateDir,
          verbose: opts.verbose,
        },
        {
          out: io.out,
          color: io.color,
          interrupted: interrupted(),
        },
      );
    });
  withExamples(
    local,
    [
      "npx tapestry local                                   # run each pipeline now, then on its schedule",
      "npx tapestry local --once                            # run each pipeline once and exit",
      "npx tapestry local --once --scenario docs/scenarios/zero-rows.yaml",
      "TAPESTRY_SECRET_DBT_CLOUD_TOKEN=... npx tapestry local --real dbt-cloud",
    ],
    "While it runs, the other commands (status, runs, logs, run, cancel) find its status API through\n<state-dir>/local.json.",
  );

  program.addCommand(createValidateCommand(dependencies.validate ?? {}, io, setExitCode));
  for (const command of createApiCommands(dependencies.api ?? {}, io, setExitCode)) {
    program.addCommand(command);
  }
  program.addCommand(createDashboardCommand(dependencies.dashboard ?? {}, io, setExitCode));
  applyCliPolicy(program, io);

  // `secrets` and `warehouse` carry their own streams (their tests inject them); the policy is the same
  program.addCommand(
    createSecretsCommand({ out: io.out, err: io.err, ...dependencies.secrets }, setExitCode),
  );
  program.addCommand(
    createWarehouseCommand({ out: io.out, err: io.err, ...dependencies.warehouse }, setExitCode),
  );

  for (const command of allCommands(program).slice(1)) {
    command.addHelpText(
      "after",
      "\nExit codes: 0 success, 1 failure, 2 usage or config error (tapestry --help).",
    );
  }

  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    const verbose = argv.includes("--verbose");
    // A config, usage or environment problem: the message says what to fix; no stack unless asked.
    if (error instanceof TapestryError) {
      io.err(error.message);
      if (verbose) io.err(stacks(error));
      return EXIT.usage;
    }
    // Not ours: its message, never its class name or stack (unless asked)
    const message = error instanceof Error ? error.message : String(error);
    io.err(`tapestry failed unexpectedly: ${message} (a fault in tapestry itself: please report it)`);
    if (verbose && error instanceof Error) io.err(stacks(error));
    return EXIT.failed;
  }
}

/** The stack of an error and of each cause under it, for `--verbose`. */
function stacks(error: Error): string {
  const lines: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 5; depth++) {
    const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
    lines.push(depth === 0 ? text : `caused by: ${text}`);
    e = e instanceof Error ? e.cause : undefined;
  }
  return lines.join("\n");
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new InvalidArgumentError(
      `expected a port number from 0 to 65535, got "${value}" (--port or TAPESTRY_PORT)`,
    );
  }
  return port;
}

/**
 * Resolves with the signal's name on the first Ctrl-C (SIGINT), SIGTERM or SIGHUP (a closed
 * terminal), so the command can stop cleanly; a second Ctrl-C or SIGTERM exits at once, leaving
 * the runs it stopped halfway to the next start's reconciliation.
 */
function interrupted(): Promise<string> {
  // After SIGHUP the terminal is gone: writing to it fails, and must not stop the clean stop.
  process.stdout.on("error", () => undefined);
  return new Promise((resolve) => {
    let first: string | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (first === undefined) {
        first = signal;
        resolve(signal);
        return;
      }
      process.stderr.write(
        `${signal} again: exiting at once; the next start reconciles the runs left unfinished\n`,
      );
      process.exit(130);
    };
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);
  });
}
