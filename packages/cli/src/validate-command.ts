import { parseConfig, type TapestryConfig } from "@tapestry/core/config";
import { ConfigError, TapestryError } from "@tapestry/core/errors";
import { Command } from "commander";
import { type CliIo, EXIT, withExamples } from "./cli-policy";
import { ConfigLoadError, importConfig } from "./load-config";

/** What tests replace: how the config file's default export is read (the real one imports it under tsx). */
export interface ValidateCommandDependencies {
  readonly importConfig?: (file: string) => Promise<{ readonly defaultExport: unknown }>;
}

/** One problem of a config, at its path (`(file)` when the file itself could not be loaded). */
export interface ValidationProblem {
  readonly path: string;
  readonly message: string;
}

/** The shape `tapestry validate --json` prints (documented in the README). */
export interface ValidationReport {
  readonly valid: boolean;
  readonly problems: readonly ValidationProblem[];
}

/** The path of a problem with the file as a whole: missing, a syntax error, a throw, no default export. */
export const FILE_PROBLEM_PATH = "(file)";

/**
 * `tapestry validate [--config <file>] [--json]`: loads and checks the config as every other command
 * does, and starts nothing. Exit 0 and a one-line summary when it is valid; exit 2 and every
 * problem at its path when it is not (the CLI's one rule: a config error exits 2).
 */
export function createValidateCommand(
  dependencies: ValidateCommandDependencies,
  io: CliIo,
  setExitCode: (code: number) => void,
): Command {
  const load = dependencies.importConfig ?? importConfig;
  const command = new Command("validate")
    .description(
      "check the config: every problem at its path; nothing is started, nothing is asked of AWS or the tools",
    )
    .option("--config <file>", "the pipelines and tools", "tapestry.config.ts")
    .option("--json", "print { valid, problems: [{ path, message }] } on stdout", false)
    .action(async (options: { config: string; json: boolean }) => {
      const outcome = await validate(options.config, load);
      if (options.json) {
        const report: ValidationReport =
          "config" in outcome ? { valid: true, problems: [] } : { valid: false, problems: outcome.problems };
        io.out(JSON.stringify(report, null, 2));
      } else if ("config" in outcome) {
        io.out(summary(options.config, outcome.config));
      } else {
        const count = outcome.problems.length;
        io.err(`${options.config} is invalid (${count} problem${count === 1 ? "" : "s"}):`);
        for (const problem of outcome.problems) io.err(`  - ${problem.path}: ${problem.message}`);
      }
      setExitCode("config" in outcome ? EXIT.ok : EXIT.usage);
    });
  return withExamples(
    command,
    [
      "npx tapestry validate",
      "npx tapestry validate --config staging.config.ts",
      "npx tapestry validate --json | jq '.problems[].path'",
    ],
    "Exit 0 when the config is valid, 2 when it is not (a config error, as in every command).",
  );
}

async function validate(
  file: string,
  load: (file: string) => Promise<{ readonly defaultExport: unknown }>,
): Promise<{ config: TapestryConfig } | { problems: ValidationProblem[] }> {
  try {
    return { config: parseConfig((await load(file)).defaultExport, file) };
  } catch (error) {
    if (error instanceof ConfigError) {
      return { problems: error.issues.map(({ path, message }) => ({ path, message })) };
    }
    if (error instanceof ConfigLoadError || error instanceof TapestryError) {
      return { problems: [{ path: FILE_PROBLEM_PATH, message: error.message }] };
    }
    throw error;
  }
}

/** One line: what the config declares. */
function summary(file: string, config: TapestryConfig): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const pipelines = config.pipelines.map((p) => {
    const steps = p.stages.reduce((n, stage) => n + stage.steps.length, 0);
    return `${p.name} (${plural(steps, "step")}, ${p.schedule.expression} ${p.schedule.timezone})`;
  });
  const tools = Object.keys(config.tools);
  return `${file} is valid: ${plural(pipelines.length, "pipeline")}: ${pipelines.join(", ")}; tools: ${
    tools.length ? tools.join(", ") : "none"
  }${config.warehouse ? "; a warehouse section" : ""}`;
}
