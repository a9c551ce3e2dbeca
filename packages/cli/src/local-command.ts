import { resolve } from "node:path";
import type { RunRecord, ToolName } from "@tapestry/core";
import { TOOL_NAMES } from "@tapestry/core/names";
import {
  formatEvent,
  formatRunSummary,
  loadScenarioFile,
  REPO_ROOT,
  startControlPlane,
} from "@tapestry/local";
import { loadConfig } from "./load-config";
import { promptingSecretReader } from "./prompt-secrets";

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
  /** resolves when the user asks to stop (Ctrl-C) */
  readonly interrupted: Promise<void>;
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
    realSecrets: promptingSecretReader(process.stdin, process.stdout),
    schedule: !options.once,
    powertoolsLogLevel: options.verbose ? "DEBUG" : "SILENT",
    onEvent: (event) => io.out(formatEvent(event, { color: io.color })),
  });
  io.out(`Tapestry embedded control plane: status API at ${plane.apiUrl} (try: curl ${plane.apiUrl}/status)`);
  const tools = TOOL_NAMES.map((tool) =>
    options.real.includes(tool) ? `${tool}: configured endpoint` : `${tool}: sandbox`,
  );
  io.out(`tools: ${tools.join(", ")}; state in ${resolve(options.stateDir)}`);

  const started = await Promise.all(
    options.initialRun || options.once
      ? config.pipelines.map((p) => plane.startRun(p.name, { kind: "manual" }, undefined))
      : [],
  );
  if (options.once) {
    await plane.idle();
    const runs = (await Promise.all(started.map((s) => plane.ledger.getRun(s.runId)))).filter(
      (r): r is RunRecord => r !== undefined,
    );
    io.out("");
    io.out(formatRunSummary(runs, { color: io.color }));
    await plane.stop();
    return runs.length === config.pipelines.length && runs.every((r) => r.status === "succeeded") ? 0 : 1;
  }

  for (const pipeline of config.pipelines) {
    const next = plane.nextFire(pipeline.name);
    io.out(
      `${pipeline.name}: ${pipeline.schedule.expression} (${pipeline.schedule.timezone}), next run ${next ? next.toISOString() : "none scheduled"}`,
    );
  }
  io.out("Running until Ctrl-C.");
  await io.interrupted;
  io.out("Stopping: runs in flight are aborted and their locks released...");
  await plane.stop();
  io.out("Stopped.");
  return 0;
}
