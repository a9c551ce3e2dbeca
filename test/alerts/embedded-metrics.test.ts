import { mkdtempSync, rmSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TapestryEvent } from "@tapestry/core/events";
import { afterEach, describe, expect, it } from "vitest";
import { LocalEventBus } from "../../packages/local/src/bus";
import { METRICS_FILE, startMetricsRecorder } from "../../packages/local/src/control-plane/alerts-metrics";
import { PIPELINE, successfulRun } from "../ledger/run-events";

/** The embedded metrics recorder on its own: what it writes, in what order, and how the file is kept bounded. */

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const linesOf = async (path: string) =>
  (await readFile(path, "utf8"))
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);

async function recordRuns(runs: number, maxBytes?: number) {
  const stateDir = mkdtempSync(join(tmpdir(), "tapestry-metrics-"));
  dirs.push(stateDir);
  const bus = new LocalEventBus();
  const recorder = startMetricsRecorder({
    bus,
    stateDir,
    now: () => new Date("2026-03-02T06:10:00.000Z"),
    ...(maxBytes !== undefined ? { maxBytes } : {}),
  });
  for (let day = 0; day < runs; day++) {
    const { events } = successfulRun(
      PIPELINE,
      new Date(Date.parse("2026-03-02T06:00:00.000Z") + day * 86_400_000),
    );
    // one run at a time, as runs end: a run's points land in the file before the next run's
    await bus.put(events as TapestryEvent[]);
    await bus.drain();
    await recorder.flushed();
  }
  await recorder.stop();
  return join(stateDir, METRICS_FILE);
}

describe("the embedded metrics recorder", () => {
  it("writes one EMF document per data point of a run: its steps' rows and durations, then the run's outcome", async () => {
    const file = await recordRuns(1);
    const names = (await linesOf(file)).map((doc) => {
      const aws = doc._aws as { Timestamp: number; CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
      expect(aws.Timestamp).toBe(Date.parse("2026-03-02T06:10:00.000Z"));
      return aws.CloudWatchMetrics[0]?.Metrics[0]?.Name;
    });
    expect(names.filter((n) => n === "RowsSynced")).toHaveLength(3);
    expect(names.filter((n) => n === "StepDurationSeconds")).toHaveLength(4);
    expect(names.slice(-3)).toEqual(["RunSucceeded", "RunFailed", "RunDurationSeconds"]);
  });

  it("keeps the file bounded: past its size it becomes metrics.emf.jsonl.1 and a new one begins, the newest points kept in order, each once", async () => {
    const unbounded = await linesOf(await recordRuns(3));
    const file = await recordRuns(3, 4_000);
    const current = await linesOf(file);
    const previous = await linesOf(`${file}.1`);
    // rotated once the file held 4,000 bytes: the older file is that size, the new one has the rest
    expect((await stat(`${file}.1`)).size).toBeGreaterThanOrEqual(4_000);
    expect((await stat(`${file}.1`)).size).toBeLessThan(4_000 + 3_000);
    expect(current.length).toBeLessThan(unbounded.length);
    // the two files are the newest points, in order, each once
    const kept = [...previous, ...current];
    expect(kept).toEqual(unbounded.slice(unbounded.length - kept.length));
  });
});
