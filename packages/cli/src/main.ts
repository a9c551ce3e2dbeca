import { TapestryError } from "@tapestry/core/errors";
import { TOOL_NAMES, type ToolName } from "@tapestry/core/names";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { runLocal } from "./local-command";
import { createSecretsCommand, type SecretsCommandDependencies } from "./secrets-command";
import { createWarehouseCommand, type WarehouseCommandDependencies } from "./warehouse-command";

/** What tests replace: the SSM client and streams of `tapestry secrets`, the stores and Snowflake of `tapestry warehouse`. */
export interface MainDependencies {
  readonly secrets?: SecretsCommandDependencies;
  readonly warehouse?: WarehouseCommandDependencies;
}

/** Runs the tapestry command; answers the process exit code. */
export async function main(argv: readonly string[], dependencies: MainDependencies = {}): Promise<number> {
  let exitCode = 0;
  let verbose = false;
  const program = new Command("tapestry")
    .description(
      "Control plane for warehouse-centric user-data pipelines (Airbyte -> dbt Cloud -> Grouparoo)",
    )
    .exitOverride();

  program
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
      verbose = opts.verbose;
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
          out: (line) => process.stdout.write(`${line}\n`),
          color: Boolean(process.stdout.isTTY),
          interrupted: interrupted(),
        },
      );
    });

  program.addCommand(
    createSecretsCommand(dependencies.secrets ?? {}, (code) => {
      exitCode = code;
    }),
  );

  program.addCommand(
    createWarehouseCommand(dependencies.warehouse ?? {}, (code) => {
      exitCode = code;
    }),
  );

  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    // A config, usage or environment problem: the message says what to fix; no stack unless asked.
    if (error instanceof TapestryError) {
      process.stderr.write(`${error.message}\n`);
      if (verbose) process.stderr.write(stacks(error));
      return 2;
    }
    throw error;
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
  return `${lines.join("\n")}\n`;
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
