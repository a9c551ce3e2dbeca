import type { RunRecord } from "@tapestry/core";
import { createColors } from "picocolors";

/** The table `tapestry local --once` ends with: one row per pipeline run. */
export function formatRunSummary(runs: readonly RunRecord[], options: { color: boolean }): string {
  const c = createColors(options.color);
  const header = ["pipeline", "run", "status", "steps", "rows", "duration"];
  const rows = runs.map((run) => {
    const ok = run.steps.filter((s) => s.status === "succeeded").length;
    const failed = run.steps.filter((s) => s.status === "failed").length;
    return [
      run.pipeline,
      run.runId,
      run.status,
      `${ok} ok${failed ? `, ${failed} failed` : ""}`,
      run.rows === undefined ? "-" : run.rows.toLocaleString("en-US"),
      run.durationMs === undefined ? "-" : `${(run.durationMs / 1000).toFixed(1)} s`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const pad = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ");
  const paint = (status: string, text: string) =>
    status === "succeeded" ? c.green(text) : status === "failed" ? c.red(text) : c.yellow(text);
  const lines = [c.bold(pad(header)), ...rows.map((r) => paint(r[2] ?? "", pad(r)))];
  for (const run of runs.filter((r) => r.status === "failed")) {
    lines.push(c.red(`${run.runId}: ${run.error ?? "failed"}`));
    for (const step of run.steps.filter((s) => s.status === "failed")) {
      lines.push(c.red(`  ${step.stage}/${step.step} (${step.tool}, ${step.reason}): ${step.error}`));
    }
  }
  return lines.join("\n");
}
