import { spawn } from "node:child_process";
import { TapestryError } from "@tapestry/core/errors";
import { Command, InvalidArgumentError, Option } from "commander";
import { type CliIo, EXIT, withExamples } from "../cli-policy";
import { UsageError } from "../secrets-command";
import { AwsCredentialsError, StatusApiLookupError } from "../status-api/errors";
import type { TargetDependencies, TargetOptions } from "../status-api/target";
import type { DashboardServer } from "./server";

/** What tests replace: the target's fetch and AWS, when the server stops, and the browser. */
export interface DashboardCommandDependencies extends TargetDependencies {
  /** resolves when the server is to stop; by default the first Ctrl-C (SIGINT), SIGTERM or SIGHUP */
  readonly stopWhen?: (server: DashboardServer) => Promise<string>;
  /** opens the URL in the user's browser (--open) */
  readonly openBrowser?: (url: string) => void;
}

interface DashboardOptions extends TargetOptions {
  readonly port: number;
  readonly open: boolean;
}

export const DEFAULT_DASHBOARD_PORT = 4100;

/**
 * `tapestry dashboard`: the dashboard's page on 127.0.0.1, its requests proxied (GET only, the
 * read routes) to the embedded control plane or, with --stage, to the stage's status API, signed
 * with the user's AWS credentials. Runs until Ctrl-C.
 */
export function createDashboardCommand(
  dependencies: DashboardCommandDependencies,
  io: CliIo,
  setExitCode: (code: number) => void,
): Command {
  const command = new Command("dashboard")
    .description(
      "a web page on 127.0.0.1: each pipeline's health, its runs over time, a run's steps, open alerts, provisioning",
    )
    .addOption(
      new Option("--port <port>", "port of the page on 127.0.0.1 (0: any free port)")
        .default(DEFAULT_DASHBOARD_PORT)
        .argParser(parsePort),
    )
    .option("--open", "open the page in your browser", false)
    .addOption(
      new Option(
        "--local [url]",
        "the embedded control plane (default: the one tapestry local runs for --state-dir)",
      ).conflicts("stage"),
    )
    .option(
      "--stage <stage>",
      "a deployed stage, e.g. prod (requests SigV4-signed with your AWS credentials)",
    )
    .option(
      "--api-url <url>",
      "with --stage: the status API's URL (default: the stage's StatusApiUrl output)",
    )
    .option("--region <region>", "with --stage: AWS region (default: AWS_REGION or your AWS profile's)")
    .option("--state-dir <dir>", "the state folder of the tapestry local to show", ".tapestry")
    .action(async (options: DashboardOptions) => {
      try {
        setExitCode(await serveDashboard(options, dependencies, io));
      } catch (error) {
        if (!(error instanceof TapestryError)) throw error;
        io.err(error.message);
        setExitCode(exitCodeOf(error));
      }
    });
  return withExamples(
    command,
    [
      "npx tapestry dashboard                      # the running tapestry local's, on http://127.0.0.1:4100/",
      "npx tapestry dashboard --open --port 0      # any free port, opened in your browser",
      "npx tapestry dashboard --stage prod         # a deployed stage, signed with your AWS credentials",
    ],
    "`tapestry local` serves the same page at its own address (http://127.0.0.1:4000/).\nThe page refreshes every 5 s while its tab is visible; it only reads (GET), nothing is started or cancelled from it.",
  );
}

async function serveDashboard(
  options: DashboardOptions,
  dependencies: DashboardCommandDependencies,
  io: CliIo,
): Promise<number> {
  // loaded when the command runs: --help starts without the AWS SDK or the server
  const [{ resolveTransport }, { startDashboardServer }] = await Promise.all([
    import("../status-api/target"),
    import("./server"),
  ]);
  const target = await resolveTransport(options, dependencies);
  const server = await startDashboardServer({ ...target, port: options.port }).catch((error: unknown) => {
    if ((error as { code?: string }).code === "EADDRINUSE") {
      throw new UsageError(
        `port ${options.port} is in use: stop what listens there, or pick another with --port <port> (0: any free port)`,
        { cause: error },
      );
    }
    throw error;
  });
  io.out(`Tapestry dashboard of ${target.description}: ${server.url}`);
  io.out("Running until Ctrl-C.");
  if (options.open) (dependencies.openBrowser ?? openInBrowser)(server.url);
  const signal = await (dependencies.stopWhen ?? untilInterrupted)(server);
  await server.close();
  io.out(`Stopped (${signal}).`);
  return EXIT.ok;
}

function exitCodeOf(error: TapestryError): number {
  if (error instanceof UsageError || error instanceof AwsCredentialsError) return EXIT.usage;
  if (error instanceof StatusApiLookupError) return error.usage ? EXIT.usage : EXIT.failed;
  return EXIT.failed;
}

/** The first Ctrl-C, SIGTERM or SIGHUP; the server then closes and the command ends. */
function untilInterrupted(): Promise<string> {
  return new Promise((resolve) => {
    const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
    const onSignal = (signal: NodeJS.Signals) => {
      for (const s of signals) process.off(s, onSignal);
      resolve(signal);
    };
    for (const signal of signals) process.on(signal, onSignal);
  });
}

/** The platform's opener (xdg-open, open, start); a failure to open only says so. */
function openInBrowser(url: string): void {
  const [command, args] =
    process.platform === "darwin"
      ? ["open", [url]]
      : process.platform === "win32"
        ? ["cmd", ["/c", "start", "", url]]
        : ["xdg-open", [url]];
  const child = spawn(command, args, { stdio: "ignore", detached: true });
  child.on("error", () =>
    process.stderr.write(`could not open a browser (${command}): open ${url} yourself\n`),
  );
  child.unref();
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new InvalidArgumentError(`expected a port number from 0 to 65535, got "${value}"`);
  }
  return port;
}
