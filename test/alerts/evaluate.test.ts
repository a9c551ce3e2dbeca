import {
  alarmFigures,
  anomalyBand,
  freshnessVerdict,
  metricsOfEvent,
  type PipelineThresholds,
  verdictsOfRun,
} from "@tapestry/core/alerts";
import type { RunRecord, StepRecord } from "@tapestry/core/ledger";
import { describe, expect, it } from "vitest";
import { failedRun, PIPELINE, successfulRun, T0 } from "../ledger/run-events";

/** Breach evaluation and metrics, rule by rule, on run records and events as the ledger holds them. */

const thresholds = (overrides: Partial<PipelineThresholds> = {}): PipelineThresholds => ({
  pipeline: PIPELINE,
  onFailure: true,
  steps: [
    { stage: "ingest", step: "zoom", tool: "airbyte", minRows: 1 },
    { stage: "transform", step: "model", tool: "dbt-cloud" },
  ],
  ...overrides,
});

const step = (overrides: Partial<StepRecord>): StepRecord => ({
  stage: "ingest",
  step: "zoom",
  tool: "airbyte",
  status: "succeeded",
  rows: 40,
  url: "https://cloud.airbyte.com/jobs/7",
  ...overrides,
});

const run = (overrides: Partial<RunRecord>): RunRecord => ({
  runId: `${PIPELINE}-20260302T060000Z`,
  pipeline: PIPELINE,
  status: "succeeded",
  startedAt: "2026-03-02T06:00:00.000Z",
  endedAt: "2026-03-02T06:04:00.000Z",
  durationMs: 240_000,
  steps: [step({}), step({ stage: "transform", step: "model", tool: "dbt-cloud", rows: 58 })],
  updatedAt: "2026-03-02T06:04:00.000Z",
  ...overrides,
});

const brief = (verdicts: ReturnType<typeof verdictsOfRun>) =>
  verdicts.map(
    (v) =>
      `${v.rule}${v.step && v.rule !== "run-failed" ? `:${v.step}` : ""} ${v.breaching ? "BREACH" : "ok"} ${v.figure}/${v.threshold}`,
  );

describe("verdictsOfRun", () => {
  it("finds a healthy run within every threshold", () => {
    expect(
      brief(verdictsOfRun(run({}), thresholds({ maxDurationMinutes: 10 }), { anomaly: "alarm" })),
    ).toEqual(["run-failed ok 0/0", "run-too-long ok 4/10", "rows-below-minimum:zoom ok 40/1"]);
  });

  it("judges a failed run as a failed run, naming the first failed step, its tool's link and error", () => {
    const failed = run({
      status: "failed",
      reason: "step-failed",
      steps: [
        step({}),
        step({
          stage: "transform",
          step: "model",
          tool: "dbt-cloud",
          status: "failed",
          reason: "failed",
          error: "Database Error in model email_audience",
          url: "https://cloud.getdbt.com/runs/42",
        }),
      ],
    });
    const [verdict] = verdictsOfRun(failed, thresholds(), { anomaly: "alarm" });
    expect(verdict).toMatchObject({
      rule: "run-failed",
      breaching: true,
      stage: "transform",
      step: "model",
      figure: 1,
      threshold: 0,
      unit: "runs",
      url: "https://cloud.getdbt.com/runs/42",
      error: "Database Error in model email_audience",
      summary: `Run ${failed.runId} failed: transform/model (dbt-cloud) failed`,
    });
  });

  it("judges a run failed only by its floor as the floor: one breach for one cause", () => {
    const belowFloor = run({
      status: "failed",
      steps: [step({ status: "failed", reason: "min-rows", rows: 0 })],
    });
    expect(brief(verdictsOfRun(belowFloor, thresholds(), { anomaly: "alarm" }))).toEqual([
      "rows-below-minimum:zoom BREACH 0/1",
    ]);
    // a step that reported no count at all is 0 rows, said so
    const uncounted = run({
      status: "failed",
      steps: [step({ status: "failed", reason: "min-rows", rows: undefined })],
    });
    expect(verdictsOfRun(uncounted, thresholds(), { anomaly: "alarm" })[0]?.summary).toContain(
      "the tool reported no row count",
    );
  });

  it("judges a failure beside a floor as both", () => {
    const both = run({
      status: "failed",
      steps: [
        step({ status: "failed", reason: "min-rows", rows: 0 }),
        step({ stage: "transform", step: "model", tool: "dbt-cloud", status: "failed", reason: "timeout" }),
      ],
    });
    expect(brief(verdictsOfRun(both, thresholds(), { anomaly: "alarm" }))).toEqual([
      "run-failed BREACH 1/0",
      "rows-below-minimum:zoom BREACH 0/1",
    ]);
  });

  it("does not judge cancelled or skipped runs, and leaves out what the pipeline does not watch", () => {
    expect(verdictsOfRun(run({ status: "cancelled" }), thresholds(), { anomaly: "alarm" })).toEqual([]);
    expect(verdictsOfRun(run({ status: "skipped" }), thresholds(), { anomaly: "alarm" })).toEqual([]);
    expect(
      brief(verdictsOfRun(run({}), thresholds({ onFailure: false, steps: [] }), { anomaly: "alarm" })),
    ).toEqual([]);
  });

  it("judges a run longer than maxDurationMinutes, success or failure", () => {
    const slow = run({ status: "failed", durationMs: 95 * 60_000 });
    expect(
      brief(
        verdictsOfRun(slow, thresholds({ onFailure: false, maxDurationMinutes: 90 }), { anomaly: "alarm" }),
      ),
    ).toEqual(["run-too-long BREACH 95/90", "rows-below-minimum:zoom ok 40/1"]);
  });
});

describe("the rows anomaly rule over the ledger's last runs (embedded)", () => {
  const anomalous = thresholds({
    onFailure: false,
    steps: [{ stage: "ingest", step: "zoom", tool: "airbyte", rowsAnomaly: { stdDevs: 2 } }],
  });
  const history = (rows: readonly number[]) =>
    rows.map((n, i) => run({ runId: `${PIPELINE}-m0${i}`, steps: [step({ rows: n })] }));

  it("needs 5 earlier successful runs of the step before it judges", () => {
    expect(
      verdictsOfRun(run({ steps: [step({ rows: 1 })] }), anomalous, {
        anomaly: "history",
        history: history([1000, 1010, 990, 1005]),
      }),
    ).toEqual([]);
  });

  it("breaches far below the band (mean - 2 sd), and is back within it otherwise", () => {
    const past = history([1000, 1020, 980, 1010, 990, 1000]);
    const low = verdictsOfRun(run({ steps: [step({ rows: 120 })] }), anomalous, {
      anomaly: "history",
      history: past,
    });
    expect(low).toEqual([
      expect.objectContaining({
        rule: "rows-anomaly",
        step: "zoom",
        breaching: true,
        figure: 120,
        threshold: 800,
        unit: "rows",
      }),
    ]);
    expect(low[0]?.summary).toMatch(
      /far below its usual 1,000 ± 100 over its last 6 runs \(lower bound 800\)/,
    );
    const fine = verdictsOfRun(run({ steps: [step({ rows: 950 })] }), anomalous, {
      anomaly: "history",
      history: past,
    });
    expect(fine.map((v) => v.breaching)).toEqual([false]);
  });

  it("is CloudWatch's on AWS: with anomaly 'alarm' the run's verdicts leave it out", () => {
    expect(
      verdictsOfRun(run({ steps: [step({ rows: 1 })] }), anomalous, {
        anomaly: "alarm",
        history: history([1000, 1000, 1000, 1000, 1000]),
      }),
    ).toEqual([]);
  });

  it("draws its band from the mean and the standard deviation, never narrower than 10 % of the mean", () => {
    expect(anomalyBand([100, 100, 100, 100, 100], 2)).toEqual({
      mean: 100,
      spread: 10,
      lower: 80,
      samples: 5,
    });
    expect(anomalyBand([10, 20, 30, 40, 50], 1)).toMatchObject({ mean: 30, lower: 30 - Math.sqrt(200) });
    expect(anomalyBand([1, 2, 3, 4], 2)).toBeUndefined();
  });
});

describe("freshnessVerdict", () => {
  const daily = thresholds({ maxStaleMinutes: 2880 });
  const now = new Date("2026-03-04T07:00:00.000Z");

  it("measures from the last success, or from when the pipeline was first watched", () => {
    const last = { runId: `${PIPELINE}-20260302T060000Z`, endedAt: "2026-03-02T06:04:00.000Z" };
    expect(freshnessVerdict(daily, last, "2026-01-01T00:00:00.000Z", now)).toMatchObject({
      rule: "stale",
      breaching: true,
      figure: 2936,
      threshold: 2880,
      unit: "minutes",
      runId: last.runId,
    });
    expect(freshnessVerdict(daily, undefined, "2026-03-03T07:00:00.000Z", now)).toMatchObject({
      breaching: false,
      figure: 1440,
      summary: "Watched for 1,440 min without a success yet, within the 2,880 min allowed",
    });
    expect(freshnessVerdict(thresholds(), last, "2026-01-01T00:00:00.000Z", now)).toBeUndefined();
  });
});

describe("metricsOfEvent", () => {
  const at = new Date(T0);
  const points = (events: ReturnType<typeof successfulRun>["events"]) =>
    events
      .flatMap(metricsOfEvent)
      .map((m) => `${m.name}${m.dimensions.Step ? `[${m.dimensions.Step}]` : ""}=${m.value} ${m.unit}`);

  it("writes a successful run's counters, duration, and each step's duration, rows and bytes", () => {
    const lines = points(successfulRun(PIPELINE, at).events);
    expect(lines).toEqual(expect.arrayContaining(["RunSucceeded=1 Count", "RunFailed=0 Count"]));
    expect(lines.some((l) => /^RunDurationSeconds=\d+(\.\d+)? Seconds$/.test(l))).toBe(true);
    expect(lines.some((l) => /^StepDurationSeconds\[[a-z-]+\]=/.test(l))).toBe(true);
    expect(lines.some((l) => /^RowsSynced\[[a-z-]+\]=\d+ Count$/.test(l))).toBe(true);
    for (const event of successfulRun(PIPELINE, at).events) {
      for (const metric of metricsOfEvent(event)) expect(metric.dimensions.Pipeline).toBe(PIPELINE);
    }
  });

  it("counts a failed run as RunFailed 1 and RunSucceeded 0, so the failed-run alarm resets on the next success", () => {
    const lines = points(failedRun(PIPELINE, at).events);
    expect(lines).toEqual(expect.arrayContaining(["RunFailed=1 Count", "RunSucceeded=0 Count"]));
    expect(lines).not.toContain("RunSucceeded=1 Count");
  });
});

describe("alarmFigures", () => {
  it("reads the newest data point and the threshold (an anomaly band's lower bound) from CloudWatch's reasonData", () => {
    const state = (reasonData?: string) => ({
      value: "ALARM" as const,
      reason: "",
      timestamp: "2026-03-02T11:05:00.000+0000",
      ...(reasonData ? { reasonData } : {}),
    });
    expect(alarmFigures(state(JSON.stringify({ recentDatapoints: [3, 0], threshold: 1 })))).toEqual({
      figure: 0,
      threshold: 1,
    });
    expect(
      alarmFigures(
        state(
          JSON.stringify({
            recentDatapoints: [12],
            recentLowerThresholds: [1043.6],
            recentUpperThresholds: [1300],
          }),
        ),
      ),
    ).toEqual({
      figure: 12,
      threshold: 1043.6,
    });
    expect(alarmFigures(state("not json"))).toEqual({});
    expect(alarmFigures(state())).toEqual({});
  });
});
