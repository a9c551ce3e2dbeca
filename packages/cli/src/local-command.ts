import { resolve } from "node:path";
import type { RunRecord, TapestryConfig, ToolName } from "@tapestry/core";
import { TOOL_NAMES } from "@tapestry/core/names";
import type { ReconcileResult } from "@tapestry/core/pipeline";
import {
  type ControlPlane,
  formatDeadLetter,
  formatEvent,
  formatNotification,
  formatRunSummary,
  loadScenarioFile,
  REPO_ROOT,
  type StartedRun,
  startControlPlane,
} from "@tapestry/local";
import { loadConfig } from "./load-config";
import { announceLocal } from "./local-announcement";
import { environmentOrPromptSecretReader, promptingSecretReader } from "./prompt-secrets";

export interface LocalCommandOptions {
  readonly config: string;
  readonly once: boolean;
  readonly initialRun: boolean;
  readonly port: number;
  readonly scenario?: string;
  readonly real: readonly ToolName[];
  readonly stateDir: string;
  readonly verbose: boolean;
}

interface Io {
  readonly out: (line: string) => void;
  readonly color: boolean;
  /** resolves with the signal's name when the user asks to stop (Ctrl-C, SIGTERM, SIGHUP) */
  readonly interrupted: Promise<string>;
}

/** `tapestry local`: the embedded control plane. Answers the exit code. */
export async function runLocal(options: LocalCommandOptions, io: Io): Promise<number> {
  const config = await loadConfig(options.config);
  const scenario = options.scenario ? await loadScenarioFile(options.scenario) : undefined;
  const plane = await startControlPlane({
    config,
    repoRoot: REPO_ROOT,
    stateDir: resolve(options.stateDir),
    port: options.port,
    scenario,
    realTools: new Set(options.real),
    realSecrets: environmentOrPromptSecretReader(
      process.env,
      promptingSecretReader(process.stdin, process.stdout),
    ),
    schedule: !options.once,
    powertoolsLogLevel: options.verbose ? "DEBUG" : "SILENT",
    // what a stop must wait for: a job's cancel may take this long before it is reported as not cancelled
    cancelTimeoutMs: 3_000,
    onEvent: (event) => io.out(formatEvent(event, { color: io.color })),
    onDeadLetter: (letter) => io.out(formatDeadLetter(letter, { color: io.color })),
    // the CLI is the edge that reads the environment; the webhook's URL goes nowhere else
    slackWebhookUrl: process.env.TAPESTRY_SLACK_WEBHOOK_URL,
    onNotification: (report) => io.out(formatNotification(report, { color: io.color })),
  });
  for (const leftover of plane.leftovers) {
    io.out(`A run left unfinished by a control plane that stopped: ${describeReconciled(leftover)}`);
  }
  // the other commands (tapestry status, runs, logs, run, cancel) find the API through this file
  const unannounce = announceLocal(resolve(options.stateDir), {
    url: plane.apiUrl,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  });
  try {
    return await serve(plane, config, options, io);
  } finally {
    unannounce();
  }
}

async function serve(
  plane: ControlPlane,
  config: TapestryConfig,
  options: LocalCommandOptions,
  io: Io,
): Promise<number> {
  io.out(`Tapestry embedded control plane: status API at ${plane.apiUrl} (try: npx tapestry status)`);
  io.out(`Dashboard: ${plane.apiUrl}/ in your browser`);
  const tools = TOOL_NAMES.map((tool) =>
    options.real.includes(tool) ? `${tool}: configured endpoint` : `${tool}: sandbox`,
  );
  io.out(`tools: ${tools.join(", ")}; state in ${resolve(options.stateDir)}`);
  io.out(
    `alerts: open incidents at ${plane.apiUrl}/alerts; Slack ${plane.alerts.slack ? `messages to the webhook from ${plane.alerts.slack}` : "off (set TAPESTRY_SLACK_WEBHOOK_URL, or alerts.slack.webhookUrlSecret in the config)"}`,
  );

  const stop = async (signal: string): Promise<void> => {
    io.out(
      `Stopping (${signal}): runs in flight are stopped, their jobs cancelled, their outcomes recorded...`,
    );
    const stopped = await plane.stop(
      `the embedded control plane was stopped (${signal}) while the run was going`,
    );
    for (const result of stopped) {
      for (const problem of result.notCancelled) {
        io.out(
          `  not cancelled: ${result.runId} ${problem.step}${problem.externalId ? ` job ${problem.externalId}` : ""}: ${problem.why}`,
        );
      }
    }
    io.out("Stopped.");
  };

  const started: StartedRun[] = [];
  if (options.initialRun || options.once) {
    for (const pipeline of config.pipelines) {
      try {
        started.push(await plane.startRun(pipeline.name, { kind: "manual" }));
      } catch (error) {
        io.out(`${pipeline.name}: not started: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  if (options.once) {
    const signal = await Promise.race([plane.idle().then(() => undefined), io.interrupted]);
    if (signal !== undefined) {
      await stop(signal);
    }
    const runs = (await Promise.all(started.map((s) => plane.ledger.getRun(s.runId)))).filter(
      (r): r is RunRecord => r !== undefined,
    );
    io.out("");
    io.out(formatRunSummary(runs, { color: io.color }));
    if (signal === undefined) await plane.stop();
    return runs.length === config.pipelines.length && runs.every((r) => r.status === "succeeded") ? 0 : 1;
  }

  for (const pipeline of config.pipelines) {
    const next = plane.nextFire(pipeline.name);
    io.out(
      `${pipeline.name}: ${pipeline.schedule.expression} (${pipeline.schedule.timezone}), next run ${next ? next.toISOString() : "none scheduled"}`,
    );
  }
  io.out("Running until Ctrl-C.");
  await stop(await io.interrupted);
  return 0;
}

/** What the reconciler did with a run, in one line. */
function describeReconciled(result: ReconcileResult): string {
  const listed = (label: string, steps: readonly string[]) =>
    steps.length > 0 ? `; ${label}: ${steps.join(", ")}` : "";
  const problems = result.notCancelled.map((p) => `${p.step} (${p.why})`);
  return `${result.runId} ended ${result.outcome}${listed("jobs cancelled", result.cancelled)}${listed("jobs that had ended by themselves", result.ended)}${listed("not cancelled", problems)}`;
}
