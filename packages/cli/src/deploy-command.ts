import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { type CliIo, EXIT, withExamples } from "./cli-policy";
import { type DoctorDependencies, doctorLines, runDoctor } from "./doctor-command";
import type { Prompter } from "./prompts";
import { UsageError } from "./secrets-command";

/** The SST app's folder (sst.config.ts reads its tapestry.config.ts) and its own `sst`. */
const APP_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SST = fileURLToPath(new URL("../../../node_modules/.bin/sst", import.meta.url));

export interface DeployDependencies extends DoctorDependencies {
  /** the `sst` executable (default: the project's node_modules/.bin/sst) */
  readonly sst?: string;
  readonly prompter?: Prompter;
  readonly environment?: Readonly<Record<string, string | undefined>>;
}

/**
 * `tapestry deploy --stage <s> [--yes]`: doctor's checks for the stage; when one fails, the list
 * and exit 1, nothing run. Otherwise (after a confirmation unless --yes) `sst deploy --stage <s>`
 * with the terminal handed over, its exit code the command's.
 */
export function createDeployCommand(
  deps: DeployDependencies,
  io: CliIo,
  setExitCode: (code: number) => void,
): Command {
  const command = new Command("deploy")
    .description(
      "check the stage with doctor's checks, then run sst deploy --stage <stage>; nothing runs when a check fails",
    )
    .requiredOption("--stage <stage>", "the stage to deploy, e.g. prod")
    .option("--region <region>", "AWS region (default: AWS_REGION; SST's own default is us-east-1)")
    .option("--yes", "do not ask for a confirmation", false)
    .action(async (options: { stage: string; region?: string; yes: boolean }) => {
      // sst.config.ts builds the app from the repository's tapestry.config.ts: that is the file to check
      const config = "tapestry.config.ts";
      const report = await runDoctor(
        { config: `${APP_ROOT}${config}`, stage: options.stage, region: options.region },
        deps,
      );
      const failed = report.checks.filter((check) => check.status === "fail");
      if (failed.length > 0) {
        for (const line of doctorLines(report, io.color)) io.err(line);
        io.err(
          `Not deploying stage ${options.stage}: ${failed.length} check${failed.length === 1 ? "" : "s"} failed (${failed
            .map((c) => c.title)
            .join(", ")}); nothing was run`,
        );
        setExitCode(EXIT.failed);
        return;
      }
      const identity = report.checks.find((c) => c.id === "aws-credentials")?.detail ?? "";
      io.err(`doctor: ${report.counts.ok} ok, ${report.counts.warn} warnings; ${identity}`);
      if (!options.yes) {
        if (!deps.prompter) {
          throw new UsageError(
            "there is no terminal to confirm the deploy on: pass --yes to deploy without asking",
          );
        }
        if (!(await deps.prompter.confirm(`Deploy stage ${options.stage} (${identity})?`, false))) {
          io.err("Not deployed: nothing was run.");
          setExitCode(EXIT.failed);
          return;
        }
      }
      setExitCode(await sstDeploy(options.stage, options.region, deps));
    });
  return withExamples(
    command,
    ["npx tapestry deploy --stage prod", "npx tapestry deploy --stage prod --yes      # CI: no confirmation"],
    "Exit 1, nothing run, when a doctor check fails; otherwise sst deploy's own exit code.",
  );
}

/** `sst deploy --stage <s>`, the terminal handed over (its progress and prompts), its exit code answered. */
function sstDeploy(stage: string, region: string | undefined, deps: DeployDependencies): Promise<number> {
  const env = { ...(deps.environment ?? process.env), ...(region ? { AWS_REGION: region } : {}) };
  return new Promise((resolve, reject) => {
    const child = spawn(deps.sst ?? SST, ["deploy", "--stage", stage], {
      cwd: APP_ROOT,
      env,
      stdio: "inherit",
    });
    child.on("error", (error) =>
      reject(
        new UsageError(
          `could not run sst (${deps.sst ?? SST}): ${error.message}; run npm ci in ${APP_ROOT}`,
          { cause: error },
        ),
      ),
    );
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 + 15 : EXIT.failed)));
  });
}
