import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type TapestryConfig, type TapestryEvent } from "@tapestry/core";
import { type ControlPlane, REPO_ROOT, startControlPlane } from "@tapestry/local";
import { parseScenario } from "@tapestry/local/sandboxes";
import kickstart from "../../tapestry.config";

/** Every Task state of the pipeline-run machine: their Retry pauses shrink to 10 ms in tests. */
const TASK_STATES = [
  "AcquireRunLock",
  "PublishRunStarted",
  "StartStep",
  "PollStep",
  "CancelTimedOutJob",
  "CancelAbandonedJob",
  "StepErrored",
  "PublishRunSucceeded",
  "ReleaseRunLock",
  "PublishRunFailed",
  "ReleaseRunLockAfterFailure",
];

/** Short, fixed sandbox jobs: a whole kickstart run takes a second or two. */
export const FAST_TOOLS = {
  airbyte: { defaults: { queuedMs: 20, durationMs: 120 } },
  "dbt-cloud": { defaults: { queuedMs: 20, startingMs: 10, durationMs: 120 } },
  grouparoo: { defaults: { queuedMs: 20, durationMs: 120 } },
};

export interface Plane extends ControlPlane {
  readonly events: TapestryEvent[];
  readonly stateDir: string;
}

export function kickstartConfig(change?: (config: TapestryConfig) => void): TapestryConfig {
  const config = parseConfig(structuredClone(kickstart));
  change?.(config);
  return config;
}

/**
 * The embedded control plane on the real ASL, handlers, ledger, bus and sandboxes, with Wait
 * states and Retry pauses shortened (the only test-only settings) and a state folder of its own.
 */
export async function startPlane(
  scenario: Record<string, unknown> = {},
  options: { config?: TapestryConfig; now?: () => Date } = {},
): Promise<Plane> {
  const stateDir = mkdtempSync(join(tmpdir(), "tapestry-sm-"));
  const events: TapestryEvent[] = [];
  const merged = Object.fromEntries(
    Object.entries(FAST_TOOLS).map(([tool, section]) => [
      tool,
      { ...section, ...(scenario[tool] as object) },
    ]),
  );
  const plane = await startControlPlane({
    config: options.config ?? kickstartConfig(),
    repoRoot: REPO_ROOT,
    stateDir,
    port: 0,
    scenario: parseScenario(merged),
    schedule: false,
    now: options.now,
    settings: { queueWaitSeconds: 1 },
    onEvent: (event) => {
      events.push(event);
    },
    waitTimeOverrides: { WaitForJob: 25, WaitForRunLock: 25 },
    retryIntervalOverrides: Object.fromEntries(TASK_STATES.map((state) => [state, 10])),
  });
  return {
    ...plane,
    events,
    stateDir,
    stop: async (cause) => {
      const stopped = await plane.stop(cause);
      rmSync(stateDir, { recursive: true, force: true });
      return stopped;
    },
  };
}

/** A compact view of the events of one run: "StepSucceeded ingest/zoom-webinar-registrants". */
export function eventLines(events: readonly TapestryEvent[], runId: string): string[] {
  return events
    .filter((e) => e.detail.metadata.correlationId === runId)
    .map((e) => {
      const data = e.detail.data as { stage?: string; step?: string };
      return data.step ? `${e["detail-type"]} ${data.stage}/${data.step}` : e["detail-type"];
    });
}

/** A clock that runs `factor` times faster than the wall clock: minute-long step timeouts pass in a blink. */
export function fastClock(factor: number): () => Date {
  const start = Date.now();
  return () => new Date(start + (Date.now() - start) * factor);
}
