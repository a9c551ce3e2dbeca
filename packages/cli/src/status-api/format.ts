import { anyEventSchema, type TapestryEvent } from "@tapestry/core/events";
import { formatEvent } from "@tapestry/local";
import { createColors } from "picocolors";
import { table } from "../table";
import type { ListedEvent, RunDetail, RunSummary, StatusOverview } from "./answers";

/** The answers as people read them: the tables of `status` and `runs`, the event lines of `logs`. */

const seconds = (ms: number | undefined) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)} s`);
const orDash = (value: string | number | undefined | null) =>
  value === undefined || value === null ? "-" : String(value);

/** One event as `tapestry local` prints it; an event this CLI does not know (a newer API) as a plain line. */
export function eventLine(event: ListedEvent, color: boolean): string {
  const known = anyEventSchema.safeParse(event);
  if (known.success) return formatEvent(known.data as TapestryEvent, { color });
  const c = createColors(color);
  const { metadata } = event.detail;
  return `${c.dim(metadata.occurredAt.slice(11, 19))} ${c.bold(metadata.pipeline ?? "")} ${event["detail-type"]}`;
}

export function statusTable(overview: StatusOverview, color: boolean): string[] {
  const c = createColors(color);
  const health = (h: string) =>
    h === "healthy" ? c.green(h) : h === "failing" ? c.red(h) : h === "running" ? c.cyan(h) : c.yellow(h);
  const rows = [["PIPELINE", "HEALTH", "LAST RUN", "STATUS", "ROWS", "ENDED", "NEXT RUN"]];
  for (const p of overview.pipelines) {
    rows.push([
      p.name,
      health(p.health),
      orDash(p.lastRun?.runId),
      orDash(p.lastRun?.status),
      orDash(p.lastRun?.rows),
      orDash(p.lastRun?.endedAt),
      p.nextScheduledAt ?? (p.schedule.enabled ? "none" : "paused"),
    ]);
  }
  return overview.pipelines.length === 0 ? ["The config declares no pipelines."] : table(rows);
}

export function runsTable(runs: readonly RunSummary[], color: boolean): string[] {
  const c = createColors(color);
  const status = (s: string) => (s === "succeeded" ? c.green(s) : s === "failed" ? c.red(s) : c.yellow(s));
  const rows = [["RUN", "STATUS", "TRIGGER", "STARTED", "DURATION", "ROWS", "ERROR"]];
  for (const run of runs) {
    rows.push([
      run.runId,
      status(run.status),
      orDash(run.trigger?.kind),
      orDash(run.startedAt ?? run.queuedAt),
      seconds(run.durationMs),
      orDash(run.rows),
      run.error ? firstLine(run.error, 100) : "",
    ]);
  }
  return table(rows);
}

/** The end of `run --wait`: the outcome, and for a run that did not succeed each failed step with its link. */
export function runVerdict(run: RunDetail, color: boolean): string[] {
  const c = createColors(color);
  if (run.status === "succeeded") {
    return [c.green(`run ${run.runId} succeeded: ${orDash(run.rows)} rows in ${seconds(run.durationMs)}`)];
  }
  const lines = [c.red(`run ${run.runId} ${run.status}${run.error ? `: ${run.error}` : ""}`)];
  for (const step of run.steps) {
    if (step.status !== "failed") continue;
    lines.push(
      `  ${step.stage}/${step.step} (${step.tool}) failed${step.error ? `: ${step.error}` : ""}${step.link ? ` (${step.link})` : ""}`,
    );
  }
  return lines;
}

const SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";

/** The progress line of `run --wait` and `logs --follow` on a terminal, one spinner frame per poll. */
export function waitingLine(run: RunDetail, polls: number): string {
  const frame = SPINNER[polls % SPINNER.length] ?? "*";
  const done = run.steps.filter((step) => step.status === "succeeded").length;
  const going = run.steps.filter((step) => step.status === "running").map((s) => `${s.stage}/${s.step}`);
  const steps = `${done} step${done === 1 ? "" : "s"} done${going.length ? `, running ${going.join(", ")}` : ""}`;
  return `${frame} ${run.status}: ${steps}`;
}

function firstLine(text: string, max: number): string {
  const line = text.split("\n")[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}
